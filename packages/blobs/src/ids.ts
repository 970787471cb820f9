import { loadBlake3 } from './blake3.js'
import { HASH_BYTES, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from './constants.js'
import { BlobRangeError, InvalidChunkSizeError, MalformedManifestError } from './errors.js'

// Domain tags: the first bytes hashed say what is hashed, so a chunk, an inner node of the chunk
// tree and a blob id can never be read as one another, nor as any other provsync hash.
const encoder = new TextEncoder()
const TAG_CHUNK = encoder.encode('provsync/blob/chunk/v1\0')
const TAG_NODE = encoder.encode('provsync/blob/node/v1\0')
const TAG_ID = encoder.encode('provsync/blob/id/v1\0')

// BLAKE3 (native where its binary installed, hash-wasm otherwise: blake3.ts) loads once, at
// import; then every call is synchronous. One hasher is reused: JS is single-threaded and no call
// below can re-enter another.
const hasher = await loadBlake3()

/** A reference to a blob as a record carries it: the id and the total size in bytes. */
export interface BlobRef {
  readonly id: Uint8Array
  readonly size: number
}

/** What a blob is made of: enough to check the id, and every chunk against its hash. */
export interface Manifest {
  readonly id: Uint8Array
  readonly chunkSize: number
  readonly size: number
  readonly chunkCount: number
  /** The chunk hashes, concatenated (`chunkCount` × 32 bytes). */
  readonly hashes: Uint8Array
}

export function assertChunkSize(chunkSize: number): void {
  const ok =
    Number.isInteger(chunkSize) &&
    chunkSize >= MIN_CHUNK_SIZE &&
    chunkSize <= MAX_CHUNK_SIZE &&
    (chunkSize & (chunkSize - 1)) === 0
  if (!ok) throw new InvalidChunkSizeError(chunkSize)
}

/** BLAKE3 of a chunk under the chunk domain tag. */
export function hashChunk(chunk: Uint8Array): Uint8Array {
  hasher.init()
  hasher.update(TAG_CHUNK)
  hasher.update(chunk)
  return hasher.digest()
}

/** The node tag and room for two hashes: one `update` per node instead of three (a tree of 4,096 leaves hashes 4,095 nodes). */
const nodeInput = new Uint8Array(TAG_NODE.byteLength + 2 * HASH_BYTES)
nodeInput.set(TAG_NODE)

function hashNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput.set(left, TAG_NODE.byteLength)
  nodeInput.set(right, TAG_NODE.byteLength + HASH_BYTES)
  hasher.init()
  hasher.update(nodeInput)
  return hasher.digest()
}

/**
 * The Merkle root over chunk hashes (RFC 6962's shape: the left subtree holds the largest power
 * of two of leaves below n). One leaf is its own root; no leaf hashes the bare node tag.
 */
export function chunkTreeRoot(hashes: Uint8Array): Uint8Array {
  const n = hashes.byteLength / HASH_BYTES
  if (n === 0) {
    hasher.init()
    hasher.update(TAG_NODE)
    return hasher.digest()
  }
  let level: Uint8Array[] = []
  for (let i = 0; i < n; i++) level.push(hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES))
  // Pairing left to right and carrying an odd last node up gives RFC 6962's split exactly.
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(hashNode(level[i]!, level[i + 1]!))
    if (level.length % 2 === 1) next.push(level[level.length - 1]!)
    level = next
  }
  return Uint8Array.from(level[0]!)
}

/** The blob id: the chunk tree's root bound to the chunk size and the total size. */
export function blobId(chunkSize: number, size: number, hashes: Uint8Array): Uint8Array {
  const shape = new Uint8Array(9)
  shape[0] = Math.log2(chunkSize)
  new DataView(shape.buffer).setBigUint64(1, BigInt(size))
  const root = chunkTreeRoot(hashes)
  hasher.init()
  hasher.update(TAG_ID)
  hasher.update(shape)
  hasher.update(root)
  return hasher.digest()
}

export function chunkCountOf(chunkSize: number, size: number): number {
  return Math.ceil(size / chunkSize)
}

/** Builds a manifest from its parts, computing its id. */
export function buildManifest(chunkSize: number, size: number, hashes: Uint8Array): Manifest {
  assertChunkSize(chunkSize)
  const chunkCount = chunkCountOf(chunkSize, size)
  if (hashes.byteLength !== chunkCount * HASH_BYTES) {
    throw new MalformedManifestError(`${size} bytes in ${chunkSize}-byte chunks need ${chunkCount} hashes`)
  }
  return { id: blobId(chunkSize, size, hashes), chunkSize, size, chunkCount, hashes }
}

/** The hash the manifest lists for chunk `index`. */
export function chunkHashAt(manifest: Manifest, index: number): Uint8Array {
  return manifest.hashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES)
}

/** Bytes chunk `index` must have: the chunk size, except for a shorter last chunk. */
export function chunkLength(manifest: Manifest, index: number): number {
  if (index < 0 || index >= manifest.chunkCount) {
    throw new BlobRangeError(toHex(manifest.id), `chunk ${index} of ${manifest.chunkCount}`)
  }
  return Math.min(manifest.chunkSize, manifest.size - index * manifest.chunkSize)
}

/** Does `bytes` hold exactly chunk `index` of the manifest? */
export function chunkMatches(manifest: Manifest, index: number, bytes: Uint8Array): boolean {
  if (bytes.byteLength !== chunkLength(manifest, index)) return false
  return equalBytes(hashChunk(bytes), chunkHashAt(manifest, index))
}

const MANIFEST_VERSION = 1
const MANIFEST_HEADER_BYTES = 10

/** version (1) | log2 chunk size (1) | size (u64 BE) | chunk hashes: frozen by test vectors. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const out = new Uint8Array(MANIFEST_HEADER_BYTES + manifest.hashes.byteLength)
  out[0] = MANIFEST_VERSION
  out[1] = Math.log2(manifest.chunkSize)
  new DataView(out.buffer).setBigUint64(2, BigInt(manifest.size))
  out.set(manifest.hashes, MANIFEST_HEADER_BYTES)
  return out
}

/** Decodes a manifest and computes its id (compare it with the id it was asked for). */
export function decodeManifest(bytes: Uint8Array): Manifest {
  if (bytes.byteLength < MANIFEST_HEADER_BYTES || bytes[0] !== MANIFEST_VERSION) {
    throw new MalformedManifestError('not a version 1 manifest')
  }
  const log2 = bytes[1]!
  if (log2 > 30) throw new InvalidChunkSizeError(2 ** log2)
  const size = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(2))
  if (!Number.isSafeInteger(size)) throw new MalformedManifestError(`size ${size} is not a safe integer`)
  // A copy (the caller may reuse `bytes`); `new Uint8Array(view)` is a memcpy, `Uint8Array.from` is not.
  return buildManifest(2 ** log2, size, new Uint8Array(bytes.subarray(MANIFEST_HEADER_BYTES)))
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Parses a 64-character hex blob id. */
export function parseBlobId(text: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new MalformedManifestError(`"${text}" is not a blob id`)
  return Uint8Array.from(Buffer.from(text, 'hex'))
}
