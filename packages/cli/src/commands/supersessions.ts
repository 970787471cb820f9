import { flagOption, stringOption } from '../args.js'
import type { supersessionsOf } from '../control/read.js'
import { UsageError } from '../errors.js'
import { toHex } from '../hex.js'
import { table } from '../io.js'
import { parseInteger } from '../values.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'
import { parseKeyOrPeer } from './revoke.js'
import { parseHash } from './supersede.js'

export type SupersessionsView = ReturnType<typeof supersessionsOf>

export const supersessions: Command = {
  spec: {
    name: 'supersessions',
    summary: "A record's supersessions (the winner first) and its replacement chain, or an agent's.",
    positionals: [],
    optionalPositionals: ['target'],
    options: {
      'data-dir': dataDirOption,
      agent: {
        type: 'string',
        value: '<key|peer>',
        description: "list this agent's supersessions, newest first",
      },
      from: {
        type: 'string',
        value: '<time>',
        description: 'with --agent: from this time (ISO date, ms or HLC)',
      },
      to: { type: 'string', value: '<time>', description: 'with --agent: up to this time, inclusive' },
      limit: { type: 'string', value: '<n>', description: 'with --agent: at most n (default 100)' },
      chain: { type: 'boolean', description: 'follow replacements from the target to its current head' },
      json: jsonOption,
    },
    details: `
Usage: provsync supersessions <target> [--chain] | --agent <key> [--from t] [--to t] [--limit n]
A time is an ISO date (2026-12-06T05:00:00Z), a wall time in ms, or an HLC timestamp as printed;
a date or ms covers its whole millisecond.`,
  },
  async run(args, io) {
    const command = args.command
    const agentText = stringOption(args, 'agent')
    const params: Record<string, unknown> = {}
    if (agentText !== undefined) {
      if (args.positionals.length > 0)
        throw new UsageError(command, 'give either <target> or --agent, not both')
      params.agent = toHex(await parseKeyOrPeer(command, '--agent', agentText))
      for (const name of ['from', 'to'] as const) {
        const text = stringOption(args, name)
        if (text !== undefined) params[name] = parseTime(command, `--${name}`, text)
      }
      const limit = stringOption(args, 'limit')
      if (limit !== undefined) params.limit = parseInteger(command, '--limit', limit, 1, 10_000)
    } else {
      const target = args.positionals[0]
      if (target === undefined) throw new UsageError(command, 'give <target> or --agent <key>')
      params.target = toHex(parseHash(command, '<target>', target))
      if (flagOption(args, 'chain')) params.chain = true
    }
    printView(args, io, await ask<SupersessionsView>(args, io, 'supersessions', params), formatSupersessions)
    return 0
  },
}

/** A time bound as the node takes it: wall ms as a decimal string, or an HLC text. */
export function parseTime(command: string, name: string, text: string): string {
  if (/^\d{1,15}$/.test(text)) return text
  if (/^\d{4}-\d{2}-\d{2}T[^/]*$/.test(text)) {
    const ms = Date.parse(text)
    if (!Number.isNaN(ms)) return String(ms)
  }
  if (/^\d{4}-\d{2}-\d{2}T.*\/[0-9a-f]{4}\/[0-9a-f]{16}$/.test(text)) return text
  throw new UsageError(
    command,
    `${name} must be an ISO date, a wall time in ms or an HLC timestamp, got '${text}'`,
  )
}

export function formatSupersessions(view: SupersessionsView): string {
  const lines: string[] = []
  if ('target' in view)
    lines.push(`${view.target}: ${view.superseded ? `superseded (winner ${view.winner})` : 'not superseded'}`)
  else lines.push(`supersessions by ${view.agent.peer}`)
  if (view.supersessions.length === 0) lines.push('  none')
  else
    lines.push(
      table(
        view.supersessions.map((s) => [
          `  ${s.hash.slice(0, 16)}`,
          s.kind,
          s.inForce ? 'in force' : 'not in force',
          s.replacement === undefined ? '-' : `-> ${s.replacement.slice(0, 16)}`,
          s.hlc,
          s.reason,
        ]),
      ),
    )
  if ('chain' in view && view.chain !== undefined)
    lines.push(`chain (${view.chain.end}): ${view.chain.path.map((h) => h.slice(0, 16)).join(' -> ')}`)
  return `${lines.join('\n')}\n`
}
