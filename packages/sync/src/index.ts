/**
 * @provsync/sync: the libp2p service that keeps provsync stores converged, and `createNode`,
 * a ready-made node (libp2p + LMDB stores + the service).
 *
 * Laid out as js-libp2p lays out a service: this module holds the init, the components and the
 * service interfaces and the factory; the class lives in `provsync.ts`, its defaults in
 * `constants.ts`.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type {
  AbortOptions,
  ComponentLogger,
  Libp2pEvents,
  Metrics,
  PeerId,
  TypedEventTarget,
} from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Registry } from 'prom-client'
import type { Admission } from './admission.js'
import type { HeadsAnnouncement } from './announce.js'
import type { BudgetLimits } from './budget.js'
import type { OffenceReason } from './errors.js'
import type { SyncMetrics } from './metrics.js'
import type { ProtocolLimits } from './protocol/context.js'
import { Provsync } from './provsync.js'
import type { StoreName, SyncedState } from './state.js'

export type { Head, HeadsAnnouncement } from './announce.js'
export { DEFAULT_OFFENDING_REFUSALS, FETCH_PROTOCOL, PUSH_PROTOCOL, RECONCILE_PROTOCOL } from './constants.js'
// What a process running another protocol over streams needs (the light `@provsync/sync/stream`).
export * from './stream.js'

import type { PushStats } from './push.js'
export type { PushStats }
export {
  AddressInUseError,
  IdentityKeyError,
  PeerRevokedError,
  SyncInitError,
  UnsupportedPeerKeyError,
} from './errors.js'
export { IDENTITY_FILE, loadOrCreateIdentity, privateKeySeed, writeIdentity } from './identity.js'
export { ACCEPTED_KINDS, acceptsRecord, laterKindOf } from './kinds.js'
export {
  type MetricsServer,
  type Readiness,
  type ServeMetricsOptions,
  type SyncMetrics,
  serveMetrics,
} from './metrics.js'
export {
  createNode,
  DEFAULT_PUBSUB_OPTIONS,
  type NodeServiceParts,
  type ProvsyncNode,
  type ProvsyncNodeOptions,
} from './node.js'
export { DEFAULT_PROTOCOL_LIMITS, type ProtocolLimits } from './protocol/context.js'
export { emptyPushStats } from './push.js'
export { type StoreName, SYNC_ORDER, type SyncedState } from './state.js'
export {
  NonCanonicalFrameError,
  PROTOCOL_VERSION,
  WireTextError,
  type WireTextProblem,
} from './wire/codec.js'

/** Peers allowed to pull a store: peer ids (strings or PeerId) or raw Ed25519 public keys. */
export type PeerRef = string | PeerId | Uint8Array

