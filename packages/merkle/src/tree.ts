import type { RootDatabase } from 'lmdb'
import { bit, has, or, writeMaskAt } from './bits.js'
import { decodeBucket, encodeBucket, mergeRecords, type StoredLeaf } from './bucket-codec.js'
import { ByteReader, ByteWriter, compareBytes, equalBytes, toHex } from './bytes.js'
import {
  BUCKET_MAX,
  bucketChildren,
  buildSubtree,
  hashBucket,
  LeafCursor,
  type NodeSink,
  recordChildren,
} from './canonical.js'
import { MerkleInputError, SnapshotStateError, TreeCorruptError } from './errors.js'
import {
  BUCKET_HASH_TAG,
  HASH_BYTES,
  hashRecords,
  hashTagged,
  INNER_HASH_TAG,
  innerHash,
  pathOfKey,
  RECORD_BYTES,
} from './hash.js'
import { log, warnLog } from './log.js'
import {
  type Children,
  decodeNode,
  encodeEntry,
  encodeNode,
  maxEncodedNodeBytes,
  readNodeLayout,
  totalCount,
} from './node-codec.js'
import {
  BUCKET_KEY_TAG,
  bucketKey,
  childPath,
  digitAt,
  fanoutAt,
  MAX_DEPTH,
  nodeKey,
  PATH_BYTES,
  sharesPrefix,
} from './path.js'
import { NodeScratch } from './scratch.js'
import { NodeStore, type ReadAt } from './store.js'

/** Longest key accepted when keys are hashed into paths (they travel whole on the wire). */
export const MAX_KEY_BYTES = 1024

export interface TreeChange {
  key: Uint8Array
  /** The BLAKE3 hash of the record (HASH_BYTES); `null` deletes the key. */
  valueHash: Uint8Array | null
}

export interface Leaf {
  key: Uint8Array
  valueHash: Uint8Array
}

/** A leaf with its position in the trie (`path` is `key` when keys are uniform hashes). */
export type TreeLeaf = StoredLeaf

/** A node of the trie: the first `prefixBits(depth)` bits of `path` (the rest is ignored). */
export interface TreePosition {
  readonly path: Uint8Array
  readonly depth: number
}

export type TreeNode =
  | { readonly kind: 'inner'; readonly hash: Uint8Array; readonly count: number; readonly children: Children }
  | {
      readonly kind: 'bucket'
      readonly hash: Uint8Array
      readonly count: number
      readonly leaves: TreeLeaf[]
    }

export interface VerifyReport {
  ok: boolean
  leaves: number
  nodes: number
  mismatches: string[]
}

export interface LeafRange {
  /** Inclusive lower bound on the path (the key, when keys are uniform hashes). */
  start?: Uint8Array
  /** Exclusive upper bound on the path. */
  end?: Uint8Array
  limit?: number
}

export interface MerkleTree {
  readonly name: string
  /** Keys are used as paths as they are (32 bytes, uniformly distributed) instead of hashed. */
  readonly keysAreHashes: boolean
  /**
   * Applies a batch (the last change of a key wins). Writes go through the caller's LMDB write
   * transaction when there is one (`env.transactionSync(() => { ...; tree.update(changes) })`), so
   * records and tree commit or abort together; outside one, the batch commits on its own.
   */
  update(changes: Iterable<TreeChange>): void
  /** HASH_BYTES; {@link EMPTY_ROOT} for the empty set. */
  root(): Uint8Array
  count(): number
  get(key: Uint8Array): Uint8Array | undefined
  /** Leaves in path order (key order when `keysAreHashes`). */
  leaves(range?: LeafRange): Iterable<Leaf>
  /** Recomputes the whole tree from the leaves and compares it with the stored nodes. */
  verify(): VerifyReport
  /** The 32-byte trie position of `key`. */
  pathOf(key: Uint8Array): Uint8Array
  /** The node at a position, `undefined` when no leaf lies under it. */
  node(position: TreePosition): TreeNode | undefined
  /** The 16 child entries of a node (computed from its leaves when it is a bucket). */
  children(node: TreeNode, depth: number): Children
  /** Every leaf under a position in path order, read lazily; with `after`, only those past that path. */
  leavesAt(position: TreePosition, after?: Uint8Array): Iterable<TreeLeaf>
  /**
   * A cached view of the tree as it is now, held by an LMDB read transaction: later commits do not
   * show through. Call `release()` when done: a held snapshot pins the pages it reads, so the
   * file grows while it lives.
   */
  snapshot(): TreeSnapshot
}

