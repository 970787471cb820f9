import { peerIdFromString } from '@libp2p/peer-id'
import type { ArtifactStore } from '../store/store.js'

/**
 * Gossipsub's score thresholds as provsync's gate relies on them (gossipsub's defaults, pinned so
 * a change of defaults cannot reopen the gate): no gossip below -10, no publishing or flood
 * below -50, every RPC ignored below -80.
 */
export const GATE_THRESHOLDS = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
} as const

/**
 * A peer without a live `member` grant scores this: below the publish threshold (our own
 * announcements are not flooded to it, it is never grafted into our mesh, never gossiped to, its
 * IWANTs go unanswered) but above the graylist, so its subscriptions are still heard and it
 * becomes a recipient as soon as its grant is known (a score is cached for one heartbeat).
 */
export const NON_MEMBER_SCORE = -65

/** Gossipsub options for createNode's `pubsub` (a part of `GossipsubOpts`). */
export interface GossipGate {
  scoreParams: { appSpecificScore(peer: string): number; appSpecificWeight: number }
  scoreThresholds: typeof GATE_THRESHOLDS
}

/**
 * Head announcements of a closed network only to members: gossipsub's application score of a
 * peer is 0 with a live `member` grant in `store` (operator records replicate to every node, so a
 * grant is usually known before its holder connects) and {@link NON_MEMBER_SCORE} otherwise. Pass
 * it as `createNode({ pubsub: memberGossipGate({ store }) })`, with `memberAdmission` as sync's and
 * the artifact service's admission. A peer whose id carries no Ed25519 key is never a member.
 */
export function memberGossipGate(options: { store: ArtifactStore }): GossipGate {
  const { store } = options
  const keys = new Map<string, Uint8Array | null>()
  const keyOf = (peer: string): Uint8Array | null => {
    let key = keys.get(peer)
    if (key === undefined) {
      try {
        const raw = peerIdFromString(peer).publicKey?.raw
        key = raw !== undefined && raw.length === 32 ? raw : null
      } catch {
        key = null
      }
      // Bounded: a peer id costs one parse again after the cache is cleared.
      if (keys.size >= 4096) keys.clear()
      keys.set(peer, key)
    }
    return key
  }
  return {
    scoreParams: {
      appSpecificWeight: 1,
      appSpecificScore: (peer) => {
        const key = keyOf(peer)
        try {
          return key !== null && store.liveGrant(key, 'member') !== undefined ? 0 : NON_MEMBER_SCORE
        } catch {
          return NON_MEMBER_SCORE // the store closed while gossipsub still runs (shutdown)
        }
      },
    },
    scoreThresholds: GATE_THRESHOLDS,
  }
}
