/**
 * Wire encoding of reconciliation messages (see the README for the full grammar). Positions of
 * nodes are never sent: both sides derive them from the order of earlier messages, so a node
 * costs its hashes and a few bits, not its path.
 */
import { and, bit, full, has, popcount, readMask, writeMask } from './bits.js'
import type { ByteReader, ByteWriter } from './bytes.js'
import { MalformedMessageError } from './errors.js'
import { WIRE_HASH_BYTES } from './hash.js'
import { type Children, presenceMask } from './node-codec.js'
import { PATH_BYTES, prefixBits } from './path.js'
import { MAX_KEY_BYTES } from './tree.js'

export const PROTOCOL_VERSION = 1

/** Most leaves a node may be described by; larger nodes are described by their children. */
export const LEAF_LIST_MAX = 32

// First byte of a node description.
const DESC_ALL_CHILDREN = 0xff
const DESC_SOME_CHILDREN = 0xfe

// First byte of an answer to a children description.
const REPLY_SAME_PRESENCE = 0
const REPLY_OWN_PRESENCE = 1
const REPLY_ONE_DIFFERS = 2

// Status of each leaf the initiator listed, in the responder's answer.
export const LEAF_SAME = 0
export const LEAF_DIFFERS = 1
export const LEAF_MISSING = 2

/**
 * Where a key is sent, and what both sides already know of it: uniform keys are their own paths,
 * so the whole bytes of the node's prefix (`depth` nibbles) are left out.
 */
export interface KeyContext {
  keysAreHashes: boolean
  /** Path of the node the key is listed under, and its depth. */
  path: Uint8Array
  depth: number
}

const impliedBytes = (ctx: KeyContext) => (ctx.keysAreHashes ? prefixBits(ctx.depth) >>> 3 : 0)

export function writeKey(w: ByteWriter, key: Uint8Array, ctx: KeyContext): void {
  if (!ctx.keysAreHashes) w.varint(key.length)
  const skip = impliedBytes(ctx)
  // Stryker disable next-line ConditionalExpression: equivalent, subarray(0) is the whole key
  w.bytes(skip === 0 ? key : key.subarray(skip))
}

export function readKey(r: ByteReader, ctx: KeyContext): Uint8Array {
  if (!ctx.keysAreHashes) {
    const length = r.varint(MAX_KEY_BYTES)
    if (length === 0) throw new MalformedMessageError('empty key')
    return r.bytes(length)
  }
  const skip = impliedBytes(ctx)
  // Stryker disable next-line ConditionalExpression: equivalent, the general path copies no implied byte and reads all 32
  if (skip === 0) return r.bytes(PATH_BYTES)
  const key = new Uint8Array(PATH_BYTES)
  key.set(ctx.path.subarray(0, skip))
  key.set(r.bytes(PATH_BYTES - skip), skip)
  return key
}

/** Bytes a key can take on the wire, for budgeting. */
export const maxKeyBytes = (keysAreHashes: boolean): number =>
  keysAreHashes ? PATH_BYTES : MAX_KEY_BYTES + 2

export const bitmapOf = presenceMask

/**
 * The head of a children description (both protocols): DESC_ALL_CHILDREN when every child is
 * present, else DESC_SOME_CHILDREN and the presence mask, which is returned.
 */
export function writeChildrenHead(w: ByteWriter, children: Children): number {
  const fanout = children.length
  const mask = presenceMask(children)
  if (mask === full(fanout)) w.u8(DESC_ALL_CHILDREN)
  else {
    w.u8(DESC_SOME_CHILDREN)
    writeMask(w, mask, fanout)
  }
  return mask
}

/**
 * The presence mask of a children description whose first byte is `head` (both protocols), or
 * undefined when `head` starts a leaf list.
 */
export function readChildrenHead(r: ByteReader, head: number, fanout: number): number | undefined {
  if (head !== DESC_ALL_CHILDREN && head !== DESC_SOME_CHILDREN) return undefined
  const bitmap = head === DESC_ALL_CHILDREN ? full(fanout) : readMask(r, fanout)
  if (bitmap === 0) throw new MalformedMessageError('node described with no children')
  if (head === DESC_SOME_CHILDREN && bitmap === full(fanout))
    throw new MalformedMessageError('non-canonical description')
  return bitmap
}

export function writeChildrenDescription(w: ByteWriter, children: Children): void {
  writeChildrenHead(w, children)
  for (const child of children) if (child !== undefined) w.bytes(child.hash, WIRE_HASH_BYTES)
}

export interface WireLeaf {
  key: Uint8Array
  valueHash: Uint8Array
}

export function writeLeavesDescription(w: ByteWriter, leaves: readonly WireLeaf[], ctx: KeyContext): void {
  w.u8(leaves.length)
  for (const leaf of leaves) {
    writeKey(w, leaf.key, ctx)
    w.bytes(leaf.valueHash, WIRE_HASH_BYTES)
  }
}