export type TreeReader = Pick<MerkleTree, 'node' | 'children' | 'leavesAt'>

export interface TreeSnapshot extends TreeReader {
  root(): Uint8Array
  count(): number
  /** Ends the read transaction. Idempotent; reads afterwards throw {@link SnapshotStateError}. */
  release(): void
  readonly released: boolean
}

/**
 * A snapshot's inner nodes down to depth CACHED_DEPTH, cached as a trie that mirrors the tree:
 * `locate` walks it by digit, so a hit costs no LMDB key, no string and no decode. There are at
 * most 1 + 32 + 512 such nodes whatever the size of the tree. Deeper, only the node last read at
 * each depth is kept: a session visits a level in path order, so the siblings it reads one after
 * another share it. Caching every node a session read held ~5,000 decoded nodes at N = 1M,
 * d = 10,000, and their survival made V8 grow its young generation to the maximum.
 */
const CACHED_DEPTH = 2
interface CachedInner {
  readonly children: Children
  readonly below: Array<CachedInner | undefined>
}
interface RecentInner {
  readonly path: Uint8Array
  readonly children: Children
}
interface NodeCache {
  root?: CachedInner
  recent: Array<RecentInner | undefined>
}

/** Where reads go: the live tree (or the caller's write transaction), or one read snapshot. */
interface ReadScope {
  cache?: NodeCache
  /** lmdb-js read options naming the snapshot's transaction; absent for live reads. */
  at?: ReadAt
  check?: () => void
}

export interface MerkleTreeOptions {
  /** Names the LMDB sub-database (`merkle/<name>`) holding this tree. */
  name: string
  /**
   * Set when every key is already a uniformly distributed 32-byte hash (content-addressed
   * records): keys are then used as paths directly, saving a hash per change and 32 bytes per
   * leaf. Default false: paths are BLAKE3 of the key, and keys may be 1 to MAX_KEY_BYTES bytes.
   */
  keysAreHashes?: boolean
}

/**
 * Root of the empty set: the hash of an inner node with no children,
 * `innerHash(encodeNode(emptyChildren(fanoutAt(0))))` (checked by hash.test.ts and the vectors).
 * Written out rather than computed at import: computed here, every merkle test file (wire.ts
 * imports this module) ran innerHash, encodeNode, presenceMask, emptyChildren and fanoutAt at load,
 * which made their mutants static, each rerunning the whole mutation test selection.
 */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(
  Buffer.from('7784b17d1d8ff658cfe8f0e111316a964c95233a486ccbdfaf86539c9e3e3a30', 'hex'),
)

const ROOT_PATH = new Uint8Array(PATH_BYTES)
const META_KEY = Buffer.from([0x4d]) // 'M'
const FORMAT_VERSION = 1

interface Change {
  key: Uint8Array
  path: Uint8Array
  valueHash: Uint8Array | null
  /** The path's first four bytes: uniform paths nearly always sort on these alone. */
  head: number
}

/** Where a position lies: at an inner node, inside a bucket (possibly shallower), or nowhere. */
type Located =
  | { kind: 'inner'; children: Children }
  /** `value`: the bucket's stored bytes, its leaf count checked; decoded by {@link leavesUnder}. */
  | { kind: 'bucket'; depth: number; path: Uint8Array; value: Uint8Array }
  | undefined

const EMPTY_BYTES = new Uint8Array(0)

const BUCKET_FIRST = Buffer.from([BUCKET_KEY_TAG])
const BUCKET_END = Buffer.from([BUCKET_KEY_TAG + 1])

