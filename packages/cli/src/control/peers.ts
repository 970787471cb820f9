import type { PeerSyncStatus } from '@provsync/sync'
import { keyOfPeerId } from '../identity.js'
import type { NodeContext } from './handlers.js'

/**
 * The last failed sync with a peer. Sync's `PeerSyncStatus` carries it as the optional
 * `lastFailure`; it is read through this shape so a sync that does not report it yet shows none.
 */
export interface LastFailure {
  readonly atMs: number
  readonly reason: string
}

type PeerStatusWithFailure = PeerSyncStatus & { readonly lastFailure?: LastFailure }

export interface PeerView {
  readonly peer: string
  readonly connected: boolean
  readonly blocked: boolean
  readonly blockedUntilMs: number | null
  /** The peer's key is revoked by a ledger entry in force on this node. */
  readonly revoked: boolean
  readonly lastSyncMs: number | null
  readonly lagMs: number | null
  readonly lastFailure: LastFailure | null
  /** Stores the peer's last announcement differed in, when no sync has happened since. */
  readonly pendingStores: string[]
  readonly offences: Record<string, number>
}

/** Every peer this node knows: connected now, synced with, failed with, or blocked. */
export function peerViews(ctx: NodeContext): PeerView[] {
  const { node } = ctx
  const now = ctx.now?.() ?? Date.now()
  const connected = new Set(node.libp2p.getPeers().map((p) => p.toString()))
  const known = new Map<string, PeerStatusWithFailure | undefined>(node.sync.peers().map((p) => [p.peer, p]))
  for (const peer of connected) if (!known.has(peer)) known.set(peer, undefined)
  return [...known]
    .map(([peer, sync]): PeerView => {
      const heads = ctx.peerHeads.get(peer)
      const lastSyncMs = sync?.lastSyncMs ?? null
      const stale = heads !== undefined && (lastSyncMs === null || heads.atMs > lastSyncMs)
      const key = keyOfPeerId(peer)
      const blockedUntilMs = sync?.blockedUntilMs ?? null
      return {
        peer,
        connected: connected.has(peer),
        blocked: blockedUntilMs !== null && blockedUntilMs > now,
        blockedUntilMs,
        revoked: key !== undefined && node.state.revocations.isRevoked(key),
        lastSyncMs,
        lagMs: lastSyncMs === null ? null : Math.max(0, now - lastSyncMs),
        lastFailure: sync?.lastFailure ?? null,
        pendingStores: stale ? [...heads.differing] : [],
        offences: Object.fromEntries(Object.entries(sync?.offences ?? {}).filter(([, n]) => n > 0)),
      }
    })
    .sort((a, b) => a.peer.localeCompare(b.peer))
}
