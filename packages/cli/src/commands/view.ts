import { stringOption } from '../args.js'
import type { viewPage } from '../control/read.js'
import { table } from '../io.js'
import { parseCoordinatePart, parseInteger } from '../values.js'
import { describeComponent } from './audit.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export type ViewPage = ReturnType<typeof viewPage>
export const view: Command = {
  spec: {
    name: 'view',
    summary: 'List the durability view: each coordinate with its run and provenance, filtered and paged.',
    positionals: [],
    options: {
      'data-dir': dataDirOption,
      volume: { type: 'string', value: '<volume>', description: 'only this volume' },
      destination: { type: 'string', value: '<destination>', description: 'only this destination' },
      origin: { type: 'string', value: '<origin>', description: 'only this origin' },
      limit: { type: 'string', value: '<n>', description: 'at most n coordinates (default 100)' },
      offset: {
        type: 'string',
        value: '<n>',
        description: 'skip the first n matches (the "next" of a page)',
      },
      json: jsonOption,
    },
  },
  async run(args, io) {
    const params: Record<string, unknown> = {}
    for (const part of ['volume', 'destination', 'origin'] as const) {
      const value = stringOption(args, part)
      if (value !== undefined) params[part] = parseCoordinatePart(args.command, `--${part}`, value)
    }
    const limit = stringOption(args, 'limit')
    if (limit !== undefined) params.limit = parseInteger(args.command, '--limit', limit, 1, 10_000)
    const offset = stringOption(args, 'offset')
    if (offset !== undefined)
      params.offset = parseInteger(args.command, '--offset', offset, 0, Number.MAX_SAFE_INTEGER)
    printView(args, io, await ask<ViewPage>(args, io, 'view', params), formatView)
    return 0
  },
}

export function formatView(page: ViewPage): string {
  const rows = page.entries
  if (rows.length === 0) return 'no coordinates\n'
  const lines = table([
    ['coordinate', 'view', 'corroborators'],
    ...rows.map((r) => [
      `${r.coordinate.volume}/${r.coordinate.destination}/${r.coordinate.origin}`,
      describeComponent(r),
      String(r.corroborators.length),
    ]),
  ])
  const next = page.next === null ? '' : `\nmore: provsync view --offset ${page.next}`
  return `${lines}${next}\n`
}