export function openMerkleTree(env: RootDatabase, options: MerkleTreeOptions): MerkleTree {
  if (typeof options?.name !== 'string' || options.name.length === 0 || options.name.length > 200) {
    throw new MerkleInputError('name', 'expected a non-empty string of at most 200 characters')
  }
  const name = options.name
  const keysAreHashes = options.keysAreHashes === true
  const store = new NodeStore(env, `merkle/${name}`)
  const scratch = new NodeScratch()
  const meta = encodeMeta(keysAreHashes)
  checkMeta(store.get(META_KEY), meta, name)

  const pathOf = (key: Uint8Array): Uint8Array => {
    checkKey(key, keysAreHashes, 'key')
    // No copy: a batch is consumed before update() returns, and LMDB copies what it stores.
    return keysAreHashes ? key : pathOfKey(key)
  }

  const where = (path: Uint8Array, depth: number) => `${depth}:${toHex(path.subarray(0, 8))}`

  function readInner(path: Uint8Array, depth: number, scope: ReadScope = {}): Children | undefined {
    scope.check?.()
    const value = store.get(nodeKey(path, depth), scope.at)
    if (value === undefined) return undefined
    try {
      // A plain view: slicing lmdb's Buffer would make a Buffer per child hash.
      return decodeNode(new Uint8Array(value.buffer, value.byteOffset, value.length), fanoutAt(depth))
    } catch (error) {
      throw new TreeCorruptError(`node ${where(path, depth)}`, String(error))
    }
  }

  function readRoot(scope: ReadScope = {}): Children | undefined {
    const { cache } = scope
    if (cache === undefined) return readInner(ROOT_PATH, 0, scope)
    scope.check?.()
    if (cache.root !== undefined) return cache.root.children
    const children = readInner(ROOT_PATH, 0, scope)
    if (children !== undefined) cache.root = { children, below: [] }
    return children
  }

  function decodeStoredBucket(value: Uint8Array, label: () => string): StoredLeaf[] {
    try {
      return decodeBucket(value, keysAreHashes)
    } catch (error) {
      throw new TreeCorruptError(label(), String(error))
    }
  }

  function readBucket(path: Uint8Array, depth: number, scope: ReadScope = {}): StoredLeaf[] {
    scope.check?.()
    const value = store.get(bucketKey(path, depth), scope.at)
    if (value === undefined) throw new TreeCorruptError(`bucket ${where(path, depth)}`, 'missing')
    return decodeStoredBucket(value, () => `bucket ${where(path, depth)}`)
  }

  /** Walks down from the root along `path` to depth `depth`, or to the bucket that covers it. */
  function locate(path: Uint8Array, depth: number, scope: ReadScope = {}): Located {
    let children = readRoot(scope)
    if (children === undefined) return undefined
    let cached = scope.cache?.root
    for (let d = 0; ; d++) {
      if (d === depth) return { kind: 'inner', children }
      const digit = digitAt(path, d)
      const child = children[digit]
      if (child === undefined) return undefined
      if (child.count <= BUCKET_MAX) {
        const value = readBucketValue(path, d + 1, scope)
        const count = storedLeafCount(value)
        if (count !== child.count) {
          throw new TreeCorruptError(
            `bucket ${where(path, d + 1)}`,
            `${count} leaves, parent says ${child.count}`,
          )
        }
        return { kind: 'bucket', depth: d + 1, path, value }
      }
      const cache = scope.cache
      const hit = cached?.below[digit]
      if (hit !== undefined) {
        children = hit.children
        cached = hit
        continue
      }
      const recent = cache?.recent[d + 1]
      if (recent !== undefined && sharesPrefix(path, recent.path, d + 1)) {
        children = recent.children
        continue
      }
      children = readInner(path, d + 1, scope)
      if (children === undefined) throw new TreeCorruptError(`node ${where(path, d + 1)}`, 'missing')
      if (cache === undefined) continue
      if (d + 1 <= CACHED_DEPTH) cached = cached!.below[digit] = { children, below: [] }
      else cache.recent[d + 1] = { path: path.slice(), children }
    }
  }

  function readBucketValue(path: Uint8Array, depth: number, scope: ReadScope): Uint8Array {
    scope.check?.()
    const value = store.get(bucketKey(path, depth), scope.at)
    if (value === undefined) throw new TreeCorruptError(`bucket ${where(path, depth)}`, 'missing')
    return value
  }

  /** The leaf count a stored bucket declares (uniform keys: its length, which must be whole records). */
  function storedLeafCount(value: Uint8Array): number {
    if (keysAreHashes) return value.length % RECORD_BYTES === 0 ? value.length / RECORD_BYTES : -1
    try {
      return new ByteReader(value).varint(value.length)
    } catch {
      return -1
    }
  }

  /**
   * Uniform keys: the stored records of the leaves of a located bucket that lie under (`path`,
   * `depth`), a contiguous run since records are in path order. A run shorter than the bucket is
   * copied out, so what a session keeps of it does not pin the whole bucket.
   */
  function recordsUnder(located: { value: Uint8Array }, path: Uint8Array, depth: number): Uint8Array {
    const { value } = located
    let from = 0
    while (from < value.length && !sharesPrefix(value, path, depth, from)) from += RECORD_BYTES
    let to = from
    while (to < value.length && sharesPrefix(value, path, depth, to)) to += RECORD_BYTES
    return from === 0 && to === value.length ? value : value.slice(from, to)
  }

  /** The leaves of a located bucket that lie under (`path`, `depth`), in path order. */
  function leavesUnder(
    located: { depth: number; path: Uint8Array; value: Uint8Array },
    path: Uint8Array,
    depth: number,
  ): StoredLeaf[] {
    const label = () => `bucket ${where(located.path, located.depth)}`
    if (keysAreHashes) {
      const records = recordsUnder(located, path, depth)
      return records.length === 0 ? [] : decodeStoredBucket(records, label)
    }
    const leaves = decodeStoredBucket(located.value, label)
    return depth <= located.depth ? leaves : leaves.filter((leaf) => sharesPrefix(leaf.path, path, depth))
  }

  const sink: NodeSink<StoredLeaf> = {
    inner: (path, depth, encoded) => store.put(nodeKey(path, depth), encoded),
    bucket: (path, depth, leaves) => store.put(bucketKey(path, depth), encodeBucket(leaves, keysAreHashes)),
  }

  function merge(current: StoredLeaf[], changes: Change[], lo: number, hi: number): StoredLeaf[] {
    const out: StoredLeaf[] = []
    let i = 0
    let j = lo
    while (i < current.length || j < hi) {
      const order =
        j === hi ? -1 : i === current.length ? 1 : compareBytes(current[i]!.path, changes[j]!.path)
      if (order < 0) {
        out.push(current[i++]!)
        continue
      }
      const change = changes[j++]!
      if (order === 0) i++
      if (change.valueHash !== null)
        out.push({ path: change.path, valueHash: change.valueHash, key: change.key })
    }
    return out
  }

  /**
   * Brings the subtree at (`changes[lo].path`, `depth`) up to date with `changes[lo..hi)`,
   * rewriting each touched inner node and bucket once per batch.
   */
  function refresh(
    changes: Change[],
    lo: number,
    hi: number,
    depth: number,
    state: 'inner' | 'bucket' | 'empty',
  ) {
    const path = changes[lo]!.path
    if (state !== 'inner' && keysAreHashes) {
      const key = bucketKey(path, depth)
      // The store lends lmdb's shared read buffer; mergeRecords copies out of it at once.
      const length = state === 'bucket' ? store.lend(key) : 0
      if (length < 0 || length % RECORD_BYTES !== 0) {
        throw new TreeCorruptError(`bucket ${where(path, depth)}`, 'missing or misaligned')
      }
      const out = scratch.reserve(1 + length + (hi - lo) * RECORD_BYTES)
      out[0] = BUCKET_HASH_TAG
      const size = mergeRecords(length === 0 ? EMPTY_BYTES : store.lent, length, changes, lo, hi, out, 1)
      const count = size / RECORD_BYTES
      if (depth > 0 && count > 0 && count <= BUCKET_MAX) {
        store.put(key, scratch.view(1, 1 + size))
        return { hash: hashTagged(scratch.view(0, 1 + size)), count }
      }
      if (state === 'bucket') store.remove(key)
      if (count === 0) return undefined
      return buildSubtree(new LeafCursor(decodeBucket(out.slice(1, 1 + size), true)), path, depth, sink)
    }
    if (state !== 'inner') {
      const current = state === 'bucket' ? readBucket(path, depth) : []
      const leaves = merge(current, changes, lo, hi)
      if (state === 'bucket' && (leaves.length === 0 || leaves.length > BUCKET_MAX)) {
        store.remove(bucketKey(path, depth))
      }
      return buildSubtree(new LeafCursor(leaves), path, depth, sink)
    }
    return refreshInner(changes, lo, hi, depth, path)
  }

  /**
   * The inner-node half of {@link refresh}: the stored encoding is copied into this depth's buffer
   * (the batch descends one path at a time, so it stays valid while the children are refreshed),
   * and the new encoding copies the entries of untouched children from it as they are.
   */
  function refreshInner(changes: Change[], lo: number, hi: number, depth: number, path: Uint8Array) {
    const fanout = fanoutAt(depth)
    const { stored, layout, next, touched } = scratch.work(depth, fanout)
    const length = store.lend(nodeKey(path, depth))
    if (length < 0) throw new TreeCorruptError(`node ${where(path, depth)}`, 'missing')
    if (length > stored.length) throw new TreeCorruptError(`node ${where(path, depth)}`, `${length} bytes`)
    // Copied with `set` (a memcpy) rather than a byte loop: this function's own time, these loops
    // and the untouched entries' copy below most of it, was 3.8 µs of a 10-record crdt call's 26 µs
    // per record in the Merkle update and 20 µs of a one-record call (`call-probe.ts` profiles,
    // session 18; merkle README "Session 18").
    stored.set(store.lent.subarray(0, length))
    try {
      readNodeLayout(stored, length, fanout, layout)
    } catch (error) {
      throw new TreeCorruptError(`node ${where(path, depth)}`, String(error))
    }
    touched.fill(0)
    let i = lo
    while (i < hi) {
      const digit = digitAt(changes[i]!.path, depth)
      let j = i + 1
      while (j < hi && digitAt(changes[j]!.path, depth) === digit) j++
      const childState =
        layout.start[digit]! < 0 ? 'empty' : layout.count[digit]! > BUCKET_MAX ? 'inner' : 'bucket'
      next[digit] = refresh(changes, i, j, depth + 1, childState)
      touched[digit] = 1
      i = j
    }
    // Which children are present now, and how many leaves they hold, in one pass.
    let mask = 0
    let count = 0
    for (let d = 0; d < fanout; d++) {
      if (touched[d] === 1) {
        const child = next[d]
        if (child === undefined) continue
        count += child.count
      } else if (layout.start[d]! >= 0) count += layout.count[d]!
      else continue
      mask = or(mask, bit(d))
    }
    if (count === 0 || (depth > 0 && count <= BUCKET_MAX)) {
      // Shrunk into a bucket (or to nothing): its children are all buckets by now.
      store.remove(nodeKey(path, depth))
      const leaves: StoredLeaf[] = []
      for (let d = 0; d < fanout; d++) {
        if (!has(mask, d)) continue
        const under = childPath(path, depth, d)
        leaves.push(...readBucket(under, depth + 1))
        store.remove(bucketKey(under, depth + 1))
      }
      return buildSubtree(new LeafCursor(leaves), path, depth, sink)
    }
    // Mask, then each present child's entry: rewritten ones from `next`, the rest copied.
    const out = scratch.reserve(1 + maxEncodedNodeBytes(fanout))
    out[0] = INNER_HASH_TAG
    let o = writeMaskAt(out, 1, mask, fanout)
    // The entries of untouched children between two touched ones (present or removed) are
    // contiguous in `stored`: each such run is copied in one `set`.
    let run = -1
    let runEnd = -1
    for (let d = 0; d < fanout; d++) {
      if (touched[d] !== 1) {
        if (!has(mask, d)) continue
        if (run < 0) run = layout.start[d]!
        runEnd = layout.end[d]!
        continue
      }
      if (run >= 0) o = copyRun(out, o, stored, run, runEnd)
      run = -1
      if (has(mask, d)) o = encodeEntry(next[d]!, out, o)
    }
    if (run >= 0) o = copyRun(out, o, stored, run, runEnd)
    next.fill(undefined)
    store.put(nodeKey(path, depth), scratch.view(1, o))
    return { hash: hashTagged(scratch.view(0, o)), count }
  }

  /** Buckets from the one holding `from` (or the first after it) onwards, as leaves in path order. */
  function* leavesFrom(
    from: Uint8Array | undefined,
    end: Uint8Array,
    scope: ReadScope = {},
  ): Generator<StoredLeaf> {
    let start: Uint8Array = BUCKET_FIRST
    if (from !== undefined) {
      const located = locate(from, MAX_DEPTH, scope)
      start = located?.kind === 'bucket' ? bucketKey(from, located.depth) : bucketStartKey(from)
    }
    for (const { key, value } of store.range(start, end, scope.at)) {
      scope.check?.()
      yield* decodeStoredBucket(value, () => `bucket ${toHex(key)}`)
    }
  }

  function node(position: TreePosition, scope?: ReadScope): TreeNode | undefined {
    const { path, depth } = checkPosition(position)
    const located = locate(path, depth, scope)
    if (located === undefined) return undefined
    if (located.kind === 'inner') return new InnerNode(located.children)
    if (keysAreHashes) {
      const records = recordsUnder(located, path, depth)
      return records.length === 0 ? undefined : new BucketNode(undefined, records)
    }
    const leaves = leavesUnder(located, path, depth)
    return leaves.length === 0 ? undefined : new BucketNode(leaves)
  }

  return {
    name,
    keysAreHashes,
    pathOf: (key) => new Uint8Array(pathOf(key)),
    update(changes) {
      const batch = normalize(changes, pathOf)
      if (batch.length === 0) return
      // Inside the caller's transaction the batch writes straight into it; outside one, it is a
      // transaction of its own (see NodeStore.write).
      store.write(() => {
        if (store.get(META_KEY) === undefined) store.put(META_KEY, meta)
        // Only whether the root exists: refreshInner reads and checks it.
        const root = store.has(nodeKey(ROOT_PATH, 0)) ? 'inner' : 'empty'
        refresh(batch, 0, batch.length, 0, root)
      })
    },
    root: () => rootHash(readRoot()),
    count: () => rootCount(readRoot()),
    get(key) {
      const path = pathOf(key)
      const located = locate(path, MAX_DEPTH)
      if (located?.kind !== 'bucket') return undefined
      const leaf = leavesUnder(located, path, MAX_DEPTH).find((l) => equalBytes(l.path, path))
      return leaf === undefined ? undefined : new Uint8Array(leaf.valueHash)
    },
    *leaves(range = {}) {
      const start = range.start === undefined ? undefined : checkBound(range.start, 'start')
      const end = range.end === undefined ? undefined : checkBound(range.end, 'end')
      const limit = range.limit ?? Number.POSITIVE_INFINITY
      if (range.limit !== undefined && !(Number.isSafeInteger(range.limit) && range.limit >= 0)) {
        throw new MerkleInputError('limit', 'expected a non-negative integer')
      }
      let n = 0
      if (n >= limit) return
      for (const leaf of leavesFrom(start, BUCKET_END)) {
        if (start !== undefined && compareBytes(leaf.path, start) < 0) continue
        if (end !== undefined && compareBytes(leaf.path, end) >= 0) return
        yield { key: new Uint8Array(leaf.key), valueHash: new Uint8Array(leaf.valueHash) }
        if (++n >= limit) return
      }
    },
    verify: () => verifyLogged(store, keysAreHashes, name),
    node,
    children,
    leavesAt: (position, after) => leavesAt(position, after),
    snapshot,
  }

  function snapshot(): TreeSnapshot {
    const transaction = store.readTransaction()
    let released = false
    const scope: ReadScope = {
      cache: { recent: [] },
      at: { transaction },
      check() {
        if (released) throw new SnapshotStateError(`tree ${name}: the snapshot was released`)
      },
    }
    return {
      node: (position) => node(position, scope),
      children,
      leavesAt: (position, after) => leavesAt(position, after, scope),
      root: () => rootHash(readRoot(scope)),
      count: () => rootCount(readRoot(scope)),
      get released() {
        return released
      },
      release() {
        if (released) return
        released = true
        if (scope.cache !== undefined) {
          scope.cache.root = undefined
          scope.cache.recent = []
        }
        try {
          transaction.done()
        } catch {
          // The environment was closed first, which already ended the transaction.
        }
      },
    }
  }

  function children(treeNode: TreeNode, depth: number): Children {
    if (treeNode.kind === 'inner') return treeNode.children
    if (treeNode instanceof BucketNode && treeNode.records !== undefined) {
      return recordChildren(treeNode.records, depth)
    }
    return bucketChildren(treeNode.leaves, depth)
  }

  function* leavesAt(position: TreePosition, after?: Uint8Array, scope: ReadScope = {}): Generator<TreeLeaf> {
    const { path, depth } = checkPosition(position)
    const located = locate(path, depth, scope)
    if (located === undefined) return
    if (located.kind === 'bucket') {
      for (const leaf of leavesUnder(located, path, depth)) {
        if (after === undefined || compareBytes(leaf.path, after) > 0) yield leaf
      }
      return
    }
    const from = after !== undefined && sharesPrefix(after, path, depth) ? after : undefined
    for (const leaf of bucketsBelow(path, depth, located.children, from, scope)) {
      if (from === undefined || compareBytes(leaf.path, from) > 0) yield leaf
    }
  }

  /**
   * The leaves of every bucket below the inner node at (`path`, `depth`), in path order, read by
   * point gets down the inner nodes rather than by a range read over the bucket keys. lmdb-js
   * range reads (`getRange`, with or without an explicit read transaction) keep native memory per
   * iterator, about 0.1 KiB each after a write renewed the read transaction, and grow V8's heap;
   * point gets in the same transaction do not (packages/merkle/bench/lmdb-range-growth.mjs).
   * With `from`, subtrees wholly before it are skipped.
   */
  function* bucketsBelow(
    path: Uint8Array,
    depth: number,
    children: Children,
    from: Uint8Array | undefined,
    scope: ReadScope,
  ): Generator<StoredLeaf> {
    const low = from === undefined ? 0 : digitAt(from, depth)
    for (let digit = low; digit < children.length; digit++) {
      const child = children[digit]
      if (child === undefined) continue
      const below = childPath(path, depth, digit)
      const after = digit === low ? from : undefined
      if (child.count <= BUCKET_MAX) {
        const value = readBucketValue(below, depth + 1, scope)
        yield* decodeStoredBucket(value, () => `bucket ${where(below, depth + 1)}`)
        continue
      }
      const inner = readInner(below, depth + 1, scope)
      if (inner === undefined) throw new TreeCorruptError(`node ${where(below, depth + 1)}`, 'missing')
      yield* bucketsBelow(below, depth + 1, inner, after, scope)
    }
  }
}

