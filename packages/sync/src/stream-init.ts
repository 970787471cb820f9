import type { PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Admission } from './admission.js'
import type { PeerBudgets } from './budget.js'
import type { OffenceAccounting } from './offences.js'
import type { ProtocolLimits, SessionContext } from './protocol/context.js'
import type { StoreName, SyncedState } from './state.js'

/** What both stream owners of the service (sessions and push) are built with: who we are and the bounds. */
export interface PeerStreamsInit {
  connectionManager: ConnectionManager
  state: SyncedState
  networkId: string
  /** The trust configuration's hash in force; read at each hello, so a rotation reaches the next one. */
  trustHash: Uint8Array
  stores: readonly StoreName[]
  /** The record kinds beyond the first release's this node names in its hellos (kinds.ts). */
  kinds: readonly string[]
  /** The highest sync protocol version this node names in its hellos and welcomes. */
  protocolVersion: number
  limits: ProtocolLimits
  budgets: PeerBudgets
  offendingRefusals: ReadonlySet<string>
  /** Closed network: our credential and the check of peers' (undefined: open network). */
  admission?: Admission | undefined
  offences: OffenceAccounting
  maxWriteBufferBytes: number
  /** Read and write buffer bound of each stream a peer opens (its share of the per-peer bound). */
  inboundStreamBufferBytes: number
  /** May `peer` (id, raw key) pull `store` from us? */
  mayPull(store: StoreName, id: string, key: Uint8Array): boolean
}

/** The part of a session context with `peer` (raw key `key`) that comes from the init alone. */
export type PeerContext = Pick<
  SessionContext,
  | 'state'
  | 'networkId'
  | 'trustHash'
  | 'remote'
  | 'limits'
  | 'offendingRefusals'
  | 'admission'
  | 'stores'
  | 'kinds'
  | 'protocolVersion'
  | 'mayPull'
  | 'takeRequest'
  | 'offend'
>

/** Sessions' and push's shared context fields for one peer; the trust hash is the one in force now. */
export function peerContext(init: PeerStreamsInit, peer: PeerId, key: Uint8Array): PeerContext {
  const id = peer.toString()
  return {
    state: init.state,
    networkId: init.networkId,
    trustHash: init.trustHash,
    remote: { id, key },
    limits: init.limits,
    offendingRefusals: init.offendingRefusals,
    admission: init.admission,
    stores: init.stores,
    kinds: init.kinds,
    protocolVersion: init.protocolVersion,
    mayPull: (store) => init.mayPull(store, id, key),
    takeRequest: () => init.budgets.takeRequest(id),
    offend: (reason, detail) => init.offences.offend(peer, reason, detail),
  }
}
