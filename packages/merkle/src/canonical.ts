import { hashLeaves, hashRecords, innerHash, RECORD_BYTES } from './hash.js'
import { type ChildEntry, type Children, emptyChildren, encodeNode, totalCount } from './node-codec.js'
import { digitAt, fanoutAt, sharesPrefix } from './path.js'

/**
 * The shape of the tree is a function of the set alone, which is what makes it history
 * independent: a subtree below the root holding at most BUCKET_MAX leaves is a *bucket*, hashed
 * from its leaves in path order; anything larger (and the root, always) is an *inner node* over
 * its child subtrees. Each bucket is stored as one LMDB value (see bucket-codec.ts).
 */
export const BUCKET_MAX = 32

export interface LeafRecord {
  path: Uint8Array
  valueHash: Uint8Array
}

export function hashBucket(
  leaves: readonly LeafRecord[],
  from = 0,
  to = leaves.length,
): ChildEntry | undefined {
  return to > from ? { hash: hashLeaves(leaves, from, to), count: to - from } : undefined
}

/** A sorted stream of leaves with look-ahead and push-back, so subtrees can be cut from it. */
export class LeafCursor<L extends LeafRecord = LeafRecord> {
  private readonly pushed: L[] = []
  private readonly source: Iterator<L>
  private head: L | undefined
  private exhausted = false

  constructor(leaves: Iterable<L>) {
    this.source = leaves[Symbol.iterator]()
  }

  peek(): L | undefined {
    if (this.pushed.length > 0) return this.pushed[this.pushed.length - 1]
    if (this.head === undefined && !this.exhausted) {
      const next = this.source.next()
      // Stryker disable next-line ConditionalExpression,BooleanLiteral: equivalent, a finished iterator keeps answering done
      if (next.done) this.exhausted = true
      else this.head = next.value
    }
    return this.head
  }

  take(): L | undefined {
    const leaf = this.peek()
    if (this.pushed.length > 0) this.pushed.pop()
    else this.head = undefined
    return leaf
  }

  /** Puts `leaves` (in order) back in front of the stream. */
  unread(leaves: L[]): void {
    for (let i = leaves.length - 1; i >= 0; i--) this.pushed.push(leaves[i]!)
  }
}

/** Told about every node the canonical build produces: inner nodes encoded, buckets as leaves. */
export interface NodeSink<L extends LeafRecord = LeafRecord> {
  inner(path: Uint8Array, depth: number, encoded: Uint8Array): void
  bucket?(path: Uint8Array, depth: number, leaves: L[]): void
}

/**
 * Consumes every leaf of `cursor` under (`path`, `depth`) and returns that subtree's entry,
 * reporting each inner node to `sink`. Memory stays at BUCKET_MAX leaves per level: a subtree is
 * only known to be a bucket once BUCKET_MAX + 1 leaves have been looked at.
 */
export function buildSubtree<L extends LeafRecord>(
  cursor: LeafCursor<L>,
  path: Uint8Array,
  depth: number,
  sink: NodeSink<L>,
): ChildEntry | undefined {
  const head: L[] = []
  for (let leaf = cursor.peek(); leaf !== undefined; leaf = cursor.peek()) {
    // Stryker disable next-line ConditionalExpression: equivalent in result, the bound only keeps memory at BUCKET_MAX leaves
    if (!sharesPrefix(leaf.path, path, depth) || head.length > BUCKET_MAX) break
    head.push(cursor.take()!)
  }
  if (head.length === 0) return undefined
  if (depth > 0 && head.length <= BUCKET_MAX) {
    sink.bucket?.(path, depth, head)
    return hashBucket(head)
  }
  cursor.unread(head)
  const children = emptyChildren(fanoutAt(depth))
  for (
    let leaf = cursor.peek();
    leaf !== undefined && sharesPrefix(leaf.path, path, depth);
    leaf = cursor.peek()
  ) {
    children[digitAt(leaf.path, depth)] = buildSubtree(cursor, leaf.path, depth + 1, sink)
  }
  const encoded = encodeNode(children)
  sink.inner(path, depth, encoded)
  return { hash: innerHash(encoded), count: totalCount(children) }
}

/** Child entries of a bucket, each itself a bucket (a subset of at most BUCKET_MAX leaves). */
export function bucketChildren(leaves: readonly LeafRecord[], depth: number): Children {
  const children = emptyChildren(fanoutAt(depth))
  let i = 0
  while (i < leaves.length) {
    const digit = digitAt(leaves[i]!.path, depth)
    let j = i + 1
    while (j < leaves.length && digitAt(leaves[j]!.path, depth) === digit) j++
    children[digit] = hashBucket(leaves, i, j)
    i = j
  }
  return children
}

/**
 * {@link bucketChildren} straight from a uniform-key bucket's stored records (path ‖ value hash,
 * in path order): a session lists the children of thousands of buckets, and decoding each into
 * leaf objects and views first was most of what it allocated.
 */
export function recordChildren(records: Uint8Array, depth: number): Children {
  const children = emptyChildren(fanoutAt(depth))
  const end = records.length
  let i = 0
  while (i < end) {
    const digit = digitAt(records, depth, i)
    let j = i + RECORD_BYTES
    while (j < end && digitAt(records, depth, j) === digit) j += RECORD_BYTES
    children[digit] = { hash: hashRecords(records, i, j), count: (j - i) / RECORD_BYTES }
    i = j
  }
  return children
}
