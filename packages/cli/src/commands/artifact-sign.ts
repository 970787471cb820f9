import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { IssueTime } from '@provsync/artifacts/records'
import { type ParsedArgs, stringOption } from '../args.js'
import type { applyArtifactRecord } from '../control/artifacts.js'
import type { clock } from '../control/handlers.js'
import { KeyFileError, UsageError } from '../errors.js'
import { toHex } from '../hex.js'
import type { Io } from '../io.js'
import { type KeyKind, type KeyPair, readKeyFile } from '../keys.js'
import { parseHexKey, parseRun } from '../values.js'
import { parseKeyOrPeer } from './revoke.js'

export type RecordView = Awaited<ReturnType<typeof applyArtifactRecord>>

/** Upper bound of `--expires`: ten years, far past any grant or artifact an operator renews. */
const MAX_DURATION_MS = 10 * 365 * 24 * 3600 * 1000
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `90s`, `15m`, `24h`, `7d`, `500ms`: a positive duration in ms. */
export function parseDuration(command: string, name: string, text: string): number {
  const match = /^(\d{1,12})(ms|s|m|h|d)$/.exec(text.trim())
  const ms = match === null ? Number.NaN : Number(match[1]) * UNITS[match[2]!]!
  if (!(ms > 0) || ms > MAX_DURATION_MS) {
    throw new UsageError(command, `${name} must be a duration such as 90s, 15m, 24h or 7d, got '${text}'`)
  }
  return ms
}

/** A version or epoch: a decimal integer in [0, 2^64). */
export function parseU64(args: ParsedArgs, option: string, required: boolean): bigint | undefined {
  const text = stringOption(args, option)
  if (text === undefined) {
    if (required) throw new UsageError(args.command, `--${option} <n> is required`)
    return undefined
  }
  return parseRun(args.command, `--${option}`, text)
}

/** A subject key: 64 hex characters, a `.pub` file of them, or an Ed25519 peer id. */
export async function parseSubject(command: string, text: string, io: Io): Promise<Uint8Array> {
  const file = resolve(io.cwd, text)
  if (!/^[0-9a-fA-F]{64}$/.test(text) && existsSync(file)) {
    return parseHexKey(command, `<subject> file ${text}`, readFileSync(file, 'utf8').trim())
  }
  return parseKeyOrPeer(command, '<subject>', text)
}

/** Reads the signing key of `--<option>`, of one of `kinds` (a publisher may hold either kind). */
export async function readSigner(
  args: ParsedArgs,
  io: Io,
  option: string,
  kinds: KeyKind[],
): Promise<KeyPair> {
  const file = stringOption(args, option)
  if (file === undefined) throw new UsageError(args.command, `--${option} <file> is required`)
  const path = resolve(io.cwd, file)
  for (const [i, kind] of kinds.entries()) {
    try {
      return await readKeyFile(path, kind)
    } catch (err) {
      const otherKind = err instanceof KeyFileError && err.message.includes(', expected an ')
      if (!otherKind || i === kinds.length - 1) throw err
    }
  }
  throw new UsageError(args.command, `--${option}: no key kind accepted`)
}

/**
 * Signs a record here, stamped with the running node's clock (so it orders after what the node
 * has seen), and hands it to the node, which checks it as it would a peer's and replicates it.
 * The secret key never leaves this process.
 */
export async function signAndSubmit(
  args: ParsedArgs,
  io: Io,
  sign: (networkId: string, at: IssueTime) => Uint8Array,
): Promise<RecordView & { networkId: string }> {
  const { ask } = await import('./remote.js')
  const now = await ask<ReturnType<typeof clock>>(args, io, 'clock')
  const bytes = sign(now.networkId, { wallMs: now.wallMs, counter: now.counter })
  const view = await ask<RecordView>(args, io, 'artifact-record', { record: toHex(bytes) })
  return { ...view, networkId: now.networkId }
}

/** `applied <what> <id>` or `<what>: already recorded (<id>)`. */
export function recordLine(view: RecordView, what: string): string {
  return view.status === 'duplicate' ? `${what}: already recorded (${view.id})` : `${what}: ${view.id}`
}
