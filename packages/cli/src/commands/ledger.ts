import { stringOption } from '../args.js'
import type { ledger as ledgerHandler } from '../control/handlers.js'
import type { LedgerEntryView } from '../control/views.js'
import { table } from '../io.js'
import { parseChoice, parseInteger } from '../values.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export type LedgerView = ReturnType<typeof ledgerHandler>

export const ledger: Command = {
  spec: {
    name: 'ledger',
    summary:
      'List the revocation ledger: every revocation and reinstatement this node applied, and its effect.',
    positionals: [],
    options: {
      'data-dir': dataDirOption,
      since: {
        type: 'string',
        value: '<seq>',
        description: 'entries after this sequence number (default 0)',
      },
      kind: {
        type: 'string',
        value: '<peer|signer|criteria|invalidation>',
        description: 'only entries about peers, signers, criteria (invalidations) or invalidations (lifts)',
      },
      limit: { type: 'string', value: '<n>', description: 'at most n entries (default 1000)' },
      json: jsonOption,
    },
  },
  async run(args, io) {
    const command = args.command
    const since = stringOption(args, 'since')
    const kind = stringOption(args, 'kind')
    const limit = stringOption(args, 'limit')
    const view = await ask<LedgerView>(args, io, 'ledger', {
      ...(since !== undefined
        ? { since: parseInteger(command, '--since', since, 0, Number.MAX_SAFE_INTEGER) }
        : {}),
      ...(kind !== undefined
        ? {
            kind: parseChoice(command, '--kind', kind, [
              'peer',
              'signer',
              'criteria',
              'invalidation',
            ] as const),
          }
        : {}),
      ...(limit !== undefined ? { limit: parseInteger(command, '--limit', limit, 1, 10_000) } : {}),
    })
    printView(args, io, view, formatLedger)
    return 0
  },
}

function effect(entry: LedgerEntryView): string {
  const r = entry.result
  if (r === null) return 'pending'
  return entry.kind === 'reinstate' || entry.kind === 'lift'
    ? `restored ${r.restored}`
    : `invalidated ${r.invalidated}`
}

function source(entry: LedgerEntryView): string {
  return entry.source.type === 'peer' && entry.source.peer !== undefined
    ? `from ${entry.source.peer.peer}`
    : entry.source.type
}

export function formatLedger(view: LedgerView): string {
  const { totals } = view
  const summary =
    `ledger #${view.latestSeq}: ${totals.revocations} revocations, ${totals.reinstatements} reinstatements, ` +
    `${totals.invalidated} records invalidated, ${totals.restored} restored`
  if (view.entries.length === 0) return `${summary}\nno entries\n`
  const rows = view.entries.map((e) => [
    `#${e.seq}`,
    e.kind,
    e.subjectKind,
    e.subject?.peer ?? e.target ?? JSON.stringify(e.criteria),
    effect(e),
    source(e),
    e.origin,
    e.hlc,
    e.reason,
  ])
  const more = view.more ? '\n(more entries: use --since or --limit)' : ''
  return `${summary}\n${table([['seq', 'kind', 'subject', '', 'effect', 'source', 'origin', 'hlc', 'reason'], ...rows])}${more}\n`
}
