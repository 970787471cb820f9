import { resolve } from 'node:path'
import type { InvalidationCriteria, UnsignedInvalidation } from '@provsync/crdt'
import { parseTimestamp, type Timestamp } from '@provsync/hlc'
import { type ParsedArgs, stringOption } from '../args.js'
import type { clock } from '../control/handlers.js'
import type { applyInvalidation } from '../control/invalidation.js'
import { UsageError } from '../errors.js'
import { toHex } from '../hex.js'
import type { Io } from '../io.js'
import { readKeyFile } from '../keys.js'
import { parseHexKey } from '../values.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'
import { parseKeyOrPeer } from './revoke.js'

// The record codec's bounds (crdt MAX_REASON_BYTES, MAX_PATTERN_BYTES), checked before signing.
const MAX_REASON_BYTES = 1024
const MAX_PATTERN_BYTES = 256

export type InvalidationView = Awaited<ReturnType<typeof applyInvalidation>>

const reasonOption = {
  type: 'string',
  short: 'r',
  value: '<text>',
  description: 'why; kept in every ledger (required)',
} as const
const operatorKeyOption = {
  type: 'string',
  short: 'k',
  value: '<file>',
  description: 'operator key file from the trust bundle (required)',
} as const

export const invalidate: Command = {
  spec: {
    name: 'invalidate',
    summary:
      'Invalidate records by criteria network-wide, signed with an operator key from the trust bundle.',
    positionals: [],
    options: {
      'data-dir': dataDirOption,
      signer: {
        type: 'string',
        value: '<key|peer>',
        description: 'records signed by this key (hex or peer id)',
      },
      pattern: {
        type: 'string',
        value: '<glob>',
        description: 'records whose key matches (* any run, ? one character)',
      },
      prefix: { type: 'string', value: '<text>', description: 'records whose key starts with this text' },
      family: {
        type: 'string',
        value: '<name>',
        description: 'artifacts of this family (matches no durability record)',
      },
      'older-than': {
        type: 'string',
        value: '<time>',
        description: 'records with an HLC before this time (ISO date or HLC text)',
      },
      reason: reasonOption,
      'operator-key': operatorKeyOption,
      json: jsonOption,
    },
    details: `
A record's key is volume/destination/origin for an assertion, the target hash in hex for a
supersession. The record is signed here and handed to the running node, which applies it and
announces it; every node pulls it and applies it through its ledger (origin "networked"), and
matching records that arrive later stay out of the view too. Undo it with provsync lift <id>.`,
  },
  async run(args, io) {
    const criteria = await criteriaOf(args)
    const view = await send(args, io, (hlc) => ({
      action: 'invalidate',
      criteria,
      reason: reasonOf(args),
      hlc,
    }))
    printView(args, io, view, formatInvalidation)
    return 0
  },
}

export const lift: Command = {
  spec: {
    name: 'lift',
    summary: 'Lift an invalidation network-wide: a later signed act that brings its records back.',
    positionals: ['id'],
    options: {
      'data-dir': dataDirOption,
      reason: reasonOption,
      'operator-key': operatorKeyOption,
      json: jsonOption,
    },
    details: `
<id> is the invalidation's id (its record hash), as invalidate and ledger print it.`,
  },
  async run(args, io) {
    const target = parseHexKey(args.command, '<id>', args.positionals[0]!)
    const view = await send(args, io, (hlc) => ({ action: 'lift', target, reason: reasonOf(args), hlc }))
    printView(args, io, view, formatInvalidation)
    return 0
  },
}

function reasonOf(args: ParsedArgs): string {
  const reason = stringOption(args, 'reason')
  if (reason === undefined || reason.trim() === '')
    throw new UsageError(args.command, '--reason "<text>" is required')
  if (Buffer.byteLength(reason) > MAX_REASON_BYTES) {
    throw new UsageError(args.command, `--reason is longer than ${MAX_REASON_BYTES} bytes`)
  }
  return reason
}

async function criteriaOf(args: ParsedArgs): Promise<InvalidationCriteria> {
  const command = args.command
  const given = (['signer', 'pattern', 'prefix', 'older-than', 'family'] as const).filter(
    (name) => stringOption(args, name) !== undefined,
  )
  if (given.length !== 1) {
    throw new UsageError(
      command,
      'give exactly one of --signer, --pattern, --prefix, --older-than or --family',
    )
  }
  const name = given[0]!
  const value = stringOption(args, name)!
  if (name === 'signer') return { type: 'signer', key: await parseKeyOrPeer(command, '--signer', value) }
  if (name === 'older-than') return { type: 'older-than', epoch: parseTime(command, value) }
  if (value === '' || Buffer.byteLength(value) > MAX_PATTERN_BYTES) {
    throw new UsageError(command, `--${name} must be 1 to ${MAX_PATTERN_BYTES} bytes`)
  }
  if (name === 'family') return { type: 'family', family: value }
  return name === 'pattern' ? { type: 'pattern', pattern: value } : { type: 'prefix', prefix: value }
}

function parseTime(command: string, text: string): Timestamp {
  try {
    return parseTimestamp(text)
  } catch {
    const wallMs = Date.parse(text)
    if (!Number.isSafeInteger(wallMs) || wallMs < 0) {
      throw new UsageError(command, `--older-than must be an ISO date or an HLC in text form, got '${text}'`)
    }
    return { wallMs, counter: 0, nodeId: new Uint8Array(8) }
  }
}

/** Signs with the operator key, stamped with the node's clock, and asks the node to apply it. */
async function send(
  args: ParsedArgs,
  io: Io,
  fields: (hlc: { wallMs: number; counter: number }) => UnsignedInvalidation,
): Promise<InvalidationView> {
  const keyFile = stringOption(args, 'operator-key')
  if (keyFile === undefined) throw new UsageError(args.command, '--operator-key <file> is required')
  const unsigned = fields({ wallMs: 0, counter: 0 })
  const operator = await readKeyFile(resolve(io.cwd, keyFile), 'operator')
  const now = await ask<ReturnType<typeof clock>>(args, io, 'clock')
  const { encodeInvalidation, signInvalidation } = await import('@provsync/crdt')
  const record = signInvalidation(
    { ...unsigned, hlc: { wallMs: now.wallMs, counter: now.counter } },
    operator,
    now.networkId,
  )
  return ask<InvalidationView>(args, io, 'invalidation', {
    record: toHex(encodeInvalidation(record, now.networkId)),
  })
}

export function formatInvalidation(view: InvalidationView): string {
  const lines: string[] = []
  const what = view.action === 'lift' ? `lifted invalidation ${view.invalidation}` : `invalidation ${view.id}`
  lines.push(view.status === 'duplicate' ? `${what}: already recorded` : what)
  const entry = view.entry
  if (entry !== null) {
    const r = entry.result
    const effect =
      r === null
        ? 'not applied yet'
        : view.action === 'lift'
          ? `restored ${r.restored} record${r.restored === 1 ? '' : 's'}, ${r.viewChanges} view component${r.viewChanges === 1 ? '' : 's'} changed`
          : `invalidated ${r.invalidated} record${r.invalidated === 1 ? '' : 's'}, ${r.viewChanges} view component${r.viewChanges === 1 ? '' : 's'} changed`
    lines.push(`  ledger #${entry.seq} (${entry.origin}): ${effect}`)
    if (entry.criteria !== undefined) lines.push(`  criteria: ${JSON.stringify(entry.criteria)}`)
    lines.push(`  reason: ${entry.reason}`)
  }
  lines.push(`  in force: ${view.inForce ? 'yes' : 'no'}`)
  return `${lines.join('\n')}\n`
}
