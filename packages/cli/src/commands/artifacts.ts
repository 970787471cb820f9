import { flagOption, stringOption } from '../args.js'
import type { listArtifacts } from '../control/artifacts.js'
import { UsageError } from '../errors.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

type Artifacts = typeof import('@provsync/artifacts/records')
export type ArtifactsView = ReturnType<typeof listArtifacts>

export const operatorKeyOption = {
  type: 'string',
  short: 'k',
  value: '<file>',
  description: 'operator key file from the trust bundle (required)',
} as const

/** A scope or scope prefix as the record codec accepts it (segments of a-z 0-9 . _ -). */
export function checkScopeArg(lib: Artifacts, command: string, name: string, text: string): string {
  try {
    return lib.checkScope(text)
  } catch (err) {
    const detail = (err as { detail?: string }).detail ?? (err as Error).message
    throw new UsageError(command, `${name} '${text}' is not a scope: ${detail}`)
  }
}

export const artifacts: Command = {
  spec: {
    name: 'artifacts',
    summary: 'List the scopes this node holds with their roots and current versions; --health for counters.',
    positionals: [],
    options: {
      'data-dir': dataDirOption,
      scope: { type: 'string', short: 's', value: '<scope>', description: 'only this exact scope' },
      health: {
        type: 'boolean',
        description: 'add records, current versions and version gaps per scope, and refusals by reason',
      },
      json: jsonOption,
    },
    details: `
A node stores only the scopes its live hold grant covers; a scope it does not hold is not
listed (and --scope of one lists nothing). Versions are shown as epoch/version; "stale" marks an
answer given from local state while the scope is not fresh.`,
  },
  async run(args, io) {
    const scope = stringOption(args, 'scope')
    if (scope !== undefined)
      checkScopeArg(await import('@provsync/artifacts/records'), args.command, '--scope', scope)
    const view = await ask<ArtifactsView>(args, io, 'artifacts', {
      ...(scope !== undefined ? { scope } : {}),
      health: flagOption(args, 'health'),
    })
    printView(args, io, view, formatArtifacts)
    return 0
  },
}

export function formatArtifacts(view: ArtifactsView): string {
  const lines = [`node ${view.nodeKey}: ${view.scopes.length} scope${view.scopes.length === 1 ? '' : 's'}`]
  for (const s of view.scopes) {
    const figures =
      'records' in s ? `  ${s.records} records, ${s.current} current, ${s.gaps} version gaps` : ''
    lines.push(`${s.scope}  root ${s.root.slice(0, 16)}${figures}`)
    for (const e of s.entries) {
      const version = e.version !== undefined ? ` ${e.epoch}/${e.version}` : ''
      lines.push(`  ${e.family}/${e.name}  ${e.status}${version}${e.stale ? ' (stale)' : ''}`)
    }
  }
  if (view.health !== undefined) {
    const h = view.health
    const refused = Object.entries(h.refused).map(([reason, n]) => `${reason} ${n}`)
    lines.push(`applied ${h.applied}, duplicate ${h.duplicate}, operator records ${h.operatorRecords}`)
    lines.push(`refused: ${refused.length === 0 ? 'none' : refused.join(', ')}`)
  }
  return `${lines.join('\n')}\n`
}
