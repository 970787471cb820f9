/**
 * The artifact replication service `/provsync/artifacts/1.0.0`, laid out as js-libp2p lays out a
 * service: this module holds the init, the components and the service interfaces and the
 * factory; the class lives in `artifact-sync.ts`, its defaults in `constants.ts`.
 *
 * Plug it into a node: `createNode({ ..., services: () => ({ artifacts: artifactSync({ store }) }) })`.
 */
import type { AbortOptions, ComponentLogger, Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Admission, BudgetLimits } from '@provsync/sync'
import type { ApplyOutcome } from '../store/apply.js'
import type { ArtifactStore } from '../store/store.js'
import type { TrustBundle } from '../trust.js'
import { ArtifactSync } from './artifact-sync.js'
import type { ArtifactOffence, ArtifactSyncRefusal } from './errors.js'
import type { ScopeFreshness } from './freshness.js'
import type { SessionReport } from './session.js'

export interface ArtifactSyncLimits {
  /** Time to get one frame written or one answer back. @default 10_000 */
  requestTimeoutMs: number
  /** Time to wait for the remote's next frame. @default 30_000 */
  idleTimeoutMs: number
  /** Time one whole session may take. @default 600_000 */
  sessionTimeoutMs: number
  /** Concurrent inbound sessions per peer; one more is refused and an offence. @default 4 */
  maxSessionsPerPeer: number
  /** Records per `store.apply` call (one transaction). @default 1024 */
  applyBatch: number
}

export interface ArtifactSyncInit {
  /** The node's artifact store (`openArtifactStore`); its network id is the session's. */
  store: ArtifactStore
  /**
   * Closed network: the credential this node presents and the check of the peer's (e.g.
   * `memberAdmission({ store, credential })`, the same object as sync's `admission`). A peer not
   * admitted is refused before anything else is said.
   *
   * @default undefined (open network: any peer of the network id)
   */
  admission?: Admission
  /**
   * Where the last successful sync per scope is recorded; give the store its `isFresh`.
   *
   * @default scopeFreshness() (a tracker of this service's own, 120 s)
   */
  freshness?: ScopeFreshness
  /**
   * Trust rotation: the bundle in force, and where newer bundles are published (every node should
   * be granted `hold` of that scope). A newer bundle takes effect when `followTrustChain` accepts
   * the link; the store gets its keys (`setTrust`) and `trust:rotated` fires (persist it there).
   *
   * @default undefined (no rotation)
   */
  trust?: { bundle: TrustBundle; scope?: string; name?: string }
  /**
   * Periodic anti-entropy: a session with each connected peer not synced within the interval, and
   * `store.refresh()` (grant expiry drops scopes); false disables it.
   *
   * @default { intervalMs: 30_000, jitter: 0.2 }
   */
  antiEntropy?: false | { intervalMs?: number; jitter?: number }
  /**
   * Sync with a peer once identify says it speaks the protocol (the lower peer id starts).
   *
   * @default true
   */
  syncOnConnect?: boolean
  /**
   * After records change the store (a publish, records applied from a peer), start sessions with
   * every other connected peer after `debounceMs`; false disables it.
   *
   * @default { debounceMs: 20 }
   */
  propagate?: false | { debounceMs?: number }
  /** @default see ArtifactSyncLimits */
  limits?: Partial<ArtifactSyncLimits>
  /** Offence threshold, window and block time, as sync's budgets. @default DEFAULT_BUDGET_LIMITS */
  budgets?: Partial<
    Pick<BudgetLimits, 'offenceThreshold' | 'offenceWindowMs' | 'blockMs' | 'maxTrackedPeers'>
  >
  /** Inbound streams per connection, enforced by the registrar. @default 16 */
  maxInboundStreams?: number
  /** Outbound streams per connection. @default 16 */
  maxOutboundStreams?: number
  /**
   * Test hooks: what a hostile node does to records before they leave it (`outgoing`), and every
   * frame body a session sends or receives (`frames`).
   *
   * @default undefined
   */
  faults?: {
    outgoing?: (scope: string, records: Uint8Array[]) => Uint8Array[]
    frames?: (side: 'sent' | 'received', peer: string, bytes: Uint8Array) => void
  }
}

