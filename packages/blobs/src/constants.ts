/** Smallest chunk size a writer may choose (16 KiB). */
export const MIN_CHUNK_SIZE = 16 * 1024
/** Largest chunk size a writer may choose (1 MiB). */
export const MAX_CHUNK_SIZE = 1024 * 1024
/** Chunk size of `put` when the caller names none (256 KiB). */
export const DEFAULT_CHUNK_SIZE = 256 * 1024
/** Bytes of a chunk hash, a Merkle node and a blob id (BLAKE3's default output). */
export const HASH_BYTES = 32
/** Largest blob a node accepts a manifest for (64 GiB): bounds a fetched manifest's size. */
export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 ** 3
/** Bytes of fetched (unpinned) chunks kept before the least recently used are evicted (1 GiB). */
export const DEFAULT_BUDGET_BYTES = 1024 ** 3

export const BLOB_PROTOCOL = '/provsync/blob/1.0.0'
export const BLOB_PROTOCOL_VERSION = 1

/** Chunks one request may ask for; a server refuses more. */
export const DEFAULT_MAX_CHUNKS_PER_REQUEST = 16
/** Requests a client keeps in flight on one stream. */
export const DEFAULT_PIPELINE_DEPTH = 2
/** Bytes per second one peer may draw from this node (token bucket refill). */
export const DEFAULT_BYTES_PER_PEER_PER_SECOND = 512 * 1024 * 1024
/** Concurrent inbound blob streams one peer may hold. */
export const DEFAULT_MAX_STREAMS_PER_PEER = 4
/** Time to answer one request, or to get one frame written. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/**
 * Greeted blob streams a client keeps per peer between fetches (a read has two windows in flight;
 * each idle one still counts against the server's streams per peer).
 */
export const DEFAULT_POOLED_STREAMS_PER_PEER = 2
/** Longest a pooled stream waits for the next fetch (capped at a quarter of the idle deadline). */
export const DEFAULT_POOLED_STREAM_IDLE_MS = 5_000
/** Time to wait for the remote's next frame. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000
/** Chunk hashes per manifest frame (32 bytes each, under a 64 KiB frame). */
export const MANIFEST_HASHES_PER_FRAME = 1024
/** Chunk bytes per data frame: a frame plus its prefix fits one noise message. */
export const DATA_BYTES_PER_FRAME = 60 * 1024
/** Peers one read tries before it gives up on a chunk. */
export const DEFAULT_MAX_PEERS_PER_READ = 8
/** References kept per blob (BlobReferences): one authorizes; the rest only add provenance peers. */
export const MAX_REFERENCES_PER_BLOB = 64