export interface ProvsyncServiceInit {
  /** The node's stores (crdt `openNodeState`), or anything honouring the ingest contract. */
  state: SyncedState
  /** Operator public keys of the trust bundle; peers must hold the same set. */
  trust: readonly Uint8Array[]
  /**
   * Per-store allowlist of peers that may pull it. A store a peer may not pull is not offered to
   * it: its reconciliation is refused, which is no offence (the peer cannot know our allowlist).
   *
   * @default undefined (any peer of the network may pull every store)
   */
  allowlist?: Partial<Record<StoreName, readonly PeerRef[]>>
  /**
   * Stores to sync, in sync order.
   *
   * @default SYNC_ORDER (revocations, supersessions, assertions)
   */
  stores?: readonly StoreName[]
  /**
   * Record kinds beyond the first release's this node names in its hello and welcome: a peer is
   * sent no record of a kind it did not name (a first-release node names none). An empty list
   * makes the node name none, as the first release (tests of mixed releases).
   *
   * @default ACCEPTED_KINDS (`supersession/v2`, `assertion/v2`: evidence records)
   */
  kinds?: readonly string[]
  /**
   * The highest sync protocol version this node names in its hello and welcome. A session runs the
   * lower of both sides' versions: 3 runs a whole session on one stream, 2 is the previous
   * release's (fetch streams), so a fleet upgrading in stages may pin 2 until every node runs 3
   * (tests of mixed releases do). Values below 2 or above {@link PROTOCOL_VERSION} are refused.
   *
   * @default PROTOCOL_VERSION (3)
   */
  protocolVersion?: number
  /**
   * Head announcements after local changes (debounced; at most `maxWaitMs` under a stream of
   * changes); false disables them.
   *
   * @default { debounceMs: 500, maxWaitMs: 4 × debounceMs }
   */
  announce?: false | { debounceMs?: number; maxWaitMs?: number }
  /**
   * Sessions that peers' announcements start at once. More announcers wait their turn, each with
   * its latest announcement, and are skipped if our roots match it by then.
   *
   * @default 2
   */
  announcementPulls?: number
  /**
   * Periodic exchange with a random connected peer not exchanged with within the interval; false
   * disables it.
   *
   * @default { intervalMs: 30_000, jitter: 0.2 }
   */
  antiEntropy?: false | { intervalMs?: number; jitter?: number }
  /**
   * Sync with a peer as soon as it connects (the side with the lower peer id starts).
   *
   * @default true
   */
  syncOnConnect?: boolean
  /**
   * Per-peer budgets: sessions, bytes, request rate, offence threshold and block time.
   *
   * @default DEFAULT_BUDGET_LIMITS
   */
  budgets?: Partial<BudgetLimits>
  /**
   * Protocol limits: frame size, keys per request, pipeline depth, timeouts.
   *
   * @default DEFAULT_PROTOCOL_LIMITS
   */
  limits?: Partial<ProtocolLimits>
  /**
   * Inbound streams per connection and protocol, enforced by the libp2p registrar.
   *
   * @default 32
   */
  maxInboundStreams?: number
  /**
   * Outbound streams per connection and protocol, enforced by the libp2p registrar.
   *
   * @default 64
   */
  maxOutboundStreams?: number
  /**
   * Bytes a stream may queue for a slow reader before it is reset (yamux's own default is unbounded).
   *
   * @default 4 MiB
   */
  maxWriteBufferBytes?: number
  /**
   * Bytes one peer can make this node hold (requests buffered while we are busy, answers queued
   * while it does not read) on the streams it opens. Each inbound stream gets an equal share over
   * `budgets.maxSessionsPerPeer` for its read and its write buffer (at least 256 KiB each); a
   * stream past its share is reset, a `buffered-bytes` offence of the peer.
   *
   * @default 16 MiB
   */
  maxBufferedBytesPerPeer?: number
  /**
   * Refusal reasons of crdt's `apply` that count as offences of the peer that sent the record.
   *
   * @default DEFAULT_OFFENDING_REFUSALS
   */
  offendingRefusals?: readonly string[]
  /**
   * Runs each conversation with a peer, an inbound reconcile or fetch stream or a session this
   * node starts, as `conversation(peer, act)`, which must call `act` once and return its result.
   * A harness can so answer each peer from a state of its own: sim's equivocating peer names the
   * remote peer in an `AsyncLocalStorage` that its lying state reads.
   *
   * @default undefined (conversations run as they are)
   */
  conversation?: <T>(peer: PeerId, act: () => Promise<T>) => Promise<T>
  /**
   * Closed network: the credential this node presents in its hello and welcome (its operator-signed
   * `member` grant) and the check of every peer's, e.g. @provsync/artifacts'
   * `memberAdmission({ store, credential })`. A peer not admitted gets a `not-admitted` refusal
   * and nothing else (no stores, roots or records); we say nothing more to a responder we do not
   * admit. Peers without a credential (the previous release) are refused. No offence either way.
   *
   * @default undefined (open network: any peer with the network id and trust bundle)
   */
  admission?: Admission
  /**
   * Registry the sync metrics are registered in.
   *
   * @default a registry of this service's own
   */
  registry?: Registry
  /**
   * Eager push of new records (`/provsync/push/1.0.0`, Plumtree): records written here or pushed
   * to us go whole to eager neighbours after `delayMs`; a push that brings nothing new prunes its
   * link, a session that brings what a lazy neighbour had grafts it back. Announcements of push
   * neighbours start no pull while pushes keep bringing new records (within `lazyWindowMs`);
   * such an announcement is looked at again `lazyWindowMs` later and pulls if its author held
   * more records than we then do. A node keeps `minEagerLinks` eager links (default 2) when it
   * has more neighbours than that. Peers without the protocol (the previous release) sync as
   * before. false disables it.
   *
   * @default false
   */
  push?: false | { delayMs?: number; lazyWindowMs?: number; minEagerLinks?: number }
}

/** What the service takes from libp2p; libp2p refuses to start without the required ones. */
export interface ProvsyncComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
  /** The gossipsub service, registered as `pubsub` in libp2p's services. */
  pubsub: GossipSub
  /** libp2p's metrics, when the node has them. */
  metrics?: Metrics
}

