import { bit, or, readMask, writeMask } from './bits.js'
import { ByteReader, ByteWriter } from './bytes.js'
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
  const w = new ByteWriter(4 + children.length * (HASH_BYTES + 4))
  writeMask(w, presenceMask(children), children.length)
  for (const child of children) {
    if (child === undefined) continue
    w.bytes(child.hash)
    w.varint(child.count)
  }
  return w.finish()
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
