/**
 * Wire encoding of reconciliation protocol 2 (salted fingerprints): the parts that differ from
 * protocol 1. Children and leaves are described by fingerprints `width` bytes wide instead of
 * 128-bit hashes; a leaf list from the initiator is fingerprints only, answered by a bit per leaf
 * and the keys of the responder's unmatched leaves. Answers to children descriptions, keys and
 * masks are protocol 1's (wire.ts).
 */
import { popcount } from './bits.js'
import type { ByteReader, ByteWriter } from './bytes.js'
import { MalformedMessageError } from './errors.js'
import type { Fingerprinter } from './fingerprint.js'
import type { Children } from './node-codec.js'
import type { TreeLeaf } from './tree.js'
import {
  type KeyContext,
  LEAF_LIST_MAX,
  readChildrenHead,
  readKey,
  writeChildrenHead,
  writeKey,
} from './wire.js'

export const SALTED_PROTOCOL_VERSION = 2

const LEAF_ANSWER = 0
const LEAF_EXPAND = 1

/** Room for the widest fingerprint (a reused scratch buffer, never a view per child). */
const scratch = new Uint8Array(8)

export function writeChildrenFingerprints(w: ByteWriter, children: Children, fp: Fingerprinter): number {
  const mask = writeChildrenHead(w, children)
  for (const child of children) {
    if (child === undefined) continue
    fp.child(child.hash, scratch, 0)
    w.bytes(scratch, fp.width)
  }
  return mask
}

/** Initiator's leaf list: a count, then one fingerprint per leaf in path order. */
export function writeLeafFingerprints(w: ByteWriter, leaves: readonly TreeLeaf[], fp: Fingerprinter): void {
  w.u8(leaves.length)
  for (const leaf of leaves) {
    fp.leaf(leaf.path, leaf.valueHash, scratch, 0)
    w.bytes(scratch, fp.width)
  }
}

/** Responder's leaf list: a count, then each key and its leaf fingerprint, in path order. */
export function writeKeyedLeaves(
  w: ByteWriter,
  leaves: readonly TreeLeaf[],
  ctx: KeyContext,
  fp: Fingerprinter,
): void {
  w.u8(leaves.length)
  for (const leaf of leaves) {
    writeKey(w, leaf.key, ctx)
    fp.leaf(leaf.path, leaf.valueHash, scratch, 0)
    w.bytes(scratch, fp.width)
  }
}

export type SaltedDescription =
  /** fps: the present children's fingerprints back to back (one view). */
  | { kind: 'children'; bitmap: number; fps: Uint8Array }
  /** An initiator's list: fingerprints only, back to back. */
  | { kind: 'fingerprints'; count: number; fps: Uint8Array }
  /** A responder's list: keys and a fingerprint each. */
  | { kind: 'keyed'; leaves: Array<{ key: Uint8Array; fp: Uint8Array }> }

export function readSaltedDescription(
  r: ByteReader,
  ctx: KeyContext,
  fanout: number,
  width: number,
  fromInitiator: boolean,
): SaltedDescription {
  const head = r.u8()
  const bitmap = readChildrenHead(r, head, fanout)
  if (bitmap !== undefined) return { kind: 'children', bitmap, fps: r.bytes(popcount(bitmap) * width) }
  if (head > LEAF_LIST_MAX) throw new MalformedMessageError(`unknown description header ${head}`)
  if (fromInitiator) return { kind: 'fingerprints', count: head, fps: r.bytes(head * width) }
  const leaves: Array<{ key: Uint8Array; fp: Uint8Array }> = []
  for (let i = 0; i < head; i++) {
    const key = readKey(r, ctx)
    leaves.push({ key, fp: r.bytes(width) })
  }
  return { kind: 'keyed', leaves }
}

/** Responder's answer to a leaf list: a bit per listed leaf (set: I hold it), then my other keys. */
export function writeLeafAnswer(
  w: ByteWriter,
  matched: readonly boolean[],
  keys: readonly Uint8Array[],
  ctx: KeyContext,
): void {
  w.u8(LEAF_ANSWER)
  writeBits(w, matched)
  w.varint(keys.length)
  for (const key of keys) writeKey(w, key, ctx)
}

export function writeExpandAnswer(w: ByteWriter): void {
  w.u8(LEAF_EXPAND)
}

/** The answer to a leaf list: `expand` (the responder describes the node instead) or the bits. */
export function readLeafAnswerHead(r: ByteReader, count: number): 'expand' | boolean[] {
  const mode = r.u8()
  if (mode === LEAF_EXPAND) return 'expand'
  if (mode !== LEAF_ANSWER) throw new MalformedMessageError(`unknown leaf answer mode ${mode}`)
  return readBits(r, count)
}

/** Bits packed eight per byte, first in the high bit; padding bits zero. */
function writeBits(w: ByteWriter, bits: readonly boolean[]): void {
  for (let i = 0; i < bits.length; i += 8) {
    let byte = 0
    // `!==`, not `<`: with `<=` a ninth bit would OR in 0x80 >>> 8, which is 0 (an equivalent mutant).
    for (let j = 0; j !== 8; j++) if (bits[i + j] === true) byte |= 0x80 >>> j
    w.u8(byte)
  }
}

function readBits(r: ByteReader, count: number): boolean[] {
  const bits: boolean[] = []
  for (let i = 0; i < count; i += 8) {
    const byte = r.u8()
    for (let j = 0; j < 8; j++) {
      const set = (byte & (0x80 >>> j)) !== 0
      if (i + j < count) bits.push(set)
      else if (set) throw new MalformedMessageError('padding bits set')
    }
  }
  return bits
}
