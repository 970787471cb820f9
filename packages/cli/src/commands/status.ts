import type { status as statusHandler } from '../control/handlers.js'
import { ago, table } from '../io.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export type StatusView = ReturnType<typeof statusHandler>

export const status: Command = {
  spec: {
    name: 'status',
    summary:
      'Show the running node: roots and counts per store, connected peers, last sync and lag per peer.',
    positionals: [],
    options: { 'data-dir': dataDirOption, json: jsonOption },
  },
  async run(args, io) {
    const view = await ask<StatusView>(args, io, 'status')
    printView(args, io, view, formatStatus)
    return 0
  },
}

export function formatStatus(view: StatusView, now: number = Date.now()): string {
  const { ledger } = view
  const lines = [
    `node ${view.peerId} on network ${JSON.stringify(view.networkId)}, up ${Math.round(view.uptimeMs / 1000)}s`,
    // A node of an earlier release sends no warnings.
    ...(view.warnings ?? []).map((w) => `  warning    ${w}`),
    ...view.addresses.map((a) => `  listening  ${a}`),
    `  data dir   ${view.dataDir}`,
    '',
    table([['store', 'records', 'root'], ...view.stores.map((s) => [s.store, String(s.count), s.root])]),
    '',
    `view: ${view.view.coordinates} coordinates, history #${view.history.latestSeq}`,
    `ledger: #${ledger.latestSeq}, ${ledger.revocations} revocations, ${ledger.reinstatements} reinstatements, ` +
      `${ledger.invalidated} records invalidated, ${ledger.restored} restored`,
    '',
  ]
  if (view.peers.length === 0) lines.push('peers: none')
  else {
    lines.push(
      table([
        ['peer', 'connected', 'last sync', 'lag', 'pending'],
        ...view.peers.map((p) => [
          p.peer,
          p.connected ? 'yes' : 'no',
          p.lastSyncMs === null ? 'never' : ago(p.lastSyncMs, now),
          p.lagMs === null ? '-' : `${(p.lagMs / 1000).toFixed(1)}s`,
          p.blockedUntilMs !== null && p.blockedUntilMs > now
            ? 'blocked'
            : p.pendingStores.length > 0
              ? p.pendingStores.join(',')
              : '-',
        ]),
      ]),
    )
  }
  return `${lines.join('\n')}\n`
}
