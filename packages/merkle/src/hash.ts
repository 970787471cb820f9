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
// that every call is synchronous. Hashers are reused: JS is single-threaded and no call below
// can re-enter another.
const hasher = await createBLAKE3(HASH_BYTES * 8)
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

let leafScratch = new Uint8Array(1 + 64 * 64)
/** Views of `leafScratch` by length: a bucket of k leaves is always 1 + 64k bytes. */
let leafViews: Uint8Array[] = []
function leafInput(size: number): Uint8Array {
  let view = leafViews[size]
  if (view === undefined) leafViews[size] = view = leafScratch.subarray(0, size)
  return view
}
function reserveLeafScratch(size: number): void {
  if (leafScratch.length >= size) return
  leafScratch = new Uint8Array(2 ** Math.ceil(Math.log2(size)))
  leafViews = []
}

/**
 * Hash of the bucket holding `leaves[from..to)` (path order): the (path, value hash) pairs of
 * every leaf under a small subtree. They are laid out after the tag in one reused buffer and hashed
 * in a single call: one WASM call per leaf field cost more than the hashing itself.
 */
export function hashLeaves(leaves: readonly HashedLeaf[], from = 0, to = leaves.length): Uint8Array {
  const size = 1 + (to - from) * RECORD_BYTES
  reserveLeafScratch(size)
  leafScratch[0] = TAG_BUCKET
  let o = 1
  for (let i = from; i < to; i++) {
    const leaf = leaves[i]!
    leafScratch.set(leaf.path, o)
    leafScratch.set(leaf.valueHash, o + PATH_BYTES)
    o += RECORD_BYTES
  }
  hasher.init()
  hasher.update(leafInput(o))
  return hasher.digest('binary')
}

/**
 * Hash of the bucket whose (path, value hash) records are `records[from..to)` (byte offsets), as
 * stored for uniform keys: the same bytes {@link hashLeaves} lays out, without a leaf object or a
 * view per record.
 */
export function hashRecords(records: Uint8Array, from: number, to: number): Uint8Array {
  const size = 1 + to - from
  reserveLeafScratch(size)
  leafScratch[0] = TAG_BUCKET
  for (let i = from, o = 1; i < to; i++, o++) leafScratch[o] = records[i]!
  hasher.init()
  hasher.update(leafInput(size))
  return hasher.digest('binary')
}
