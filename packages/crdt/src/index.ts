export { blake3, fromHex, toHex } from './bytes.js'
export {
  type CheckDataFilesOptions,
  checkDataFiles,
  DamagedDataFileError,
  type DataFileReport,
} from './check-files.js'
export { type Coordinate, decodeCoordinate, encodeCoordinate, formatCoordinate } from './codec/coordinate.js'
export {
  decodeInvalidation,
  encodeInvalidation,
  type Invalidation,
  type InvalidationAction,
  invalidationHash,
  signInvalidation,
  type UnsignedInvalidation,
} from './codec/invalidation.js'
export {
  type AnyRecord,
  type Assertion,
  decodeAssertion,
  decodeRecord,
  decodeRevocation,
  decodeSupersession,
  EVIDENCE_ID_BYTES,
  EVIDENCE_RECORD_VERSION,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  MAX_RECORD_BYTES,
  RECORD_VERSION,
  type RecordType,
  type Revocation,
  type RevocationAction,
  recordHash,
  type SubjectKind,
  type Supersession,
  type SupersessionKind,
  signAssertion,
  signedMessage,
  signRevocation,
  signSupersession,
  type Unsigned,
  verifyAssertion,
  verifyRevocation,
  verifySupersession,
} from './codec/records.js'
export { NonCanonicalTextError, type TextProblem, textProblem } from './codec/text.js'
export { LEGACY_STORE_NAMES, STORE_NAMES, type StoreName } from './context.js'
export { compileCriteria, type InvalidationCriteria, type Matchable } from './criteria.js'
export { SCHEMA_VERSION } from './db.js'
export type { Cause, HistoryEntry } from './durability.js'
export {
  BadSignatureError,
  CrdtError,
  FarFutureError,
  InvalidArgumentError,
  InvalidRunError,
  LedgerImportError,
  MalformedRecordError,
  OversizedFieldError,
  RecordRefusedError,
  type RefusalReason,
  RevokedSignerError,
  SchemaVersionError,
  StateClosedError,
  UnknownKindError,
  UntrustedOperatorError,
  WrongNetworkError,
} from './errors.js'
export {
  anyEvidence,
  atLeastAsserters,
  type GateDecision,
  type GateEvidence,
  type GateOptions,
  type GatePolicy,
  ignoring,
  locallyVerifiedOnly,
} from './gate.js'
export type { ApplyOptions, ApplyOutcome } from './ingest.js'
export type { InvalidationApi, StoredInvalidation } from './invalidations.js'
export { assertionKey, networkTag, nodeIdFor } from './keys.js'
export type {
  LedgerEntry,
  LedgerKind,
  LedgerOrigin,
  LedgerResult,
  LedgerSource,
  LedgerSubjectKind,
} from './ledger.js'
export type { LedgerApi, LedgerTotals } from './ledger-api.js'
export type { RecordRange, StoredRecord } from './membership.js'
export type { ApplyingBatch, ApplyPath, ObservedBatch, StateObserver } from './observers.js'
export {
  DEFAULT_READER_LIMITS,
  type LmdbReader,
  oldestReader,
  parseReaderList,
  pollReaders,
  type ReaderHealth,
  type ReaderLimits,
  type ReaderSource,
  ReaderWatch,
  readerWarning,
} from './reader-health.js'
export type { StoredRevocation } from './revocations.js'
export { generateSigner, type Signer, signerFromSeed, verifySignature } from './signing.js'
export {
  type AdvanceResult,
  type AppliedBatch,
  type NodeState,
  type NodeStateOptions,
  type OpenNodeStateOptions,
  openNodeState,
  type RevokeRequest,
  type VerifiableStore,
  type VerifiedRecords,
  type ViewEntry,
} from './state.js'
export type { Chain, ChainEnd, StoredSupersession, SupersessionQueries, TimeBound } from './supersessions.js'
export {
  acquireSharedVerifier,
  type BatchVerifier,
  createBatchVerifier,
  defaultVerifyThreads,
  type StartOptions,
  type StreamingJob,
  streamingJob,
  type VerifyItem,
  type VerifyJob,
} from './verify-pool.js'
export { type StateCheck, type StoreCheck, type VerifyStateOptions, verifyState } from './verify-state.js'
export {
  type AssertionEvidence,
  type CauseType,
  type ChangeKind,
  type Component,
  deriveComponent,
  type LocalEvidence,
  type Provenance,
} from './view.js'
export {
  WriteFailedError,
  type WriteFailureCode,
  type WriteHealth,
  WritesSuspendedError,
} from './write-health.js'
