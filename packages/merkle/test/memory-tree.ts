import { compareBytes, equalBytes } from '../src/bytes.js'
import { BUCKET_MAX, bucketChildren, buildSubtree, hashBucket, LeafCursor } from '../src/canonical.js'
import { innerHash, pathOfKey } from '../src/hash.js'
import { type Children, encodeNode, totalCount } from '../src/node-codec.js'
import { childPath, fanoutAt, nodeKey, PATH_BYTES, prefixBits, sharesPrefix } from '../src/path.js'
// Types only: the model opens no LMDB environment (tree.ts is loaded all the same, through wire.ts).
import type { MerkleTree, TreeLeaf, TreeNode, TreePosition, TreeSnapshot } from '../src/tree.js'

// A tree held in memory, with the canonical shape of the LMDB tree (canonical.ts) computed from its
// sorted leaves on every read. It exists so the reconciliation session (session.ts, reconcile.ts)
// can be tested, and mutation-tested, without I/O: a session over two of these takes about a
// millisecond, where the same session over LMDB trees opens an environment per test file and
// writes every leaf. `memory-tree.test.ts` checks it against the LMDB tree, node for node.

export interface MemoryTree extends MerkleTree {
  /** Snapshots taken and released so far (a session takes one and must release it). */
  readonly snapshots: { taken: number; released: number }
}

/** Entries are [key, value hash]; a later entry for the same key replaces an earlier one. */
export function memoryTree(
  entries: Iterable<readonly [Uint8Array, Uint8Array]>,
  keysAreHashes = true,
): MemoryTree {
  const byPath = new Map<string, TreeLeaf>()
  for (const [key, valueHash] of entries) {
    if (keysAreHashes && key.length !== PATH_BYTES) throw new Error('memoryTree: uniform keys are 32 bytes')
    const path = keysAreHashes ? key : pathOfKey(key)
    byPath.set(Buffer.from(path).toString('hex'), { key, path, valueHash })
  }
  const leaves = [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path))
  const snapshots = { taken: 0, released: 0 }

  // The tree never changes, so what lies under a position and its node are computed once.
  const memo = new Map<string, { below: TreeLeaf[]; node?: TreeNode | undefined }>()
  const at = (pos: TreePosition) => {
    const id = Buffer.from(nodeKey(pos.path, pos.depth)).toString('hex')
    let entry = memo.get(id)
    if (entry === undefined) {
      entry = { below: range(pos) }
      memo.set(id, entry)
    }
    return entry
  }
  const under = (pos: TreePosition): TreeLeaf[] => at(pos).below

  /** The leaves under `pos`: a contiguous run of the sorted leaves, from the smallest path under it. */
  function range(pos: TreePosition): TreeLeaf[] {
    const start = new Uint8Array(PATH_BYTES)
    const bits = prefixBits(pos.depth)
    start.set(pos.path.subarray(0, bits >>> 3))
    if (bits & 7) start[bits >>> 3] = pos.path[bits >>> 3]! & (0xff << (8 - (bits & 7)))
    let lo = 0
    let hi = leaves.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes(leaves[mid]!.path, start) < 0) lo = mid + 1
      else hi = mid
    }
    let end = lo
    while (end < leaves.length && sharesPrefix(leaves[end]!.path, pos.path, pos.depth)) end++
    return leaves.slice(lo, end)
  }

  function childrenOf(pos: TreePosition, below: TreeLeaf[]): Children {
    const children: Children = []
    for (let digit = 0; digit < fanoutAt(pos.depth); digit++) {
      const path = childPath(pos.path, pos.depth, digit)
      const cursor = new LeafCursor(below.filter((l) => sharesPrefix(l.path, path, pos.depth + 1)))
      children.push(buildSubtree(cursor, path, pos.depth + 1, { inner: () => {} }))
    }
    return children
  }

  function node(pos: TreePosition): TreeNode | undefined {
    const entry = at(pos)
    if (!('node' in entry)) entry.node = nodeOf(pos, entry.below)
    return entry.node
  }

  function nodeOf(pos: TreePosition, below: TreeLeaf[]): TreeNode | undefined {
    if (below.length === 0) return undefined
    if (pos.depth > 0 && below.length <= BUCKET_MAX) {
      return { kind: 'bucket', hash: hashBucket(below)!.hash, count: below.length, leaves: below }
    }
    const children = childrenOf(pos, below)
    return { kind: 'inner', hash: innerHash(encodeNode(children)), count: totalCount(children), children }
  }

  const children = (n: TreeNode, depth: number): Children =>
    n.kind === 'inner' ? n.children : bucketChildren(n.leaves, depth)

  function* leavesAt(pos: TreePosition, after?: Uint8Array): Generator<TreeLeaf> {
    const below = under(pos)
    // Binary search for the first leaf past `after`: a session resumes a long listing once per message.
    let lo = 0
    let hi = below.length
    while (after !== undefined && lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes(below[mid]!.path, after) > 0) hi = mid
      else lo = mid + 1
    }
    for (let i = lo; i < below.length; i++) yield below[i]!
  }

  const root = (): Uint8Array => {
    const top = node({ path: new Uint8Array(PATH_BYTES), depth: 0 })
    return top?.hash ?? innerHash(encodeNode(new Array(fanoutAt(0)).fill(undefined)))
  }

  function snapshot(): TreeSnapshot {
    snapshots.taken++
    let released = false
    const live = <T>(read: () => T): T => {
      if (released) throw new Error('memoryTree: read after release')
      return read()
    }
    return {
      node: (pos) => live(() => node(pos)),
      children: (n, depth) => live(() => children(n, depth)),
      leavesAt: (pos, after) => live(() => leavesAt(pos, after)),
      root: () => live(root),
      count: () => live(() => leaves.length),
      get released() {
        return released
      },
      release() {
        if (released) return
        released = true
        snapshots.released++
      },
    }
  }

  const unsupported = (): never => {
    throw new Error('memoryTree: read-only')
  }
  return {
    name: 'memory',
    keysAreHashes,
    snapshots,
    update: unsupported,
    root,
    count: () => leaves.length,
    get: (key) => leaves.find((l) => equalBytes(l.key, key))?.valueHash,
    leaves: () => leaves.map(({ key, valueHash }) => ({ key, valueHash })),
    verify: unsupported,
    pathOf: (key) => (keysAreHashes ? new Uint8Array(key) : pathOfKey(key)),
    node,
    children,
    leavesAt,
    snapshot,
  }
}
