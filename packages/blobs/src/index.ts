/**
 * @provsync/blobs: content too large for a record, cut into verified chunks, stored on the node
 * and fetched lazily from peers over `/provsync/blob/1.0.0`.
 */
export { type BlobSource, chunksOf } from './chunker.js'
export * from './constants.js'
export {
  BlobError,
  BlobNotFoundError,
  BlobRangeError,
  BlobStoreClosedError,
  BlobTooLargeError,
  ChunkMismatchError,
  ChunkUnavailableError,
  InvalidChunkSizeError,
  MalformedManifestError,
  ManifestMismatchError,
} from './errors.js'
export {
  assertChunkSize,
  type BlobRef,
  blobId,
  buildManifest,
  chunkCountOf,
  chunkHashAt,
  chunkLength,
  chunkMatches,
  chunkTreeRoot,
  decodeManifest,
  encodeManifest,
  hashChunk,
  type Manifest,
  parseBlobId,
  toHex,
} from './ids.js'
export {
  BLOB_OFFENCE_REASONS,
  type BlobOffenceReason,
  type ChunkSource,
  type DeliveredChunk,
} from './source.js'
export {
  type BlobStatus,
  BlobStore,
  type BlobStoreOptions,
  type BlobStoreStats,
  type FetchOptions,
  openBlobStore,
  type PutOptions,
  type PutResult,
  type ReadOptions,
  type StoreObserver,
} from './store.js'