export type SyncDirection = 'outbound' | 'inbound'
/**
 * Why an outbound session ran. `reverse`: a peer that accepts fewer record kinds was refused
 * stores it could not pull from us, and we reconcile them with it from our side (kinds.ts).
 */
export type SyncReason = 'manual' | 'announcement' | 'anti-entropy' | 'connect' | 'reverse'

export interface SyncStarted {
  peer: PeerId
  direction: SyncDirection
  reason: SyncReason | 'remote'
}

export interface SyncReport extends SyncStarted {
  rounds: number
  bytesIn: number
  bytesOut: number
  /** Records this node pulled and what became of them. */
  pulled: number
  applied: number
  refused: number
  refusedByReason: Record<string, number>
  /** Time spent applying what was pulled (verification and transactions); the rest is transfer. */
  applyMs: number
  /** Records the remote applied from our offer (outbound sessions). */
  remoteApplied: number
  durationMs: number
  error?: Error
}

export interface OffenceEvent {
  peer: PeerId
  reason: OffenceReason
  detail: string
  recent: number
  blocked: boolean
}

/** A failed attempt to reach or sync with a peer that was not the peer's offence. */
export interface PeerFailure {
  peer: PeerId
  atMs: number
  reason: string
}

export interface ProvsyncEvents {
  'sync:started': CustomEvent<SyncStarted>
  'sync:finished': CustomEvent<SyncReport>
  'peer:offence': CustomEvent<OffenceEvent>
  'peer:blocked': CustomEvent<{ peer: PeerId; untilMs: number }>
  /** A dial or an outbound session failed without the peer being to blame; also its `lastFailure`. */
  'peer:failure': CustomEvent<PeerFailure>
  'heads:announced': CustomEvent<HeadsAnnouncement>
  'heads:received': CustomEvent<{ peer: PeerId; announcement: HeadsAnnouncement; differing: StoreName[] }>
}

export interface PeerSyncStatus {
  peer: string
  lastSyncMs?: number
  blockedUntilMs?: number
  offences: Record<OffenceReason, number>
  /** The last failure to reach or sync with this peer that was not its offence. */
  lastFailure?: { atMs: number; reason: string }
}

export interface ProvsyncService extends TypedEventTarget<ProvsyncEvents> {
  readonly networkId: string
  readonly topic: string
  readonly metrics: SyncMetrics
  /** One exchange with `peer`: both sides pull what they lack; resolves when both pulls are done. */
  syncWith(peer: PeerId, options?: AbortOptions & { reason?: SyncReason }): Promise<SyncReport>
  /** Publishes this node's roots now instead of after the debounce. */
  announce(options?: AbortOptions): Promise<void>
  isBlocked(peer: PeerId): boolean
  unblock(peer: PeerId): void
  /**
   * Puts another trust bundle (operator keys) in force: the next hello and announcement carry its
   * hash. For a rotation that took effect (@provsync/artifacts' `trust:rotated`); true when the
   * hash changed. Peers still on the other bundle are refused as `wrong-network`, without offence.
   */
  setTrust(operatorKeys: readonly Uint8Array[]): boolean
  /** The hash of the trust bundle in force, as hellos and announcements carry it. */
  trustHash(): Uint8Array
  /** Whether this node applied a revocation of the peer's key (and no reinstatement since). */
  isRevoked(peer: PeerId): boolean
  /** Blocked or revoked: its connections are closed and refused. */
  isRefused(peer: PeerId): boolean
  offences(peer?: PeerId): Record<OffenceReason, number>
  /** Notes a failure to reach `peer` (e.g. a dial): logged, kept as its `lastFailure`, `peer:failure`. */
  noteFailure(peer: PeerId, reason: string): void
  /** Connected peers and peers synced with or failed to reach, with their status. */
  peers(): PeerSyncStatus[]
  /** Eager push counters (frames and records sent, received, applied, duplicates, prunes, grafts); undefined without `push`. */
  pushStats(): PushStats | undefined
  /** Push neighbours (peer ids) by the state of their link: eager (in the tree) or lazy; undefined without `push`. */
  pushLinks(): { eager: string[]; lazy: string[] } | undefined
}

/**
 * The provsync libp2p service. Add it to `services` next to identify and gossipsub (as `pubsub`):
 * `services: { identify: identify(), pubsub: gossipsub(), provsync: provsync({ state, trust }) }`.
 */
export function provsync(init: ProvsyncServiceInit): (components: ProvsyncComponents) => ProvsyncService {
  return (components) => new Provsync(components, init)
}
