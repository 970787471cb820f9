import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { listOption, type ParsedArgs, stringOption } from '../args.js'
import { UsageError } from '../errors.js'
import { toHex } from '../hex.js'
import type { Io } from '../io.js'
import { majority, NODE_CONFIG_FILE } from '../node-config.js'
import { parseChoice, parseHexKey, parseInteger } from '../values.js'
import { parseU64, readSigner } from './artifact-sign.js'
import { type Command, dataDirOf, dataDirOption, jsonOption, printView } from './command.js'
import {
  keyBytes,
  PROPOSAL_FORMAT,
  readProposal,
  type TrustProposal,
  withSignature,
  writeProposal,
} from './trust-file.js'
import { publishProposal, type TrustView, trustText } from './trust-publish.js'

const ACTIONS = ['propose', 'sign', 'publish', 'show'] as const
type Action = (typeof ACTIONS)[number]

export const trust: Command = {
  spec: {
    name: 'trust',
    summary: 'Rotate the trust bundle: propose the next operator keys, sign offline, publish, show.',
    positionals: ['action'],
    optionalPositionals: ['file'],
    options: {
      'data-dir': dataDirOption,
      version: {
        type: 'string',
        value: '<n>',
        description: 'propose: the bundle version (one above the one in force)',
      },
      operator: {
        type: 'string',
        multiple: true,
        value: '<hex|file.pub>',
        description: 'propose: an operator key of the new bundle, 1 to 8 of them',
      },
      threshold: {
        type: 'string',
        value: '<n>',
        description: 'propose: signatures of the new keys the bundle after it needs (default a majority)',
      },
      network: {
        type: 'string',
        short: 'n',
        value: '<id>',
        description: "propose: network id (default: the data directory's)",
      },
      key: {
        type: 'string',
        short: 'k',
        value: '<file>',
        description: 'sign: an operator key file; publish: the publisher key file',
      },
      epoch: {
        type: 'string',
        short: 'e',
        value: '<n>',
        description: 'publish: authority epoch of the trust scope (required)',
      },
      json: jsonOption,
    },
    details: `
Actions:
  propose <file>      write a proposal: --version V --operator K... [--threshold T] [--network N]
  sign <file> -k K    add operator key K's signature (offline: only the file moves)
  publish <file>      check the link against the node's bundle in force, then publish it as the
                      trust_bundle artifact (-k publisher key with a publish grant on the trust
                      scope, --epoch E); every node holding the trust scope follows it
  show                the bundle in force at the node and the links it refused
A bundle takes effect when signed by a threshold of the keys in force and by its own threshold
(as TUF rotates its root). A node that was offline follows the chain link by link; a link not so
signed is refused and changes nothing. The new keys are obeyed at once (grants, revocations,
invalidations of a removed operator stop counting) and remembered in node.json.
Exit status: 0 done, 2 bad arguments, 3 no node running, 4 the link or the artifact was refused,
5 the proposal or key file cannot be read or written.`,
  },
  async run(args, io) {
    const action = parseChoice(args.command, '<action>', args.positionals[0]!, ACTIONS)
    const file = args.positionals[1]
    if (action === 'show') {
      if (file !== undefined) throw new UsageError(args.command, `show takes no file, got '${file}'`)
      const { ask } = await import('./remote.js')
      const view = await ask<TrustView>(args, io, 'trust')
      printView(args, io, view, trustText)
      return 0
    }
    if (file === undefined) throw new UsageError(args.command, `${action} needs <file>`)
    const path = resolve(io.cwd, file)
    const run: Record<Exclude<Action, 'show'>, () => Promise<unknown>> = {
      propose: () => propose(args, io, path, file),
      sign: () => sign(args, io, path, file),
      publish: () => publishProposal(args, io, path, file),
    }
    const view = await run[action]()
    printView(args, io, view, (v) => `${(v as { line: string }).line}\n`)
    return 0
  },
}

async function propose(args: ParsedArgs, io: Io, path: string, file: string) {
  const command = args.command
  const version = parseU64(args, 'version', true)!
  const operators = await Promise.all(listOption(args, 'operator').map((k) => operatorKey(command, k, io)))
  const hex = [...new Set(operators.map(toHex))].sort()
  if (hex.length === 0 || hex.length > 8)
    throw new UsageError(command, `--operator <key> is required, 1 to 8 distinct keys (got ${hex.length})`)
  const text = stringOption(args, 'threshold')
  const threshold =
    text === undefined ? majority(hex.length) : parseInteger(command, '--threshold', text, 1, hex.length)
  const networkId = stringOption(args, 'network') ?? networkOf(args, io)
  const proposal: TrustProposal = {
    format: PROPOSAL_FORMAT,
    networkId,
    version: version.toString(),
    threshold,
    operators: hex,
    signatures: [],
  }
  await writeProposal(path, proposal, true)
  return {
    ...proposal,
    file: path,
    line: `wrote ${file}: trust bundle version ${version} of network ${JSON.stringify(networkId)}, ${threshold} of ${hex.length} keys; next: provsync trust sign ${file} -k <operator key>`,
  }
}

async function sign(args: ParsedArgs, io: Io, path: string, file: string) {
  const proposal = await readProposal(path, file)
  const key = await readSigner(args, io, 'key', ['operator'])
  const lib = await import('@provsync/artifacts/records')
  const statement = lib.trustBundleStatement(proposal.networkId, BigInt(proposal.version), {
    threshold: proposal.threshold,
    keys: proposal.operators.map(keyBytes),
  })
  const signed = withSignature(proposal, key.publicKey, key.sign(statement))
  await writeProposal(path, signed, false)
  const inNew = proposal.operators.includes(toHex(key.publicKey))
    ? 'a key of the new bundle'
    : 'not a key of the new bundle'
  return {
    file: path,
    key: toHex(key.publicKey),
    signatures: signed.signatures.length,
    line: `signed ${file} (version ${proposal.version}) with ${toHex(key.publicKey)} (${inNew}): ${signed.signatures.length} signature${signed.signatures.length === 1 ? '' : 's'}`,
  }
}

/** An operator key: 64 hex characters or a `.pub` file holding them. */
async function operatorKey(command: string, text: string, io: Io): Promise<Uint8Array> {
  const file = resolve(io.cwd, text)
  if (!/^[0-9a-fA-F]{64}$/.test(text) && existsSync(file))
    return parseHexKey(command, `--operator file ${text}`, readFileSync(file, 'utf8').trim())
  return parseHexKey(command, '--operator', text)
}

/** The network of the data directory (its node.json), for a proposal made beside a node. */
function networkOf(args: ParsedArgs, io: Io): string {
  const config = join(dataDirOf(args, io), NODE_CONFIG_FILE)
  try {
    const networkId = (JSON.parse(readFileSync(config, 'utf8')) as { networkId?: unknown }).networkId
    if (typeof networkId === 'string' && networkId !== '') return networkId
  } catch {
    // Named below.
  }
  throw new UsageError(args.command, `--network <id> is required (no network id in ${config})`)
}
