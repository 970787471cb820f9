/**
 * The records alone (`@provsync/artifacts/records`): codec, signing and scope grammar, without the
 * store and the replication service. A command-line client that only signs records loads this
 * entry: the full one pulls libp2p in, 0.9 s of CPU per process against 0.4 s for crdt alone
 * (`node -e "await import(...)"`, measured on the shared machine).
 */
export {
  checkFamily,
  MAX_GRANT_SCOPES,
  MAX_INLINE_BYTES,
  MAX_NAME_BYTES,
  MAX_REASON_BYTES,
  MAX_RECORD_BYTES,
} from './codec/records.js'
export {
  type ArtifactInput,
  decodeRecord,
  type GrantInput,
  type IssueTime,
  type ScopeEpochInput,
  signArtifact,
  signGrant,
  signScopeEpoch,
  signWithdrawal,
  verifyDecoded,
  type WithdrawalInput,
} from './codec/signed.js'
export { checkText } from './codec/text.js'
export { RIGHTS, type Right } from './codec/types.js'
export { TrustChainError, type TrustLinkRefusal } from './errors.js'
export { checkScope } from './scope.js'
// Trust rotation offline: a proposal's statement, the content from collected signatures, the link check.
export {
  type BundleSignature,
  encodeBundleContent,
  MAX_BUNDLE_KEYS,
  TRUST_BUNDLE_FAMILY,
  type TrustBundle,
  trustBundleStatement,
  verifyTrustLink,
} from './trust.js'