export type Description =
  /** bitmap: presence mask; hashes: the present children's wire hashes, back to back (one view). */
  { kind: 'children'; bitmap: number; hashes: Uint8Array } | { kind: 'leaves'; leaves: WireLeaf[] }

export function readDescription(r: ByteReader, ctx: KeyContext, fanout: number): Description {
  const head = r.u8()
  const bitmap = readChildrenHead(r, head, fanout)
  if (bitmap !== undefined)
    return { kind: 'children', bitmap, hashes: r.bytes(popcount(bitmap) * WIRE_HASH_BYTES) }
  if (head > LEAF_LIST_MAX) throw new MalformedMessageError(`unknown description header ${head}`)
  const leaves: WireLeaf[] = []
  for (let i = 0; i < head; i++) {
    const key = readKey(r, ctx)
    leaves.push({ key, valueHash: r.bytes(WIRE_HASH_BYTES) })
  }
  return { kind: 'leaves', leaves }
}

/**
 * Answer to a children description: one byte naming the one differing child when presence
 * matches and exactly one child differs (the common case when differences are few); otherwise
 * a flag, the answering side's presence mask when it differs from the describer's, and one bit
 * per child both have, set when the hashes differ.
 */
export function writeChildrenReply(
  w: ByteWriter,
  fanout: number,
  theirs: number,
  mine: number,
  differing: number,
): void {
  if (mine === theirs && popcount(differing) === 1) {
    w.u8(REPLY_ONE_DIFFERS + 31 - Math.clz32(differing))
    return
  }
  if (mine === theirs) w.u8(REPLY_SAME_PRESENCE)
  else {
    w.u8(REPLY_OWN_PRESENCE)
    writeMask(w, mine, fanout)
  }
  writeMaskOver(w, fanout, and(theirs, mine), differing)
}

export function readChildrenReply(
  r: ByteReader,
  fanout: number,
  theirs: number,
): { bitmap: number; differing: number } {
  const flag = r.u8()
  if (flag >= REPLY_ONE_DIFFERS && flag < REPLY_ONE_DIFFERS + fanout) {
    const differing = bit(flag - REPLY_ONE_DIFFERS)
    if (!has(theirs, flag - REPLY_ONE_DIFFERS))
      throw new MalformedMessageError('differing child that was not described')
    return { bitmap: theirs, differing }
  }
  if (flag > REPLY_OWN_PRESENCE) throw new MalformedMessageError(`unknown reply flag ${flag}`)
  const bitmap = flag === REPLY_SAME_PRESENCE ? theirs : readMask(r, fanout)
  if (flag === REPLY_OWN_PRESENCE && bitmap === theirs)
    throw new MalformedMessageError('redundant presence mask')
  const differing = readMaskOver(r, fanout, and(theirs, bitmap))
  if (flag === REPLY_SAME_PRESENCE && popcount(differing) === 1)
    throw new MalformedMessageError('non-canonical reply')
  return { bitmap, differing }
}

/** Writes the bits of `mask` at the children set in `over`, packed first child first. */
function writeMaskOver(w: ByteWriter, fanout: number, over: number, mask: number): void {
  let byte = 0
  let bits = 0
  for (let i = 0; i < fanout; i++) {
    if (!has(over, i)) continue
    byte = (byte << 1) | (has(mask, i) ? 1 : 0)
    if (++bits === 8) {
      w.u8(byte)
      byte = 0
      bits = 0
    }
  }
  if (bits > 0) w.u8(byte << (8 - bits))
}

function readMaskOver(r: ByteReader, fanout: number, over: number): number {
  let mask = 0
  let byte = 0
  let bits = 0
  for (let i = 0; i < fanout; i++) {
    if (!has(over, i)) continue
    if (bits === 0) {
      byte = r.u8()
      bits = 8
    }
    bits--
    if ((byte >>> bits) & 1) mask = (mask | bit(i)) >>> 0
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, at bits = 0 the padding mask is empty
  if (bits > 0 && (byte & ((1 << bits) - 1)) !== 0) throw new MalformedMessageError('padding bits set')
  return mask
}

/** Two bits per listed leaf, four per byte, first leaf in the high bits. */
export function writeStatuses(w: ByteWriter, statuses: readonly number[]): void {
  for (let i = 0; i < statuses.length; i += 4) {
    let byte = 0
    for (let j = 0; j < 4; j++) byte = (byte << 2) | (statuses[i + j] ?? 0)
    w.u8(byte)
  }
}

export function readStatuses(r: ByteReader, count: number): number[] {
  const statuses: number[] = []
  for (let i = 0; i < count; i += 4) {
    const byte = r.u8()
    for (let j = 0; j < 4; j++) {
      const status = (byte >>> (6 - 2 * j)) & 3
      if (i + j < count) {
        if (status > LEAF_MISSING) throw new MalformedMessageError(`unknown leaf status ${status}`)
        statuses.push(status)
      } else if (status !== 0) throw new MalformedMessageError('padding bits set')
    }
  }
  return statuses
}
