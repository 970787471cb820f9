import type { Database } from 'lmdb'
import { decodeBucket, encodeBucket, type StoredLeaf } from './bucket-codec.js'
import { compareBytes, equalBytes, toHex } from './bytes.js'
import { buildSubtree, LeafCursor } from './canonical.js'
import { pathOfKey } from './hash.js'
import { BUCKET_KEY_TAG, bucketKey, NODE_KEY_TAG, nodeKey, PATH_BYTES } from './path.js'
import type { VerifyReport } from './tree.js'

const ROOT_PATH = new Uint8Array(PATH_BYTES)
const BUCKET_FIRST = Uint8Array.of(BUCKET_KEY_TAG)
const BUCKET_END = Uint8Array.of(BUCKET_KEY_TAG + 1)

/**
 * Recomputes the whole tree from the stored leaves (streamed, bucket by bucket, in path order)
 * and compares every inner node and bucket it implies with what is stored, then looks for stored
 * entries nothing implies. Used by crash tests and the operator `verify` command.
 */
export function verifyTree(db: Database<Uint8Array, Uint8Array>, keysAreHashes: boolean): VerifyReport {
  const mismatches: string[] = []
  const report = (message: string) => {
    if (mismatches.length < 100) mismatches.push(message)
  }
  let leaves = 0
  function* allLeaves(): Generator<StoredLeaf> {
    let previous: Uint8Array | undefined
    for (const { key, value } of db.getRange({ start: BUCKET_FIRST, end: BUCKET_END })) {
      let bucket: StoredLeaf[]
      try {
        bucket = decodeBucket(value, keysAreHashes)
      } catch (error) {
        report(`bucket ${toHex(key.subarray(1))}: ${String(error)}`)
        continue
      }
      for (const leaf of bucket) {
        leaves++
        if (!keysAreHashes && !equalBytes(pathOfKey(leaf.key), leaf.path)) {
          report(`leaf ${toHex(leaf.path)}: path is not the hash of its key`)
        }
        if (previous !== undefined && compareBytes(previous, leaf.path) >= 0)
          report(`leaf ${toHex(leaf.path)}: out of order`)
        previous = leaf.path
        yield leaf
      }
    }
  }
  const expected = new Set<string>()
  let nodes = 0
  const check = (key: Uint8Array, encoded: Uint8Array, what: string) => {
    expected.add(toHex(key))
    const stored = db.get(key)
    const label = `${what} ${toHex(key.subarray(1))}`
    if (stored === undefined) report(`${label}: missing`)
    else if (!equalBytes(stored, encoded)) report(`${label}: stored content differs from the leaves`)
  }
  buildSubtree(new LeafCursor(allLeaves()), ROOT_PATH, 0, {
    inner(path, depth, encoded) {
      nodes++
      check(nodeKey(path, depth), encoded, 'node')
    },
    bucket(path, depth, bucket) {
      check(bucketKey(path, depth), encodeBucket(bucket, keysAreHashes), 'bucket')
    },
  })
  for (const tag of [NODE_KEY_TAG, BUCKET_KEY_TAG]) {
    for (const key of db.getKeys({ start: Buffer.from([tag]), end: Buffer.from([tag + 1]) })) {
      if (!expected.has(toHex(key)))
        report(`${tag === NODE_KEY_TAG ? 'node' : 'bucket'} ${toHex(key)}: stored but not expected`)
    }
  }
  return { ok: mismatches.length === 0, leaves, nodes, mismatches }
}
