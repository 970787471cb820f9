/**
 * @provsync/sync: the libp2p service that keeps provsync stores converged, and `createNode`,
 * a ready-made node (libp2p + LMDB stores + the service).
 */
export {
  checkAnnouncement,
  differingStores,
  type Head,
  type HeadsAnnouncement,
  localHeads,
} from './announce.js'
export {
  type BudgetLimits,
  createPeerBudgets,
  DEFAULT_BUDGET_LIMITS,
  type OffenceOutcome,
  type PeerBudgets,
} from './budget.js'
export { type Deadline, startDeadline, withDeadline } from './deadline.js'
export { createDebouncer, type Debouncer, jittered, type Timers } from './debounce.js'
export {
  BudgetExceededError,
  FrameTooLargeError,
  IdentityKeyError,
  MalformedFrameError,
  NetworkMismatchError,
  OFFENCE_REASONS,
  type OffenceReason,
  PeerBlockedError,
  ProtocolViolationError,
  REFUSAL_CODES,
  type RefusalCode,
  RefusedError,
  SyncError,
  UnexpectedEndError,
  UnsupportedPeerKeyError,
} from './errors.js'
export { DEFAULT_MAX_FRAME_BYTES, encodeLength, type FramedStream, framedStream } from './framing.js'
export { IDENTITY_FILE, loadOrCreateIdentity, peerPublicKey, privateKeySeed } from './identity.js'
export { createSyncMetrics, type MetricsServer, type SyncMetrics, serveMetrics } from './metrics.js'
export { createNode, DEFAULT_PUBSUB_OPTIONS, type ProvsyncNode, type ProvsyncNodeOptions } from './node.js'
export { DEFAULT_PROTOCOL_LIMITS, type ProtocolLimits } from './protocol/context.js'
export {
  DEFAULT_OFFENDING_REFUSALS,
  FETCH_PROTOCOL,
  headsTopic,
  type OffenceEvent,
  offenceFor,
  type PeerRef,
  type PeerSyncStatus,
  type ProvsyncComponents,
  type ProvsyncEvents,
  type ProvsyncService,
  type ProvsyncServiceInit,
  provsync,
  RECONCILE_PROTOCOL,
  type SyncDirection,
  type SyncReason,
  type SyncReport,
  type SyncStarted,
} from './service.js'
export { isStoreName, type StoreName, SYNC_ORDER, type SyncedState } from './state.js'
export { trustBundleHash } from './trust.js'
