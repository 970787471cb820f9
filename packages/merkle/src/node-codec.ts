import { bit, has, or, readMask, writeMaskAt } from './bits.js'
import { ByteReader } from './bytes.js'
import { HASH_BYTES } from './hash.js'

/** What a parent records about one child subtree: its hash and how many leaves it holds. */
export interface ChildEntry {
  readonly hash: Uint8Array
  readonly count: number
}

/** The child slots of an inner node (as many as the fanout at its depth); `undefined` is empty. */
export type Children = Array<ChildEntry | undefined>

export const emptyChildren = (fanout: number): Children => new Array(fanout).fill(undefined)

/**
 * Inner node encoding, stored as the LMDB value and hashed as is (after the inner-node tag): the
 * presence mask (fanout/8 bytes, child 0 first), then for each present child in order its 32-byte
 * hash and its leaf count as a minimal LEB128 varint. Counts are committed by the hash, so a peer
 * cannot claim a count its hashes do not back.
 */
export function encodeNode(children: Children): Uint8Array {
  const out = new Uint8Array(maxEncodedNodeBytes(children.length))
  let o = writeMaskAt(out, 0, presenceMask(children), children.length)
  for (const child of children) if (child !== undefined) o = encodeEntry(child, out, o)
  return out.slice(0, o)
}

/** Upper bound of {@link encodeNode}'s output for a node of `fanout` children. */
// Stryker disable next-line ArithmeticOperator: equivalent for fanout * 8, a larger buffer is sliced to what was written
export const maxEncodedNodeBytes = (fanout: number): number => fanout / 8 + fanout * (HASH_BYTES + 8)

/** One child's entry, its hash then its count (minimal LEB128), at `out[at]`; returns the end. */
export function encodeEntry(child: ChildEntry, out: Uint8Array, at: number): number {
  out.set(child.hash, at)
  let o = at + HASH_BYTES
  let count = child.count
  while (count >= 0x80) {
    out[o++] = (count % 0x80) | 0x80
    count = Math.floor(count / 0x80)
  }
  out[o++] = count
  return o
}

/** One layout per fanout for {@link decodeNode}, which copies what it needs out of it at once. */
const decodeLayouts: NodeLayout[] = []

/** Inverse of {@link encodeNode}; throws (the caller turns it into TreeCorruptError) on bad bytes. */
export function decodeNode(bytes: Uint8Array, fanout: number): Children {
  const layout = (decodeLayouts[fanout] ??= createNodeLayout(fanout))
  readNodeLayout(bytes, bytes.length, fanout, layout)
  const children = emptyChildren(fanout)
  // Stryker disable next-line EqualityOperator: equivalent, layout.start[fanout] is undefined and writes no child
  for (let i = 0; i < fanout; i++) {
    const start = layout.start[i]!
    // Stryker disable next-line EqualityOperator: equivalent, an entry starts after the mask, never at 0
    if (start >= 0) children[i] = { hash: bytes.subarray(start, start + HASH_BYTES), count: layout.count[i]! }
  }
  return children
}

/**
 * Where each child's entry (hash, then count) lies in an encoded node: lets a batch patch a node
 * by copying the entries it does not touch, instead of decoding every child into objects.
 */
export interface NodeLayout {
  /** Offset of child i's entry, or -1 when the child is absent. */
  readonly start: Int32Array
  /** Offset just past child i's entry. */
  readonly end: Int32Array
  readonly count: Float64Array
}

export const createNodeLayout = (fanout: number): NodeLayout => ({
  start: new Int32Array(fanout),
  end: new Int32Array(fanout),
  count: new Float64Array(fanout),
})

/**
 * Fills `layout` from the first `length` bytes of `bytes`, an encoded node of `fanout` children.
 * The one parser of stored nodes ({@link decodeNode} is built on it): throws a
 * MalformedMessageError on truncation, trailing bytes, a varint that is not minimal or a count
 * above Number.MAX_SAFE_INTEGER, and an Error on a child with zero leaves.
 */
export function readNodeLayout(bytes: Uint8Array, length: number, fanout: number, layout: NodeLayout): void {
  const r = new ByteReader(bytes, length)
  const mask = readMask(r, fanout)
  for (let i = 0; i < fanout; i++) {
    if (!has(mask, i)) {
      layout.start[i] = -1
      continue
    }
    layout.start[i] = r.offset
    r.skip(HASH_BYTES)
    const count = r.varint()
    if (count === 0) throw new Error('child with zero leaves')
    layout.end[i] = r.offset
    layout.count[i] = count
  }
  r.end()
}

export function totalCount(children: Children): number {
  let total = 0
  for (const child of children) if (child !== undefined) total += child.count
  return total
}

export function presenceMask(children: Children): number {
  let mask = 0
  // Stryker disable next-line EqualityOperator: equivalent, children[length] is undefined
  for (let i = 0; i < children.length; i++) if (children[i] !== undefined) mask = or(mask, bit(i))
  return mask
}
