import { readFile, rename, writeFile } from 'node:fs/promises'
import { CliError, ExitCode } from '../errors.js'
import { toHex } from '../hex.js'

/**
 * A trust-bundle proposal on disk (`provsync trust propose`), signed one operator at a time
 * (`trust sign`, offline: the file travels, never a secret key), then published (`trust publish`).
 */
export interface TrustProposal {
  readonly format: typeof PROPOSAL_FORMAT
  readonly networkId: string
  /** The bundle's version, decimal: one above the bundle in force where it is published. */
  readonly version: string
  /** How many of `operators` must sign the bundle after it. */
  readonly threshold: number
  /** The new bundle's operator keys, hex, sorted. */
  readonly operators: readonly string[]
  /** Signatures over the bundle's statement, hex, sorted by key, one per key. */
  readonly signatures: readonly { readonly key: string; readonly signature: string }[]
}

export const PROPOSAL_FORMAT = 'provsync-trust-proposal'

/** A proposal file that cannot be read or is not a proposal: exit 5, one line naming the file. */
export class TrustProposalError extends CliError {
  readonly file: string
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`, ExitCode.failure)
    this.file = file
  }
}

/** The node, or this command before submitting, refused the link: exit 4. */
export class TrustLinkRefusedError extends CliError {
  readonly reason: string
  constructor(reason: string, detail: string) {
    super(`trust link refused (${reason}): ${detail}`, ExitCode.requestFailed)
    this.reason = reason
  }
}

const HEX_KEY = /^[0-9a-f]{64}$/
const HEX_SIG = /^[0-9a-f]{128}$/

export async function readProposal(file: string, shown: string): Promise<TrustProposal> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new TrustProposalError(shown, code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message))
  }
  let value: Partial<Record<keyof TrustProposal, unknown>>
  try {
    value = JSON.parse(text)
  } catch {
    throw new TrustProposalError(shown, 'is not valid JSON')
  }
  const why = proposalProblem(value)
  if (why !== undefined) throw new TrustProposalError(shown, `is not a trust proposal (${why})`)
  return value as TrustProposal
}

function proposalProblem(v: Partial<Record<keyof TrustProposal, unknown>>): string | undefined {
  if (v === null || typeof v !== 'object' || v.format !== PROPOSAL_FORMAT)
    return `format is not ${PROPOSAL_FORMAT}`
  if (typeof v.networkId !== 'string' || v.networkId === '') return 'networkId'
  if (typeof v.version !== 'string' || !/^\d{1,20}$/.test(v.version) || BigInt(v.version) >= 2n ** 64n)
    return 'version'
  const ops = v.operators
  if (!Array.isArray(ops) || !ops.every((k) => typeof k === 'string' && HEX_KEY.test(k))) return 'operators'
  if (!Number.isInteger(v.threshold) || (v.threshold as number) < 1 || (v.threshold as number) > ops.length)
    return 'threshold'
  const sigs = v.signatures
  if (
    !Array.isArray(sigs) ||
    !sigs.every((s) => typeof s?.key === 'string' && HEX_KEY.test(s.key) && HEX_SIG.test(s.signature ?? ''))
  )
    return 'signatures'
  return undefined
}

/** Writes the proposal whole (temporary file, then rename); `exclusive` refuses an existing file. */
export async function writeProposal(
  file: string,
  proposal: TrustProposal,
  exclusive: boolean,
): Promise<void> {
  const text = `${JSON.stringify(proposal, null, 2)}\n`
  if (exclusive) {
    await writeFile(file, text, { flag: 'wx', mode: 0o644 }).catch((err: NodeJS.ErrnoException) => {
      throw new TrustProposalError(
        file,
        err.code === 'EEXIST' ? 'exists; choose another file' : (err.code ?? err.message),
      )
    })
    return
  }
  await writeFile(`${file}.tmp`, text, { mode: 0o644 })
  await rename(`${file}.tmp`, file)
}

/** The proposal with `key`'s signature in (replacing an earlier one of the same key), sorted by key. */
export function withSignature(
  proposal: TrustProposal,
  key: Uint8Array,
  signature: Uint8Array,
): TrustProposal {
  const hex = toHex(key)
  const signatures = [
    ...proposal.signatures.filter((s) => s.key !== hex),
    { key: hex, signature: toHex(signature) },
  ].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return { ...proposal, signatures }
}

export const keyBytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'))
