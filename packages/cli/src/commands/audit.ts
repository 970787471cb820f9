import { stringOption } from '../args.js'
import type { audit as auditHandler } from '../control/handlers.js'
import type { ComponentView, HistoryView, KeyView } from '../control/views.js'
import { table } from '../io.js'
import { parseCoordinatePart, parseInteger } from '../values.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export type AuditView = ReturnType<typeof auditHandler>

export const audit: Command = {
  spec: {
    name: 'audit',
    summary: 'Show the durability view of one coordinate, its provenance and corroborators, and its history.',
    positionals: ['volume', 'destination', 'origin'],
    options: {
      'data-dir': dataDirOption,
      history: {
        type: 'string',
        value: '<n>',
        description: 'show the last n history entries (default 1000)',
      },
      json: jsonOption,
    },
  },
  async run(args, io) {
    const [volume, destination, origin] = args.positionals.map((p, i) =>
      parseCoordinatePart(args.command, `<${audit.spec.positionals[i]}>`, p),
    )
    const historyText = stringOption(args, 'history')
    const view = await ask<AuditView>(args, io, 'audit', {
      volume,
      destination,
      origin,
      ...(historyText !== undefined
        ? { historyLimit: parseInteger(args.command, '--history', historyText, 1, 100_000) }
        : {}),
    })
    printView(args, io, view, formatAudit)
    return 0
  },
}

export function describeKey(key: KeyView): string {
  return key.peer
}

export function describeComponent(c: ComponentView): string {
  const p = c.provenance
  const source =
    p.type === 'local'
      ? 'locally verified'
      : `asserted by ${describeKey(p.asserter)}${p.via !== undefined ? ` via ${describeKey(p.via)}` : ''}`
  return `run ${c.run}, ${source}`
}

function describeChange(h: HistoryView): string {
  const before = h.before === null ? 'nothing' : `run ${h.before.run}`
  const after = h.after === null ? 'nothing' : describeComponent(h.after)
  const asserter = h.after?.provenance.type === 'asserted' ? h.after.provenance.asserter.key : undefined
  const cause =
    h.cause.type === 'pull' && h.cause.from !== undefined
      ? h.cause.from.key === asserter
        ? 'pulled from the asserter'
        : `pulled from ${describeKey(h.cause.from)}`
      : h.cause.ledgerSeq !== undefined
        ? `${h.cause.type}, ledger #${h.cause.ledgerSeq}`
        : h.cause.type
  return `${before} -> ${after} (${cause})`
}

export function formatAudit(view: AuditView): string {
  const { coordinate: c } = view
  const lines = [`${c.volume}/${c.destination}/${c.origin}`]
  if (view.component === null) lines.push('  view: no evidence')
  else {
    lines.push(`  view: ${describeComponent(view.component)}`)
    const corroborators = view.component.corroborators.map(describeKey)
    lines.push(
      `  corroborated by ${corroborators.length}${corroborators.length ? `: ${corroborators.join(', ')}` : ''}`,
    )
  }
  lines.push(
    `  local evidence: ${view.local === null ? 'none' : `run ${view.local.run} at ${view.local.hlc}`}`,
  )
  lines.push('', 'evidence:')
  if (view.evidence.length === 0) lines.push('  none')
  else {
    lines.push(
      table([
        ['  asserter', 'run', 'in force', 'via'],
        ...view.evidence.map((e) => [
          `  ${describeKey(e.asserter)}`,
          e.run,
          e.removedBy === null
            ? 'yes'
            : `no: ${e.removedBy.kind === 'revoke' ? 'revoked' : 'invalidated'} by ledger #${e.removedBy.ledgerSeq}`,
          e.via === undefined ? '-' : describeKey(e.via),
        ]),
      ]),
    )
  }
  lines.push('', 'history:')
  if (view.history.length === 0) lines.push('  none')
  for (const h of view.history) lines.push(`  #${h.seq} ${h.kind.padEnd(11)} ${describeChange(h)}  ${h.hlc}`)
  return `${lines.join('\n')}\n`
}
