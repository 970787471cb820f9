/**
 * `@provsync/sync/stream`: what a process running another provsync protocol over libp2p streams
 * (@provsync/blobs, @provsync/bundles) takes from sync — errors, admission and trust checks,
 * per-peer budgets, deadlines, framing and framed conversations — without the node: this module's
 * graph loads neither gossipsub, nor @provsync/crdt, nor libp2p itself (`test/stream-entry.test.ts`
 * checks it). Measured (session 11, issue #15): importing the package index adds ~31 MiB of RSS to
 * a blob-only process, because the index loads `createNode` and with it gossipsub and crdt.
 * Every name here is the same binding as the index's (one module instance in a process).
 */
export { type Admission, MAX_CREDENTIAL_BYTES } from './admission.js'
export {
  type BudgetLimits,
  createPeerBudgets,
  DEFAULT_BUDGET_LIMITS,
  type OffenceOutcome,
  type PeerBudgets,
} from './budget.js'
export {
  createStallClock,
  type Deadline,
  IdleDeadline,
  resetThreadStallClock,
  type StallClock,
  startDeadline,
  threadStallClock,
} from './deadline.js'
export {
  BudgetExceededError,
  FrameTooLargeError,
  MalformedFrameError,
  NetworkMismatchError,
  NotAdmittedError,
  OFFENCE_REASONS,
  type OffenceReason,
  PeerBlockedError,
  ProtocolViolationError,
  type RefusalCode,
  RefusedError,
  SyncError,
  UnexpectedEndError,
} from './errors.js'
export {
  type ConversationCodec,
  type ConversationLimits,
  FramedConversation,
} from './framed-conversation.js'
export {
  DEFAULT_MAX_FRAME_BYTES,
  decodeLength,
  encodeFrame,
  encodeLength,
  type FramedStream,
  type FramedStreamOptions,
  framedStream,
  type StreamInbox,
  sendFrames,
  streamInbox,
} from './framing.js'
export { TrustBundleMismatchError, trustBundleHash } from './trust.js'
