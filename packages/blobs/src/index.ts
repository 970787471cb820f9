/**
 * @provsync/blobs: content too large for a record, cut into verified chunks, stored on the node
 * and fetched lazily from peers over `/provsync/blob/1.0.0`.
 *
 * `blobs(init)` is a libp2p service: `services: { blobs: blobs({ store, networkId, trust }) }`.
 */
import type { AbortOptions, ComponentLogger, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Admission, BudgetLimits } from '@provsync/sync/stream'
import type { Registry } from 'prom-client'
import type { BlobSource } from './chunker.js'
import type { Manifest } from './ids.js'
import type { BlobMetrics } from './metrics.js'
import type { BlobReferences, MayHoldScope } from './references.js'
import { Blobs } from './service.js'
import type { BlobOffenceReason } from './source.js'
import type { BlobStore, PutOptions, PutResult, ReadOptions } from './store.js'

export { ByteRate } from './byte-rate.js'
export { type BlobSource, chunksOf } from './chunker.js'
export * from './constants.js'
export {
  BlobError,
  BlobNotFoundError,
  BlobProtocolError,
  BlobRangeError,
  BlobRefusedError,
  BlobStoreClosedError,
  BlobTooLargeError,
  ChunkUnavailableError,
  InvalidChunkSizeError,
  MalformedManifestError,
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
export { type BlobMetrics, createBlobMetrics } from './metrics.js'
export { BlobTrustMismatchError } from './protocol/handshake.js'
export {
  type BlobReference,
  BlobReferences,
  type BlobReferencesOptions,
  type MayHoldScope,
  openBlobReferences,
  type ReferenceKind,
  referencePolicy,
} from './references.js'
export {
  BLOB_OFFENCE_REASONS,
  type BlobOffenceReason,
  type ChunkSource,
  type DeliveredChunk,
} from './source.js'
export {
  type BlobListing,
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
export {
  BLOB_REFUSAL_CODES,
  type BlobMessage,
  type BlobRefusalCode,
  decodeBlobMessage,
  encodeBlobMessage,
} from './wire/codec.js'

/** A peer, as a PeerId or its string form. */
export type PeerRef = string | PeerId

export interface BlobLimits {
  /** Chunks one request may ask for; a server refuses more. @default 16 */
  maxChunksPerRequest: number
  /** Chunk requests a client keeps in flight on one stream. @default 2 */
  pipelineDepth: number
  /** Bytes per second one peer may draw from this node; the server waits before sending more. @default 512 MiB */
  bytesPerPeerPerSecond: number
  /** Concurrent inbound blob streams per peer; one more is refused and counted. @default 4 */
  maxStreamsPerPeer: number
  /** Time to get one frame written. @default 10 s */
  requestTimeoutMs: number
  /** Time to wait for the remote's next frame. @default 30 s */
  idleTimeoutMs: number
}

export interface BlobServiceInit {
  /** The node's blob store (`openBlobStore`); the service becomes its source of missing chunks. */
  store: BlobStore
  /** Peers of another network id are refused in the hello. */
  networkId: string
  /**
   * Operator public keys of the trust bundle in force at start; peers must hold the same set. Its
   * hash (sync's `trustBundleHash`) travels in every blob hello; `setTrust` moves it on a rotation.
   */
  trust: readonly Uint8Array[]
  /**
   * May `peer` fetch blob `id` from this node? It should say yes exactly when the peer may hold a
   * record that references the blob. A refused blob is answered as one not held (nothing leaks)
   * and counted as `unauthorized`.
   * @default with `references`: `referencePolicy(references, mayHoldScope)`; without: only blobs
   * marked shareable (`put` marks them)
   */
  mayFetch?: (peer: PeerId, id: Uint8Array) => boolean | Promise<boolean>
  /**
   * The records this node holds that reference blobs, with the peer each came from: the default
   * `mayFetch` reads it, and a fetch asks those peers right after the caller's `from`.
   * @default none
   */
  references?: BlobReferences
  /** For the default policy: may `peer` hold artifact scope `scope`? @default no peer holds any */
  mayHoldScope?: MayHoldScope
  /**
   * Closed network: who may use the blob protocol with this node at all, asked before any request
   * (e.g. the same `memberAdmission` object sync and artifacts use). Asked with the peer's raw
   * Ed25519 key and no credential (the blob hello carries none: a member's grant reaches this node
   * in its sync hello or by replication). A peer not admitted is refused `not-admitted` in place of
   * the welcome, counted in `provsync_blob_refusals_total{reason="not-admitted"}`, and learns
   * nothing else, not even whether a blob is held; this node asks no such peer for a blob either.
   * @default none (open network: every peer of the network and trust bundle)
   */
  admission?: Pick<Admission, 'admit'>
  /** @default see BlobLimits */
  limits?: Partial<BlobLimits>
  /** Offence threshold, window and block time shared with sync's budgets. @default DEFAULT_BUDGET_LIMITS */
  budgets?: Partial<
    Pick<BudgetLimits, 'offenceThreshold' | 'offenceWindowMs' | 'blockMs' | 'maxTrackedPeers'>
  >
  /** Inbound streams per connection, enforced by the registrar. @default 32 */
  maxInboundStreams?: number
  /** Outbound streams per connection. @default 64 */
  maxOutboundStreams?: number
  /** Bytes a stream may queue for a slow reader before it is reset. @default 4 MiB */
  maxWriteBufferBytes?: number
  /** Registry the metrics go to. @default a registry of this service's own */
  registry?: Registry
}

export interface BlobComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

export interface ServiceFetchOptions extends AbortOptions {
  /** Peers to ask first: the peer the referencing record came from. @default [] */
  from?: readonly PeerRef[]
}

export interface ServiceReadOptions extends ServiceFetchOptions, Omit<ReadOptions, 'from'> {}

export interface BlobOffenceEvent {
  peer: string
  reason: BlobOffenceReason
  detail: string
  /** This offence crossed the threshold and blocked the peer. */
  blocked: boolean
}

export interface BlobServiceEvents {
  'blob:offence': CustomEvent<BlobOffenceEvent>
}

export interface BlobService extends TypedEventTarget<BlobServiceEvents> {
  readonly store: BlobStore
  readonly metrics: BlobMetrics
  readonly limits: BlobLimits
  /** Stores a blob, pinned and shareable unless told otherwise. */
  put(source: BlobSource, options?: PutOptions): Promise<PutResult>
  /** The manifest, held or fetched from peers (`from` first) and verified against the id. */
  manifest(id: Uint8Array, options?: ServiceFetchOptions): Promise<Manifest>
  /** Chunks `firstChunk .. firstChunk + count - 1`, fetched and verified where missing. */
  range(
    id: Uint8Array,
    firstChunk: number,
    count: number,
    options?: ServiceFetchOptions,
  ): Promise<Uint8Array[]>
  /** Bytes `[start, end)` as a stream, fetched lazily window by window. */
  read(id: Uint8Array, options?: ServiceReadOptions): AsyncGenerator<Uint8Array>
  /** Records that `peer` advertises the blob: it is asked after the `from` peers. */
  addProvider(id: Uint8Array, peer: PeerRef): void
  /**
   * Puts another trust bundle (operator keys) in force, as sync's `setTrust` does: every blob stream
   * opened or accepted from now on names and checks its hash (streams already open keep theirs).
   * For a rotation that took effect (@provsync/artifacts' `trust:rotated`, e.g. through
   * `followTrustInSync(service, node.sync, blobService)`); true when the hash changed. A peer still
   * on the other bundle is refused `wrong-network` (a BlobTrustMismatchError here, counted as
   * `provsync_blob_refusals_total{reason="trust-mismatch"}`, no offence).
   */
  setTrust(operatorKeys: readonly Uint8Array[]): boolean
  /** The hash of the trust bundle in force, as blob hellos carry it (equal to sync's `trustHash()`). */
  trustHash(): Uint8Array
  isBlocked(peer: PeerRef): boolean
  /** Offences counted by reason, for one peer or all. */
  offences(peer?: PeerRef): Record<string, number>
}

/** The blob service factory for libp2p's `services` map. */
export function blobs(init: BlobServiceInit): (components: BlobComponents) => BlobService {
  return (components) => new Blobs(components, init)
}
