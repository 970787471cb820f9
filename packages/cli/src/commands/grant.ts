import type { IssueTime, Right } from '@provsync/artifacts/records'
import { flagOption, listOption, type ParsedArgs, stringOption } from '../args.js'
import { UsageError } from '../errors.js'
import type { KeyPair } from '../keys.js'
import { parseChoice } from '../values.js'
import {
  parseDuration,
  parseSubject,
  parseU64,
  readSigner,
  recordLine,
  signAndSubmit,
} from './artifact-sign.js'
import { checkScopeArg, operatorKeyOption } from './artifacts.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'

// The record codec's bounds (artifacts MAX_REASON_BYTES, MAX_GRANT_SCOPES, RIGHTS), checked
// before signing; kept here so `provsync --help` does not load the store's package.
const MAX_REASON_BYTES = 256
const MAX_GRANT_SCOPES = 16
const RIGHTS: readonly Right[] = ['member', 'hold', 'publish']
type Artifacts = typeof import('@provsync/artifacts/records')

export const grant: Command = {
  spec: {
    name: 'grant',
    summary: 'Give a key a right over scopes (member, hold, publish), or withdraw it, signed by an operator.',
    positionals: ['subject', 'right'],
    options: {
      'data-dir': dataDirOption,
      scope: {
        type: 'string',
        multiple: true,
        short: 's',
        value: '<prefix>',
        description: 'scope prefix the right covers, e.g. cluster/c1 (hold and publish: 1 to 16)',
      },
      epoch: {
        type: 'string',
        short: 'e',
        value: '<n>',
        description: 'grant epoch: a higher one replaces the grant in force (required)',
      },
      expires: {
        type: 'string',
        value: '<duration>',
        description: 'the grant lapses after this long (90s, 15m, 24h, 7d); default never',
      },
      withdraw: {
        type: 'boolean',
        description: 'withdraw every grant of <subject> <right> at or below --epoch instead',
      },
      reason: { type: 'string', short: 'r', value: '<text>', description: 'why (required with --withdraw)' },
      'operator-key': operatorKeyOption,
      json: jsonOption,
    },
    details: `
<subject> is the key given the right: 64 hex characters, a .pub file, or a peer id (a node's
hold and member grants name its peer id; status prints it). <right> is one of ${RIGHTS.join(', ')}:
member lets a node sync at all in a closed network, hold lets it receive, store and serve the
scopes, publish lets a key sign artifacts in them. Grants are operator records: every node
replicates them, and a node holds exactly the scopes its live hold grant covers. A re-grant
after a withdrawal needs an epoch above the withdrawn one.

Exit status: 0 applied (or already recorded), 2 bad arguments, 3 no node running,
4 the node refused the record (untrusted-operator, ...), 5 the key file cannot be read.`,
  },
  async run(args, io) {
    const command = args.command
    const subject = await parseSubject(command, args.positionals[0]!, io)
    const right = parseChoice(command, '<right>', args.positionals[1]!, RIGHTS)
    const epoch = parseU64(args, 'epoch', true)!
    const lib = await import('@provsync/artifacts/records')
    const sign = flagOption(args, 'withdraw')
      ? withdrawal(lib, args, subject, right, epoch)
      : grantOf(lib, args, subject, right, epoch)
    const operator = await readSigner(args, io, 'operator-key', ['operator'])
    const view = await signAndSubmit(args, io, (networkId, at) => sign(operator, networkId, at))
    const what = flagOption(args, 'withdraw')
      ? `withdrew ${right} at epoch ${epoch}`
      : `granted ${right} at epoch ${epoch}`
    printView(args, io, { ...view, right, epoch: epoch.toString() }, (v) => `${recordLine(v, what)}\n`)
    return 0
  },
}

type Sign = (operator: KeyPair, networkId: string, at: IssueTime) => Uint8Array

function grantOf(lib: Artifacts, args: ParsedArgs, subject: Uint8Array, right: Right, epoch: bigint): Sign {
  const command = args.command
  if (stringOption(args, 'reason') !== undefined)
    throw new UsageError(command, '--reason goes with --withdraw')
  const scopes = [...new Set(listOption(args, 'scope').map((s) => checkScopeArg(lib, command, '--scope', s)))]
  if (right === 'member' && scopes.length > 0)
    throw new UsageError(command, 'a member grant covers no scope: drop --scope')
  if (right !== 'member' && (scopes.length === 0 || scopes.length > MAX_GRANT_SCOPES))
    throw new UsageError(command, `a ${right} grant needs 1 to ${MAX_GRANT_SCOPES} --scope prefixes`)
  const expires = stringOption(args, 'expires')
  const ttl = expires === undefined ? undefined : parseDuration(command, '--expires', expires)
  return (operator, networkId, at) =>
    lib.signGrant(
      { subject, right, scopes, epoch, ...(ttl !== undefined ? { expiresAt: at.wallMs + ttl } : {}) },
      operator,
      networkId,
      at,
    ).bytes
}

function withdrawal(
  lib: Artifacts,
  args: ParsedArgs,
  subject: Uint8Array,
  right: Right,
  epoch: bigint,
): Sign {
  const command = args.command
  for (const option of ['scope', 'expires'])
    if (args.values[option] !== undefined)
      throw new UsageError(command, `--${option} does not go with --withdraw`)
  const reason = stringOption(args, 'reason')
  if (reason === undefined || reason.trim() === '')
    throw new UsageError(command, '--withdraw needs --reason "<text>"')
  if (Buffer.byteLength(reason) > MAX_REASON_BYTES)
    throw new UsageError(command, `--reason is longer than ${MAX_REASON_BYTES} bytes`)
  return (operator, networkId, at) =>
    lib.signWithdrawal({ subject, right, epoch, reason }, operator, networkId, at).bytes
}
