export {
  type BlobSelection,
  MAX_BLOB_MANIFEST_BYTES,
} from './blob-parts.js'
export {
  type Envelope,
  type EnvelopeSignature,
  encodeEnvelope,
  openEnvelope,
  pae,
  signEnvelope,
  type VerifiedEnvelope,
  type VerifyOptions,
  verifyEnvelope,
} from './dsse.js'
export {
  BadBlobError,
  BadRecordError,
  BundleChangedError,
  BundleError,
  BundleFormatError,
  EnvelopeFormatError,
  ExtraDataError,
  LedgerRefusedError,
  MissingPartError,
  PartMismatchError,
  PendingImportError,
  ReplayedBundleError,
  SignatureThresholdError,
  UnsupportedPartError,
  WrongNetworkBundleError,
} from './errors.js'
export { type ExportOptions, type ExportResult, exportBundle } from './export.js'
export {
  BUNDLE_STORES,
  type BundleManifest,
  DENSITIES,
  type Density,
  IMPORT_BATCH,
  MAGIC,
  PAYLOAD_TYPE,
  type PartEntry,
  type PartKind,
  parseManifest,
} from './format.js'
export { type ImportOptions, type ImportResult, importBundle, type OutcomeCounts } from './import.js'
export { type InspectedBundle, type InspectOptions, inspectBundle } from './inspect.js'
export { pendingPath, readPending } from './pending.js'
export { checkReplay, type ImportRecord, loadRegistry, type ReplayRegistry } from './registry.js'
