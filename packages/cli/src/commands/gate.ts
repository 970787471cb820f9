import { flagOption, listOption, stringOption } from '../args.js'
import type { GateView } from '../control/views.js'
import { ExitCode, UsageError } from '../errors.js'
import { toHex } from '../hex.js'
import { parseCoordinatePart, parseInteger, parseRun } from '../values.js'
import { describeKey } from './audit.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'
import { parseKeyOrPeer } from './revoke.js'

export const gate: Command = {
  spec: {
    name: 'gate',
    summary: 'May this node act because <run> of the coordinate is durable? Exit 0 allows, 1 refuses.',
    positionals: ['volume', 'destination', 'origin', 'run'],
    options: {
      'data-dir': dataDirOption,
      local: { type: 'boolean', description: 'accept only this node’s own verification' },
      'min-asserters': {
        type: 'string',
        value: '<k>',
        description: 'require k distinct asserters covering the run',
      },
      ignore: {
        type: 'string',
        multiple: true,
        value: '<peer|key>',
        description: 'do not count this asserter',
      },
      json: jsonOption,
    },
    details: `
Without a policy option any evidence covering the run allows: local verification or one
asserter that is not revoked. The evidence that decided is printed, naming the asserting peer
or "locally verified", so an audit trail can say what gated the action.`,
  },
  async run(args, io) {
    const [volume, destination, origin] = args.positionals
      .slice(0, 3)
      .map((p, i) => parseCoordinatePart(args.command, `<${gate.spec.positionals[i]}>`, p))
    const run = parseRun(args.command, '<run>', args.positionals[3]!)
    const view = await ask<GateView>(args, io, 'gate', {
      volume,
      destination,
      origin,
      run: run.toString(),
      policy: await policyFrom(args.command, args),
    })
    printView(args, io, view, formatGate)
    return view.allowed ? ExitCode.ok : ExitCode.refused
  },
}

async function policyFrom(
  command: string,
  args: Parameters<Command['run']>[0],
): Promise<Record<string, unknown>> {
  const local = flagOption(args, 'local')
  const minText = stringOption(args, 'min-asserters')
  const ignore = listOption(args, 'ignore')
  const chosen = [local, minText !== undefined, ignore.length > 0].filter(Boolean).length
  if (chosen > 1) throw new UsageError(command, 'choose one of --local, --min-asserters or --ignore')
  if (local) return { type: 'local-only' }
  if (minText !== undefined)
    return { type: 'min-asserters', k: parseInteger(command, '--min-asserters', minText, 1, 1024) }
  if (ignore.length > 0) {
    const keys = await Promise.all(ignore.map((t) => parseKeyOrPeer(command, '--ignore', t)))
    return { type: 'ignore', asserters: keys.map(toHex) }
  }
  return { type: 'any' }
}

export function formatGate(view: GateView): string {
  const lines = [`${view.allowed ? 'ALLOW' : 'REFUSE'} ${view.reason}`]
  for (const e of view.evidence) {
    lines.push(
      e.source === 'local'
        ? `  locally verified at run ${e.run} (${e.hlc})`
        : `  asserted by ${describeKey(e.asserter)}${e.via ? ` via ${describeKey(e.via)}` : ''} at run ${e.run} (${e.hlc})`,
    )
  }
  return `${lines.join('\n')}\n`
}
