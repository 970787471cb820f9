import { ByteReader, ByteWriter } from './bytes.js'
import { HASH_BYTES, RECORD_BYTES } from './hash.js'
import { PATH_BYTES } from './path.js'

/** A leaf as stored: its trie path, its value hash, and its key (the path itself for uniform keys). */
export interface StoredLeaf {
  path: Uint8Array
  valueHash: Uint8Array
  key: Uint8Array
}

/**
 * A bucket is stored as one LMDB value: its leaves' (path, value hash) records in path order —
 * exactly the bytes its hash covers — followed, when keys are hashed into paths, by the keys.
 * Uniform keys: records only. Hashed keys: varint count, records, then each key as varint length
 * and bytes.
 */
export function encodeBucket(leaves: readonly StoredLeaf[], keysAreHashes: boolean): Uint8Array {
  if (keysAreHashes) {
    const out = new Uint8Array(leaves.length * RECORD_BYTES)
    leaves.forEach((leaf, i) => {
      out.set(leaf.path, i * RECORD_BYTES)
      out.set(leaf.valueHash, i * RECORD_BYTES + PATH_BYTES)
    })
    return out
  }
  // Stryker disable next-line ArithmeticOperator: equivalent, an initial capacity (the writer grows); also hides the killed `8 - …`
  const w = new ByteWriter(8 + leaves.length * (RECORD_BYTES + 40))
  w.varint(leaves.length)
  for (const leaf of leaves) {
    w.bytes(leaf.path)
    w.bytes(leaf.valueHash)
  }
  for (const leaf of leaves) {
    w.varint(leaf.key.length)
    w.bytes(leaf.key)
  }
  return w.finish()
}

/** Inverse of {@link encodeBucket}; the leaves are views of `value`. Throws on bad bytes. */
export function decodeBucket(value: Uint8Array, keysAreHashes: boolean): StoredLeaf[] {
  if (keysAreHashes) {
    if (value.length === 0 || value.length % RECORD_BYTES !== 0)
      throw new Error(`bucket of ${value.length} bytes`)
    const leaves: StoredLeaf[] = []
    for (let at = 0; at < value.length; at += RECORD_BYTES) {
      const path = value.subarray(at, at + PATH_BYTES)
      leaves.push({ path, valueHash: value.subarray(at + PATH_BYTES, at + RECORD_BYTES), key: path })
    }
    return leaves
  }
  const r = new ByteReader(value)
  const n = r.varint(value.length)
  if (n === 0) throw new Error('empty bucket')
  const leaves: StoredLeaf[] = []
  for (let i = 0; i < n; i++) {
    const path = r.bytes(PATH_BYTES)
    leaves.push({ path, valueHash: r.bytes(HASH_BYTES), key: path })
  }
  for (const leaf of leaves) leaf.key = r.bytes(r.varint(value.length))
  r.end()
  return leaves
}

/** A change to merge into a bucket: `valueHash` null removes the path. */
export interface RecordChange {
  path: Uint8Array
  valueHash: Uint8Array | null
  /** `path`'s first four bytes as an unsigned number, computed once per change by the caller. */
  head: number
}

/**
 * Merges path-sorted `changes[lo..hi)` into a uniform-key bucket's records (the first `n` bytes of
 * `records`) without decoding it into objects, writing the result into `out` from offset `at`
 * (room needed: `n + (hi - lo) * RECORD_BYTES`); returns the number of bytes written. The hot path of every batch,
 * where one bucket takes a change or two: the caller reuses one output buffer for all of them.
 */
export function mergeRecords(
  records: Uint8Array,
  n: number,
  changes: readonly RecordChange[],
  lo: number,
  hi: number,
  out: Uint8Array,
  at = 0,
): number {
  let o = at
  let from = 0
  for (let j = lo; j < hi; j++) {
    const change = changes[j]!
    const { path, head } = change
    // Paths are uniform, so their first four bytes nearly always decide the order.
    let end = from
    let same = false
    while (end < n) {
      const record =
        ((records[end]! << 24) | (records[end + 1]! << 16) | (records[end + 2]! << 8) | records[end + 3]!) >>>
        0
      let order = record - head
      for (let b = 4; order === 0 && b < PATH_BYTES; b++) order = records[end + b]! - path[b]!
      if (order >= 0) {
        same = order === 0
        break
      }
      end += RECORD_BYTES
    }
    // Copy the run of records before this change in one go.
    out.set(records.subarray(from, end), o)
    o += end - from
    from = same ? end + RECORD_BYTES : end
    if (change.valueHash !== null) {
      out.set(path, o)
      out.set(change.valueHash, o + PATH_BYTES)
      o += RECORD_BYTES
    }
  }
  out.set(records.subarray(from, n), o)
  return o + n - from - at
}