/** Copies `from[start..end)` to `out[at]`; returns the end. */
function copyRun(out: Uint8Array, at: number, from: Uint8Array, start: number, end: number): number {
  out.set(from.subarray(start, end), at)
  return at + end - start
}

// Reconciliation reads a node's children and leaves, never its own hash, so the hash is computed
// on access. A getter on a class prototype, not in an object literal: a literal's getter closure
// gave every node its own hidden class, which cost 65 MiB in a 1M, d = 10,000 session.
class InnerNode {
  readonly kind = 'inner'
  readonly count: number
  constructor(readonly children: Children) {
    this.count = totalCount(children)
  }
  get hash(): Uint8Array {
    return innerHash(encodeNode(this.children))
  }
}

/**
 * With uniform keys a bucket node keeps its stored records and decodes them into leaves only when
 * asked: a session lists the children of most buckets it visits, which {@link recordChildren}
 * hashes from the records directly.
 */
class BucketNode {
  readonly kind = 'bucket'
  private decoded: TreeLeaf[] | undefined
  constructor(
    leaves: TreeLeaf[] | undefined,
    readonly records?: Uint8Array,
  ) {
    this.decoded = leaves
  }
  get leaves(): TreeLeaf[] {
    this.decoded ??= decodeBucket(this.records!, true)
    return this.decoded
  }
  get count(): number {
    return this.records === undefined ? this.leaves.length : this.records.length / RECORD_BYTES
  }
  get hash(): Uint8Array {
    return this.records === undefined
      ? hashBucket(this.leaves)!.hash
      : hashRecords(this.records, 0, this.records.length)
  }
}

