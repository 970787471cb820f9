import type { connect as connectHandler, unblock as unblockHandler } from '../control/admin.js'
import type { PeerView } from '../control/peers.js'
import { ago, table } from '../io.js'
import { type Command, dataDirOption, jsonOption, printView } from './command.js'
import { ask } from './remote.js'

export const peers: Command = {
  spec: {
    name: 'peers',
    summary: 'List peers: connected, blocked, revoked, last sync, and the last failure and why.',
    positionals: [],
    options: { 'data-dir': dataDirOption, json: jsonOption },
  },
  async run(args, io) {
    printView(args, io, await ask<{ peers: PeerView[] }>(args, io, 'peers'), (v) => formatPeers(v.peers))
    return 0
  },
}

export function formatPeers(list: readonly PeerView[], now: number = Date.now()): string {
  if (list.length === 0) return 'no peers\n'
  const rows = list.map((p) => [
    p.peer,
    p.connected ? 'yes' : 'no',
    p.blocked ? `until ${new Date(p.blockedUntilMs!).toISOString()}` : 'no',
    p.revoked ? 'yes' : 'no',
    ago(p.lastSyncMs ?? undefined, now),
    p.lastFailure === null ? '-' : `${ago(p.lastFailure.atMs, now)}: ${p.lastFailure.reason}`,
  ])
  return `${table([['peer', 'connected', 'blocked', 'revoked', 'last sync', 'last failure'], ...rows])}\n`
}

export const unblock: Command = {
  spec: {
    name: 'unblock',
    summary: 'Let a blocked peer sync again now, before its block runs out.',
    positionals: ['peer'],
    options: { 'data-dir': dataDirOption, json: jsonOption },
  },
  async run(args, io) {
    const { parsePeer } = await import('./revoke.js')
    await parsePeer(args.command, '<peer>', args.positionals[0]!)
    const view = await ask<Awaited<ReturnType<typeof unblockHandler>>>(args, io, 'unblock', {
      peer: args.positionals[0],
    })
    printView(args, io, view, (v) => `${v.wasBlocked ? 'unblocked' : 'was not blocked:'} ${v.peer}\n`)
    return 0
  },
}

export const connect: Command = {
  spec: {
    name: 'connect',
    summary: 'Dial a peer now by its multiaddr (…/tcp/<port>/p2p/<peer id>).',
    positionals: ['multiaddr'],
    options: { 'data-dir': dataDirOption, json: jsonOption },
  },
  async run(args, io) {
    const { UsageError } = await import('../errors.js')
    const { multiaddr } = await import('@multiformats/multiaddr')
    const address = args.positionals[0]!
    try {
      multiaddr(address)
    } catch {
      throw new UsageError(args.command, `<multiaddr> '${address}' is not a multiaddr`)
    }
    const view = await ask<Awaited<ReturnType<typeof connectHandler>>>(args, io, 'connect', { address })
    printView(args, io, view, (v) => `connected to ${v.peer} at ${v.address}\n`)
    return 0
  },
}