export interface ArtifactSyncComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
}

export interface ArtifactSyncReport extends SessionReport {
  peer: string
  direction: 'outbound' | 'inbound'
  bytesIn: number
  bytesOut: number
  durationMs: number
  error?: Error
}

export interface ArtifactOffenceEvent {
  peer: string
  reason: ArtifactOffence
  detail: string
  /**
   * Records of one batch told this lie (1 for a lie that is not about records). The budgets
   * count one offence per reason per batch; this says exactly how many records it covered.
   */
  records: number
  /** This offence crossed the threshold and blocked the peer. */
  blocked: boolean
}

export interface ArtifactRefusalEvent {
  peer: string
  code: ArtifactSyncRefusal | 'unknown'
  /** `sent`: we refused the peer; `received`: it refused us. */
  side: 'sent' | 'received'
}

/**
 * A peer's scope list, narrowed to the scopes this node holds: `roots` is everything now known of
 * it and replaces what it listed before (empty: the peer disconnected, nothing is known).
 */
export interface ArtifactPeerRootsEvent {
  peer: string
  roots: ReadonlyMap<string, Uint8Array>
}

export interface ArtifactSyncEvents {
  'artifacts:synced': CustomEvent<ArtifactSyncReport>
  'artifacts:peer-roots': CustomEvent<ArtifactPeerRootsEvent>
  'artifacts:offence': CustomEvent<ArtifactOffenceEvent>
  'artifacts:refusal': CustomEvent<ArtifactRefusalEvent>
  'trust:rotated': CustomEvent<{ bundle: TrustBundle; applied: readonly bigint[] }>
}

export interface ArtifactSyncCounters {
  sessions: { ok: number; failed: number }
  applied: number
  pushed: number
  bytesIn: number
  bytesOut: number
  /** Refusals we sent and received, by code. */
  refusals: { sent: Record<string, number>; received: Record<string, number> }
  /** Offences of all peers, by reason. */
  offences: Record<ArtifactOffence, number>
  /** Trust-chain links refused, by reason (replays not counted). */
  trustLinksRefused: Record<string, number>
}

export interface ArtifactSyncService extends TypedEventTarget<ArtifactSyncEvents> {
  readonly store: ArtifactStore
  readonly freshness: ScopeFreshness
  readonly counters: Readonly<ArtifactSyncCounters>
  /** One session with `peer`: both sides end with each other's operator records and shared scopes. */
  syncWith(peer: PeerId, options?: AbortOptions): Promise<ArtifactSyncReport>
  /** Applies records made here (published artifacts, grants) and propagates them to connected peers. */
  publish(records: readonly Uint8Array[]): Promise<ApplyOutcome[]>
  /** The trust bundle in force (undefined without `trust`). */
  trustBundle(): TrustBundle | undefined
  /**
   * The root each peer last listed for `scope` (its scope list in the last session with it), by
   * peer id; empty unless this node holds `scope`. A peer is forgotten when it disconnects and
   * when its next list leaves the scope out; a root is as of the start of that session, so two
   * holders converged by a session show equal roots from the next one on.
   */
  peerRoots(scope: string): Map<string, Uint8Array>
  offences(peer?: PeerId | string): Partial<Record<ArtifactOffence, number>>
  isBlocked(peer: PeerId | string): boolean
}

/** The artifact replication service: `services: { artifacts: artifactSync({ store }) }`. */
export function artifactSync(
  init: ArtifactSyncInit,
): (components: ArtifactSyncComponents) => ArtifactSyncService {
  return (components) => new ArtifactSync(components, init)
}