function verifyLogged(store: NodeStore, keysAreHashes: boolean, name: string): VerifyReport {
  const report = store.verify(keysAreHashes)
  if (!report.ok)
    warnLog('tree %s: %d mismatches, first %s', name, report.mismatches.length, report.mismatches[0])
  return report
}

function rootHash(children: Children | undefined): Uint8Array {
  return children === undefined ? EMPTY_ROOT.slice() : innerHash(encodeNode(children))
}

function rootCount(children: Children | undefined): number {
  return children === undefined ? 0 : totalCount(children)
}

/** A lower bound for the keys of buckets that start after `path` (see bucketKey). */
function bucketStartKey(path: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + PATH_BYTES)
  key[0] = BUCKET_KEY_TAG
  key.set(path, 1)
  return key
}

function checkBound(bound: Uint8Array, field: string): Uint8Array {
  if (!(bound instanceof Uint8Array) || bound.length > PATH_BYTES) {
    throw new MerkleInputError(field, `expected at most ${PATH_BYTES} bytes`)
  }
  const padded = new Uint8Array(PATH_BYTES)
  padded.set(bound)
  return padded
}

function checkPosition(position: TreePosition): TreePosition {
  const { path, depth } = position ?? {}
  if (!(path instanceof Uint8Array) || path.length !== PATH_BYTES) {
    throw new MerkleInputError('position.path', `expected ${PATH_BYTES} bytes`)
  }
  if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH) {
    throw new MerkleInputError('position.depth', `expected an integer in [0, ${MAX_DEPTH}]`)
  }
  return position
}

