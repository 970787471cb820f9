export { registerWins } from './assertions.js'
export { blake3, fromHex, toHex } from './bytes.js'
export {
  type CheckDataFilesOptions,
  checkDataFiles,
  DamagedDataFileError,
  type DataFileReport,
} from './check-files.js'
export {
  type Coordinate,
  decodeCoordinate,
  encodeCoordinate,
  formatCoordinate,
  MAX_COORDINATE_PART_BYTES,
} from './codec/coordinate.js'
export {
  decodeInvalidation,
  encodeInvalidation,
  INVALIDATION_TAG,
  type Invalidation,
  type InvalidationAction,
  invalidationHash,
  signInvalidation,
  type UnsignedInvalidation,
  verifyInvalidationBytes,
} from './codec/invalidation.js'
export {
  type AnyRecord,
  type Assertion,
  assertRun,
  decodeAssertion,
  decodeRecord,
  decodeRevocation,
  decodeSupersession,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  MAX_METHOD_BYTES,
  MAX_REASON_BYTES,
  MAX_RECORD_BYTES,
  MAX_RUN,
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
  signerOf,
  signRevocation,
  signSupersession,
  type Unsigned,
  verifyAssertion,
  verifyRevocation,
  verifySupersession,
} from './codec/records.js'
export {
  decodeCanonicalText,
  encodeCanonicalText,
  NonCanonicalTextError,
  type TextProblem,
  textProblem,
} from './codec/text.js'
export { LEGACY_STORE_NAMES, STORE_NAMES, type StoreName } from './context.js'
export {
  compileCriteria,
  describeCriteria,
  globToRegExp,
  type InvalidationCriteria,
  type Matchable,
  validateCriteria,
} from './criteria.js'
export { MIGRATIONS, type Migration, SCHEMA_VERSION } from './db.js'
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
  decideGate,
  describeEvidence,
  type GateDecision,
  type GateEvidence,
  type GateInput,
  type GateOptions,
  type GatePolicy,
  ignoring,
  locallyVerifiedOnly,
  validatePolicy,
} from './gate.js'
export type { ApplyOptions, ApplyOutcome } from './ingest.js'
export { type InvalidationApi, invalidationInForce, type StoredInvalidation } from './invalidations.js'
export { assertionKey, coordinateId, networkTag, nodeIdFor } from './keys.js'
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
export { latestRevocation, type StoredRevocation } from './revocations.js'
export { generateSeed, generateSigner, type Signer, signerFromSeed, verifySignature } from './signing.js'
export {
  type AdvanceResult,
  lmdbHighWaterMarkStore,
  type NodeState,
  type NodeStateOptions,
  type OpenNodeStateOptions,
  openNodeState,
  type RevokeRequest,
  type ViewEntry,
} from './state.js'
export type { Chain, ChainEnd, StoredSupersession, SupersessionQueries, TimeBound } from './supersessions.js'
export {
  acquireSharedVerifier,
  type BatchVerifier,
  createBatchVerifier,
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
  classifyChange,
  deriveComponent,
  type LocalEvidence,
  type Provenance,
  sameComponent,
  sameProvenance,
} from './view.js'
export {
  classifyWriteError,
  WriteFailedError,
  type WriteFailureCode,
  type WriteHealth,
  WritesSuspendedError,
} from './write-health.js'
