import { createBLAKE3 } from 'hash-wasm'
import { PATH_BYTES } from './path.js'

/** Bytes of every hash this package stores or returns (BLAKE3's default output). */
export const HASH_BYTES = 32

/**
 * Hashes on the wire are cut to 128 bits: the least the design allows where a hash decides
 * equality, and half the bytes of a full hash.
 */
export const WIRE_HASH_BYTES = 16

/**
 * Bytes of one leaf record: its path then its value hash, as a bucket hash covers them and as a
 * uniform-key bucket stores them.
 */
export const RECORD_BYTES = PATH_BYTES + HASH_BYTES

// Domain tags: the first input byte says what is hashed, so a leaf bucket, an inner node and a
// key's path can never be read as one another (no second preimage across kinds).
const TAG_BUCKET = 0x00
const TAG_INNER = 0x01
const TAG_PATH = 0x02

// hash-wasm runs BLAKE3 compiled to WebAssembly: about 6x noble's pure-JS speed on 64-byte
// inputs here (figures in the README). Loading it is async, so it happens once, at import; after
// that every call is synchronous. This hasher is the one value the module keeps, and no call
// leaves anything in it: each function below runs init, update and digest before it returns (JS
// is single-threaded and none can re-enter another), so nothing passes from one call, or one
// tree, to the next. Buffers are the caller's or the call's own. A hasher per tree would make
// openMerkleTree async (hash-wasm only instantiates asynchronously): a change of crdt's,
// artifacts' and sim's calls for no state to isolate.
const hasher = await createBLAKE3(HASH_BYTES * 8)
const BUCKET_TAG_BYTES = Uint8Array.of(TAG_BUCKET)
const INNER_TAG_BYTES = Uint8Array.of(TAG_INNER)
const PATH_TAG_BYTES = Uint8Array.of(TAG_PATH)

/** Domain tags for {@link hashTagged}, whose input already starts with one. */
export const BUCKET_HASH_TAG = TAG_BUCKET
export const INNER_HASH_TAG = TAG_INNER

/**
 * BLAKE3 of bytes whose first byte is already the domain tag (BUCKET_HASH_TAG or INNER_HASH_TAG):
 * the hot path encodes a rewritten node right after its tag in one buffer, so hashing it is a single
 * call into the WASM module instead of one per part.
 */
export function hashTagged(tagged: Uint8Array): Uint8Array {
  const tag = tagged[0]
  if (tag !== TAG_BUCKET && tag !== TAG_INNER) throw new Error(`hashTagged: unknown domain tag ${tag}`)
  hasher.init()
  hasher.update(tagged)
  return hasher.digest('binary')
}

/** Plain BLAKE3 of the concatenation of `parts` (no domain tag). */
export function blake3(...parts: Uint8Array[]): Uint8Array {
  hasher.init()
  for (const part of parts) hasher.update(part)
  return hasher.digest('binary')
}

/** The 32-byte position of a key in the trie when keys are not already uniform hashes. */
export function pathOfKey(key: Uint8Array): Uint8Array {
  hasher.init()
  hasher.update(PATH_TAG_BYTES)
  hasher.update(key)
  return hasher.digest('binary')
}

/** Hash of an inner node from its encoded children (see node-codec.ts). */
export function innerHash(encodedNode: Uint8Array): Uint8Array {
  hasher.init()
  hasher.update(INNER_TAG_BYTES)
  hasher.update(encodedNode)
  return hasher.digest('binary')
}

/** A leaf as a bucket hash covers it: both fields are fixed-size, so the concatenation is unambiguous. */
export interface HashedLeaf {
  path: Uint8Array
  valueHash: Uint8Array
}

/**
 * Hash of the bucket holding `leaves[from..to)` (path order): the (path, value hash) pairs of
 * every leaf under a small subtree. They are laid out after the tag in one buffer of this call's
 * own and hashed in a single call: one WASM call per leaf field cost more than the hashing itself.
 */
export function hashLeaves(leaves: readonly HashedLeaf[], from = 0, to = leaves.length): Uint8Array {
  // Every byte is written below. allocUnsafe hands out a slice of Node's pre-allocated pool
  // (under 4 KiB), not an ArrayBuffer of its own per call.
  const input = Buffer.allocUnsafe(1 + (to - from) * RECORD_BYTES)
  input[0] = TAG_BUCKET
  let o = 1
  for (let i = from; i < to; i++) {
    const leaf = leaves[i]!
    input.set(leaf.path, o)
    input.set(leaf.valueHash, o + PATH_BYTES)
    o += RECORD_BYTES
  }
  hasher.init()
  hasher.update(input)
  return hasher.digest('binary')
}

/**
 * Hash of the bucket whose (path, value hash) records are `records[from..to)` (byte offsets), as
 * stored for uniform keys: the same bytes {@link hashLeaves} lays out, fed to the hasher as the tag
 * then the records' own bytes, without a copy, a leaf object or a view per record.
 */
export function hashRecords(records: Uint8Array, from: number, to: number): Uint8Array {
  hasher.init()
  hasher.update(BUCKET_TAG_BYTES)
  hasher.update(records.subarray(from, to))
  return hasher.digest('binary')
}
