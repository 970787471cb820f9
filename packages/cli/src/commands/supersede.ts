import { resolve } from 'node:path'
import type { SupersessionKind } from '@provsync/crdt'
import { stringOption } from '../args.js'
import { evidenceArg, evidenceOption } from '../blobs/evidence.js'
import type { clock } from '../control/handlers.js'
import type { applySupersession } from '../control/write.js'
import { UsageError } from '../errors.js'
import { toHex } from '../hex.js'
import { readKeyFile } from '../keys.js'
import { parseChoice } from '../values.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export type SupersedeView = Awaited<ReturnType<typeof applySupersession>>
const KINDS: readonly SupersessionKind[] = ['invalidate', 'replace', 'correct']

/** A 32-byte record hash in hex, as `supersede` and `supersessions` take. */
export function parseHash(command: string, name: string, text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new UsageError(
      command,
      `${name} must be a 32-byte record hash in hex (64 characters), got '${text}'`,
    )
  return new Uint8Array(Buffer.from(text, 'hex'))
}

export const supersede: Command = {
  spec: {
    name: 'supersede',
    summary: 'Mark a record (by hash) invalidated, replaced or corrected, signed with an agent key.',
    positionals: ['target'],
    options: {
      'data-dir': dataDirOption,
      kind: { type: 'string', value: '<kind>', description: `${KINDS.join(' | ')} (required)` },
      replacement: { type: 'string', value: '<hash>', description: 'the record that replaces the target' },
      reason: { type: 'string', short: 'r', value: '<text>', description: 'why (required)' },
      'agent-key': {
        type: 'string',
        short: 'k',
        value: '<file>',
        description: 'agent key file (required; provsync keygen --agent)',
      },
      evidence: evidenceOption,
      json: jsonOption,
    },
    details: `
With --evidence, the supersession carries the id of a blob this node holds (a version-2 record:
peers of the first release are never sent it and keep syncing every other record, see
docs/DESIGN.md); any peer that may hold the record may fetch the blob, from this node first.
The supersession is signed here with the agent key, stamped with the node's clock, and handed
to the running node, which verifies and stores it and announces it; every peer pulls it. Read
them back with provsync supersessions <target> [--chain].`,
  },
  async run(args, io) {
    const command = args.command
    const target = parseHash(command, '<target>', args.positionals[0]!)
    const kindText = stringOption(args, 'kind')
    if (kindText === undefined) throw new UsageError(command, `--kind ${KINDS.join('|')} is required`)
    const kind = parseChoice(command, '--kind', kindText, KINDS)
    const replacementText = stringOption(args, 'replacement')
    const replacement =
      replacementText === undefined ? undefined : parseHash(command, '--replacement', replacementText)
    if (kind === 'replace' && replacement === undefined)
      throw new UsageError(command, '--kind replace needs --replacement <hash>')
    const reason = stringOption(args, 'reason')
    if (reason === undefined || reason.trim() === '')
      throw new UsageError(command, '--reason "<text>" is required')
    if (Buffer.byteLength(reason) > 1024) throw new UsageError(command, '--reason is longer than 1024 bytes')
    const keyFile = stringOption(args, 'agent-key')
    if (keyFile === undefined) throw new UsageError(command, '--agent-key <file> is required')
    const agent = await readKeyFile(resolve(io.cwd, keyFile), 'agent')
    const evidence = await evidenceArg(args, io)
    const now = await ask<ReturnType<typeof clock>>(args, io, 'clock')
    const { encodeSupersession, signSupersession } = await import('@provsync/crdt')
    const hlc = { wallMs: now.wallMs, counter: now.counter }
    const signed = signSupersession(
      {
        target,
        kind,
        reason,
        ...(replacement !== undefined ? { replacement } : {}),
        ...(evidence !== undefined ? { evidence: new Uint8Array(Buffer.from(evidence, 'hex')) } : {}),
        hlc,
      },
      agent,
      now.networkId,
    )
    const view = await ask<SupersedeView>(args, io, 'supersession', {
      record: toHex(encodeSupersession(signed, now.networkId)),
    })
    printView(args, io, view, formatSupersede)
    return 0
  },
}

export function formatSupersede(view: SupersedeView): string {
  const done = view.status === 'duplicate' ? 'already recorded:' : 'recorded'
  const force = view.inForce
    ? 'in force'
    : 'not in force (another supersession wins, or the agent is revoked)'
  const evidence = view.evidence === null ? '' : `  evidence blob ${view.evidence}\n`
  return `${done} ${view.kind} of ${view.target}\n  supersession ${view.hash}, ${force}\n  agent ${view.agent.peer} at ${view.hlc}\n${evidence}`
}
