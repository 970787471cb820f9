import { bit, or, readMask } from './bits.js'
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
  let o = writeMask(out, children)
  for (const child of children) if (child !== undefined) o = encodeEntry(child, out, o)
  return out.slice(0, o)
}

/** Upper bound of {@link encodeNode}'s output for a node of `fanout` children. */
export const maxEncodedNodeBytes = (fanout: number): number => fanout / 8 + fanout * (HASH_BYTES + 8)

/** The presence mask of `children` at `out[at]`, child 0 in the high bit; returns the end. */
function writeMask(out: Uint8Array, children: Children, at = 0): number {
  let o = at
  for (let j = 0; j < children.length; j += 8) {
    let byte = 0
    for (let k = 0; k < 8; k++) if (children[j + k] !== undefined) byte |= 0x80 >>> k
    out[o++] = byte
  }
  return o
}

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

/** Inverse of {@link encodeNode}; throws (the caller turns it into TreeCorruptError) on bad bytes. */
export function decodeNode(bytes: Uint8Array, fanout: number): Children {
  const r = new ByteReader(bytes)
  const mask = readMask(r, fanout)
  const children = emptyChildren(fanout)
  for (let i = 0; i < fanout; i++) {
    if (((mask >>> i) & 1) === 0) continue
    const hash = r.bytes(HASH_BYTES)
    const count = r.varint()
    if (count === 0) throw new Error('child with zero leaves')
    children[i] = { hash, count }
  }
  r.end()
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
 * Fills `layout` from the first `length` bytes of `bytes`, an encoded node of `fanout` children,
 * with the checks {@link decodeNode} makes; throws on bad bytes.
 */
export function readNodeLayout(bytes: Uint8Array, length: number, fanout: number, layout: NodeLayout): void {
  let at = fanout / 8
  if (length < at) throw new Error('truncated')
  for (let i = 0; i < fanout; i++) {
    if ((bytes[i >>> 3]! & (0x80 >>> (i & 7))) === 0) {
      layout.start[i] = -1
      continue
    }
    layout.start[i] = at
    at += HASH_BYTES
    let count = 0
    let scale = 1
    for (let n = 0; ; n++) {
      if (at >= length || n === 8) throw new Error(at >= length ? 'truncated' : 'varint too long')
      const byte = bytes[at++]!
      count += (byte & 0x7f) * scale
      if (byte < 0x80) {
        if (byte === 0 && n > 0) throw new Error('non-minimal varint')
        break
      }
      scale *= 0x80
    }
    if (count === 0) throw new Error('child with zero leaves')
    layout.end[i] = at
    layout.count[i] = count
  }
  if (at !== length) throw new Error(`${length - at} trailing bytes`)
}

export function totalCount(children: Children): number {
  let total = 0
  for (const child of children) if (child !== undefined) total += child.count
  return total
}

export function presenceMask(children: Children): number {
  let mask = 0
  for (let i = 0; i < children.length; i++) if (children[i] !== undefined) mask = or(mask, bit(i))
  return mask
}
