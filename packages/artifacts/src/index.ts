export { Authority, NO_REVOCATIONS, type RevocationSource } from './authority.js'
export {
  type CheckContext,
  type CheckResult,
  checkArtifact,
  checkOperatorRecord,
  isAdmissible,
} from './checks.js'
export {
  checkFamily,
  EMPTY_HASH,
  encodeRecord,
  MAX_GRANT_SCOPES,
  MAX_INLINE_BYTES,
  MAX_NAME_BYTES,
  MAX_REASON_BYTES,
  MAX_RECORD_BYTES,
  RECORD_VERSION,
  recordKindOf,
} from './codec/records.js'
export {
  type ArtifactInput,
  type Decoded,
  decodeRecord,
  type GrantInput,
  type IssueTime,
  type ScopeEpochInput,
  signArtifact,
  signedMessage,
  signedPrefix,
  signGrant,
  signScopeEpoch,
  signWithdrawal,
  verifyDecoded,
  verifyItem,
  type WithdrawalInput,
} from './codec/signed.js'
export { checkText } from './codec/text.js'
export {
  type AnyRecord,
  type Artifact,
  type BlobRef,
  type Grant,
  type RecordKind,
  RIGHTS,
  type Right,
  type ScopeEpoch,
  signerOf,
  type Withdrawal,
} from './codec/types.js'
export {
  createDecisionCache,
  DECISION_FAMILY,
  type DecisionCache,
  type DecisionCacheOptions,
  type DecisionCounters,
  type DecisionEntry,
  type DecisionGet,
} from './decisions.js'
export {
  ArtifactError,
  type ArtifactRefusal,
  ArtifactRefusedError,
  InvalidArgumentError,
  InvalidScopeError,
  InvalidTextError,
  MalformedRecordError,
  OversizedFieldError,
  REFUSAL_REASONS,
  StoreClosedError,
  TrustChainError,
  type TrustLinkRefusal,
} from './errors.js'
export { type Materialized, materialize } from './materialize.js'
export {
  type ArtifactMetrics,
  type ArtifactMetricsOptions,
  createArtifactMetrics,
  type DenialReason,
  type FetchFailure,
  OTHER_SCOPE,
  scopeFigures,
} from './metrics.js'
export { checkScope, coveredByAny, covers, isScope, MAX_SCOPE_LENGTH, MAX_SCOPE_SEGMENTS } from './scope.js'
export { type CurrentResult, compareVersions, describeWinner, selectWinner, type Version } from './select.js'
export { type MemberAdmissionOptions, memberAdmission } from './service/admission.js'
export {
  ARTIFACT_SYNC_PROTOCOL,
  ARTIFACT_SYNC_VERSION,
  DEFAULT_TRUST_NAME,
  DEFAULT_TRUST_SCOPE,
} from './service/constants.js'
export {
  ARTIFACT_OFFENCES,
  ARTIFACT_SYNC_REFUSALS,
  type ArtifactOffence,
  ArtifactProtocolError,
  ArtifactSyncError,
  type ArtifactSyncRefusal,
  ArtifactSyncRefusedError,
  PeerNotAdmittedError,
} from './service/errors.js'
export { type ScopeFreshness, type ScopeFreshnessOptions, scopeFreshness } from './service/freshness.js'
export {
  GATE_THRESHOLDS,
  type GossipGate,
  memberGossipGate,
  NON_MEMBER_SCORE,
} from './service/gossip-gate.js'
export {
  type ArtifactOffenceEvent,
  type ArtifactPeerRootsEvent,
  type ArtifactRefusalEvent,
  type ArtifactSyncComponents,
  type ArtifactSyncCounters,
  type ArtifactSyncEvents,
  type ArtifactSyncInit,
  type ArtifactSyncLimits,
  type ArtifactSyncReport,
  type ArtifactSyncService,
  artifactSync,
} from './service/index.js'
export { followTrustInSync, type TrustTarget } from './service/rotate.js'
export type { SessionReport } from './service/session.js'
export {
  type ArtifactMessage,
  decodeArtifactMessage,
  encodeArtifactMessage,
  MalformedArtifactFrameError,
} from './service/wire.js'
export type { ApplyOptions, ApplyOutcome } from './store/apply.js'
export type { ApplyCounters } from './store/context.js'
export type { ViewCause, ViewChange, ViewChangeKind } from './store/history.js'
export type { CurrentOptions, HistoryEntry, ListEntry } from './store/queries.js'
export { type ArtifactStore, type ArtifactStoreOptions, openArtifactStore } from './store/store.js'
export type { StoredVersion } from './store/view.js'
export {
  type BundleContent,
  type BundleSignature,
  decodeBundleContent,
  encodeBundleContent,
  followTrustChain,
  MAX_BUNDLE_KEYS,
  MAX_BUNDLE_SIGNATURES,
  signTrustBundle,
  TRUST_BUNDLE_FAMILY,
  type TrustBundle,
  type TrustChainResult,
  trustBundleStatement,
  verifyTrustLink,
} from './trust.js'