function checkKey(key: Uint8Array, keysAreHashes: boolean, field: string): void {
  if (!(key instanceof Uint8Array)) throw new MerkleInputError(field, 'expected a Uint8Array')
  if (keysAreHashes) {
    if (key.length !== PATH_BYTES)
      throw new MerkleInputError(field, `expected ${PATH_BYTES} bytes (keysAreHashes)`)
  } else if (key.length === 0 || key.length > MAX_KEY_BYTES) {
    throw new MerkleInputError(field, `expected 1 to ${MAX_KEY_BYTES} bytes, got ${key.length}`)
  }
}

function normalize(changes: Iterable<TreeChange>, pathOf: (key: Uint8Array) => Uint8Array): Change[] {
  if (changes == null || typeof (changes as Iterable<TreeChange>)[Symbol.iterator] !== 'function') {
    throw new MerkleInputError('changes', 'expected an iterable of { key, valueHash }')
  }
  const list: Change[] = []
  for (const change of changes) {
    const { key, valueHash } = change ?? {}
    const path = pathOf(key)
    if (valueHash !== null && !(valueHash instanceof Uint8Array && valueHash.length === HASH_BYTES)) {
      throw new MerkleInputError('valueHash', `expected ${HASH_BYTES} bytes or null`)
    }
    const head = ((path[0]! << 24) | (path[1]! << 16) | (path[2]! << 8) | path[3]!) >>> 0
    list.push({ key, path, valueHash, head })
  }
  // Array.prototype.sort is stable, so changes to one key stay in input order and the last wins.
  list.sort((a, b) => a.head - b.head || compareBytes(a.path, b.path))
  const out: Change[] = []
  for (let i = 0; i < list.length; i++) {
    const next = list[i + 1]
    if (next === undefined || !equalBytes(next.path, list[i]!.path)) out.push(list[i]!)
  }
  return out
}

function encodeMeta(keysAreHashes: boolean): Uint8Array {
  const w = new ByteWriter(8)
  w.u8(FORMAT_VERSION)
  w.u8(BUCKET_MAX)
  w.u8(keysAreHashes ? 1 : 0)
  return w.finish()
}

function checkMeta(stored: Uint8Array | undefined, expected: Uint8Array, name: string): void {
  log('%s tree %s', stored === undefined ? 'new' : 'opening', name)
  if (stored === undefined || equalBytes(stored, expected)) return
  if (stored[0] !== expected[0] || stored[1] !== expected[1]) {
    throw new TreeCorruptError(`tree ${name}`, `stored format ${toHex(stored)} is not ${toHex(expected)}`)
  }
  throw new MerkleInputError(
    'keysAreHashes',
    `tree ${name} was created with keysAreHashes = ${stored[2] === 1}`,
  )
}
