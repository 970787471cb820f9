import { createBLAKE3 } from 'hash-wasm'

/** Bytes of every hash this package stores or returns (BLAKE3's default output). */
export const HASH_BYTES = 32

/**
 * Hashes on the wire are cut to 128 bits: the least the design allows where a hash decides
 * equality, and half the bytes of a full hash.
 */
export const WIRE_HASH_BYTES = 16

// Domain tags: the first input byte says what is hashed, so a leaf bucket, an inner node and a
// key's path can never be read as one another (no second preimage across kinds).
const TAG_BUCKET = 0x00
const TAG_INNER = 0x01
const TAG_PATH = 0x02

// hash-wasm runs BLAKE3 compiled to WebAssembly: about 7x noble's pure-JS speed on 64-byte
// inputs here (figures in the README). Loading it is async, so it happens once, at import; after
// that every call is synchronous. Hashers are reused: JS is single-threaded and no call below
// can re-enter another; buckets get their own, as they are fed leaf by leaf.
const hasher = await createBLAKE3(HASH_BYTES * 8)
const bucketState = await createBLAKE3(HASH_BYTES * 8)
let bucketOpen = false
const tagByte = [
  new Uint8Array([TAG_BUCKET]),
  new Uint8Array([TAG_INNER]),
  new Uint8Array([TAG_PATH]),
] as const

/** Plain BLAKE3 of the concatenation of `parts` (no domain tag). */
export function blake3(...parts: Uint8Array[]): Uint8Array {
  hasher.init()
  for (const part of parts) hasher.update(part)
  return hasher.digest('binary')
}

/** The 32-byte position of a key in the trie when keys are not already uniform hashes. */
export function pathOfKey(key: Uint8Array): Uint8Array {
  hasher.init()
  hasher.update(tagByte[TAG_PATH])
  hasher.update(key)
  return hasher.digest('binary')
}

/** Hash of an inner node from its encoded children (see node-codec.ts). */
export function innerHash(encodedNode: Uint8Array): Uint8Array {
  hasher.init()
  hasher.update(tagByte[TAG_INNER])
  hasher.update(encodedNode)
  return hasher.digest('binary')
}

/**
 * Incremental hash of a leaf bucket: the (path, value hash) pairs of every leaf under a small
 * subtree, in path order. Both fields are fixed-size, so the concatenation is unambiguous.
 */
export interface BucketHasher {
  add(path: Uint8Array, valueHash: Uint8Array): void
  digest(): Uint8Array
}

/** Hash of a bucket from its records already laid out as (path, value hash) pairs in path order. */
export function bucketRecordsHash(records: Uint8Array): Uint8Array {
  hasher.init()
  hasher.update(tagByte[TAG_BUCKET])
  hasher.update(records)
  return hasher.digest('binary')
}

export function bucketHasher(): BucketHasher {
  if (bucketOpen) throw new Error('bucketHasher: a bucket is already being hashed')
  bucketOpen = true
  bucketState.init()
  bucketState.update(tagByte[TAG_BUCKET])
  return {
    add(path, valueHash) {
      bucketState.update(path)
      bucketState.update(valueHash)
    },
    digest() {
      bucketOpen = false
      return bucketState.digest('binary')
    },
  }
}
