import { stringOption } from '../args.js'
import { evidenceArg, evidenceOption } from '../blobs/evidence.js'
import type { recordEvidence } from '../control/write.js'
import { UsageError } from '../errors.js'
import { parseCoordinatePart, parseRun } from '../values.js'
import { describeComponent } from './audit.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export type RecordView = Awaited<ReturnType<typeof recordEvidence>>

export const record: Command = {
  spec: {
    name: 'record',
    summary: 'Record that this node verified <run> of a coordinate itself (local evidence); peers pull it.',
    positionals: ['volume', 'destination', 'origin', 'run'],
    options: {
      'data-dir': dataDirOption,
      method: {
        type: 'string',
        short: 'm',
        value: '<text>',
        description: 'how the run was verified (e.g. sha256)',
      },
      evidence: evidenceOption,
      json: jsonOption,
    },
    details: `
With --evidence, the assertion carries the id of a blob this node holds (a version-2 record: peers
of the first release are never sent it and keep syncing every other record, see docs/DESIGN.md).
The node signs an assertion with its own key and announces it at once; every peer pulls it and
lists it as "asserted by" this node. A run at or below the recorded one changes nothing
(status "superseded"): run ids only move forward.`,
  },
  async run(args, io) {
    const [volume, destination, origin] = args.positionals
      .slice(0, 3)
      .map((p, i) => parseCoordinatePart(args.command, `<${record.spec.positionals[i]}>`, p))
    const run = parseRun(args.command, '<run>', args.positionals[3]!)
    const method = stringOption(args, 'method')
    if (method !== undefined && (method === '' || Buffer.byteLength(method) > 256))
      throw new UsageError(args.command, '--method must be 1 to 256 bytes')
    const evidence = await evidenceArg(args, io)
    const view = await ask<RecordView>(args, io, 'record', {
      volume,
      destination,
      origin,
      run: run.toString(),
      ...(method !== undefined ? { method } : {}),
      ...(evidence !== undefined ? { evidence } : {}),
    })
    printView(args, io, view, formatRecord)
    return 0
  },
}

export function formatRecord(view: RecordView): string {
  const c = view.coordinate
  const what = view.status === 'applied' ? 'recorded' : 'already recorded at or above this run:'
  const component = view.component === null ? 'no evidence' : describeComponent(view.component)
  const evidence = view.evidence === null ? '' : `  evidence blob ${view.evidence}\n`
  return `${what} ${c.volume}/${c.destination}/${c.origin} local run ${view.local.run}\n  view: ${component}\n${evidence}`
}
