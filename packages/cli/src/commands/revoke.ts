import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { RevocationAction } from '@provsync/crdt'
import { type ParsedArgs, stringOption } from '../args.js'
import type { applyRevocation, clock } from '../control/handlers.js'
import { UsageError } from '../errors.js'
import { toHex } from '../hex.js'
import type { Io } from '../io.js'
import { readKeyFile } from '../keys.js'
import { parseHexKey } from '../values.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

// The record codec's bound (crdt MAX_REASON_BYTES), checked here to fail before signing.
const MAX_REASON_BYTES = 1024

export type RevocationView = Awaited<ReturnType<typeof applyRevocation>>

function revocationCommand(action: RevocationAction): Command {
  const verb = action === 'revoke' ? 'Revoke' : 'Reinstate'
  return {
    spec: {
      name: action,
      summary: `${verb} a peer or a signer key network-wide, signed with an operator key from the trust bundle.`,
      positionals: [],
      options: {
        'data-dir': dataDirOption,
        peer: { type: 'string', value: '<peer-id>', description: `${action} a peer: everything it asserted` },
        signer: {
          type: 'string',
          value: '<key|file>',
          description: `${action} a signer key (hex, or a .pub file)`,
        },
        reason: {
          type: 'string',
          short: 'r',
          value: '<text>',
          description: 'why; kept in every ledger (required)',
        },
        'operator-key': {
          type: 'string',
          short: 'k',
          value: '<file>',
          description: 'operator key file (required)',
        },
        json: jsonOption,
      },
      details: `
The record is signed here with the operator key and handed to the running node, which applies it
and announces it at once; every node of the network pulls it and applies it the same way.
${
  action === 'revoke'
    ? 'Assertions by the key leave every durability view, which falls back to the best remaining\nevidence; its supersessions stop being in force; new records it signs are refused.'
    : 'A reinstatement is a later forward act: what the revocation invalidated comes back into force.'
}`,
    },
    async run(args, io) {
      const command = args.command
      const peer = stringOption(args, 'peer')
      const signer = stringOption(args, 'signer')
      if ((peer === undefined) === (signer === undefined)) {
        throw new UsageError(command, 'give exactly one of --peer <id> or --signer <key>')
      }
      const reason = stringOption(args, 'reason')
      if (reason === undefined || reason.trim() === '')
        throw new UsageError(command, '--reason "<text>" is required')
      if (Buffer.byteLength(reason) > MAX_REASON_BYTES) {
        throw new UsageError(command, `--reason is longer than ${MAX_REASON_BYTES} bytes`)
      }
      const keyFile = stringOption(args, 'operator-key')
      if (keyFile === undefined) throw new UsageError(command, '--operator-key <file> is required')
      const subject =
        peer !== undefined
          ? await parsePeer(command, '--peer', peer)
          : parseKeyOrFile(command, '--signer', signer!, io)
      const operator = await readKeyFile(resolve(io.cwd, keyFile), 'operator')
      const view = await sendRevocation(args, io, {
        action,
        subjectKind: peer !== undefined ? 'peer' : 'signer',
        subject,
        reason,
        operator,
      })
      printView(args, io, view, formatRevocation)
      return 0
    },
  }
}

export const revoke = revocationCommand('revoke')
export const reinstate = revocationCommand('reinstate')

async function sendRevocation(
  args: ParsedArgs,
  io: Io,
  fields: {
    action: RevocationAction
    subjectKind: 'peer' | 'signer'
    subject: Uint8Array
    reason: string
    operator: { publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array }
  },
): Promise<RevocationView> {
  // Stamped with the node's clock, so it orders after every revocation the node has seen.
  const now = await ask<ReturnType<typeof clock>>(args, io, 'clock')
  const { operator, ...rest } = fields
  const { encodeRevocation, signRevocation } = await import('@provsync/crdt')
  const record = signRevocation(
    { ...rest, hlc: { wallMs: now.wallMs, counter: now.counter } },
    operator,
    now.networkId,
  )
  return ask<RevocationView>(args, io, 'revocation', {
    record: toHex(encodeRevocation(record, now.networkId)),
  })
}

export async function parsePeer(command: string, name: string, text: string): Promise<Uint8Array> {
  // libp2p's peer-id code loads only when a peer id is given: it is most of a client's startup.
  const { keyOfPeerId } = await import('../identity.js')
  const key = keyOfPeerId(text)
  if (key === undefined)
    throw new UsageError(command, `${name} must be an Ed25519 peer id (12D3Koo...), got '${text}'`)
  return key
}

/** A peer id or a hex public key, as `gate --ignore` takes. */
export async function parseKeyOrPeer(command: string, name: string, text: string): Promise<Uint8Array> {
  return /^[0-9a-fA-F]{64}$/.test(text) ? parseHexKey(command, name, text) : parsePeer(command, name, text)
}

function parseKeyOrFile(command: string, name: string, text: string, io: Io): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return parseHexKey(command, name, text)
  let content: string
  try {
    content = readFileSync(resolve(io.cwd, text), 'utf8')
  } catch {
    throw new UsageError(command, `${name} must be a 32-byte public key in hex or a .pub file, got '${text}'`)
  }
  return parseHexKey(command, `${name} file ${text}`, content.trim())
}

export function formatRevocation(view: RevocationView): string {
  const done = view.action === 'revoke' ? 'revoked' : 'reinstated'
  const who = `${view.subjectKind} ${view.subject.peer}${view.subjectKind === 'signer' ? ` (${view.subject.key})` : ''}`
  const lines: string[] = []
  if (view.status === 'duplicate') lines.push(`${who}: this ${view.action} was already recorded`)
  else lines.push(`${done} ${who}`)
  if (view.entry !== null) {
    const r = view.entry.result
    const effect =
      r === null
        ? 'not applied yet'
        : view.action === 'revoke'
          ? `invalidated ${r.invalidated} record${r.invalidated === 1 ? '' : 's'}, ${r.viewChanges} view component${r.viewChanges === 1 ? '' : 's'} changed`
          : `restored ${r.restored} record${r.restored === 1 ? '' : 's'}, ${r.viewChanges} view component${r.viewChanges === 1 ? '' : 's'} changed`
    lines.push(`  ledger #${view.entry.seq}: ${effect}`)
    lines.push(`  reason: ${view.entry.reason}`)
  }
  if ((view.action === 'revoke') !== view.revoked) {
    lines.push(
      `  note: a later ${view.action === 'revoke' ? 'reinstatement' : 'revocation'} of this key is in force`,
    )
  }
  return `${lines.join('\n')}\n`
}
