/**
 * Positions in the trie. Every leaf has a 32-byte path (its key, or BLAKE3 of its key). Each level
 * of the trie consumes the next few bits of the path: 5 bits at the root (32 children), then 4, 3,
 * and 4 at every level below. A node at depth k is named by the first `prefixBits(k)` bits of the
 * paths under it; depth 64 is a whole path.
 *
 * Why that schedule: a reconciliation message descends one level, and every level where a
 * difference hides costs a listing of all children of its node. The root listing is paid once per
 * session, so it takes the widest level; one narrow level among the dense ones saves a listing of
 * 8 hashes per difference, and at depth 2 it also halves the inner nodes a batch rewrites (see the
 * README for the measurements).
 */
export const PATH_BYTES = 32
const SCHEDULE = [5, 4, 3, 4]
const DEFAULT_BITS = 4

export const MAX_DEPTH = 64
const PREFIX_BITS: number[] = [0]
for (let d = 0; d < MAX_DEPTH; d++) PREFIX_BITS.push(PREFIX_BITS[d]! + (SCHEDULE[d] ?? DEFAULT_BITS))
if (PREFIX_BITS[MAX_DEPTH] !== PATH_BYTES * 8) throw new Error('level schedule must cover the path exactly')

/** Bits of the path consumed by the digit chosen at `depth` (to reach depth + 1). */
export const digitBits = (depth: number): number => SCHEDULE[depth] ?? DEFAULT_BITS
/** Number of children of a node at `depth`: 32, 16 or 8. */
export const fanoutAt = (depth: number): number => 1 << digitBits(depth)
/** Bits of the path fixed by a node at `depth`. */
export const prefixBits = (depth: number): number => PREFIX_BITS[depth]!
/** Widest fanout of any level. */
export const MAX_FANOUT = 32

const BUCKET_TAG = 0x42 // 'B'
const NODE_TAG = 0x4e // 'N'

/** The child digit of the path at `path[at]` below the node at `depth`. */
export function digitAt(path: Uint8Array, depth: number, at = 0): number {
  const start = PREFIX_BITS[depth]!
  const n = digitBits(depth)
  const i = at + (start >>> 3)
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent, at the last byte the shift drops the next one
  const word = (path[i]! << 8) | (i + 1 < at + PATH_BYTES ? path[i + 1]! : 0)
  return (word >>> (16 - (start & 7) - n)) & ((1 << n) - 1)
}

/** True when `a` (the path at `a[at]`) and `b` are under the same node at `depth`. */
export function sharesPrefix(a: Uint8Array, b: Uint8Array, depth: number, at = 0): boolean {
  const bits = PREFIX_BITS[depth]!
  const whole = bits >>> 3
  for (let i = 0; i < whole; i++) if (a[at + i] !== b[i]) return false
  const rest = bits & 7
  // Stryker disable next-line ConditionalExpression: equivalent, a zero-bit mask compares equal
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (a[at + whole]! & mask) === (b[whole]! & mask)
}

/** Writes the first `prefixBits(depth)` bits of `path` at `out[at]`, the rest of the last byte zeroed. */
function writePrefix(out: Uint8Array, at: number, path: Uint8Array, depth: number): number {
  const bits = PREFIX_BITS[depth]!
  const bytes = (bits + 7) >>> 3
  for (let i = 0; i < bytes; i++) out[at + i] = path[i]!
  const rest = bits & 7
  if (rest !== 0) out[at + bytes - 1] = out[at + bytes - 1]! & ((0xff << (8 - rest)) & 0xff)
  return bytes
}

const prefixBytes = (depth: number): number => (PREFIX_BITS[depth]! + 7) >>> 3

/** The smallest path under child `digit` of the node at (`path`, `depth`). */
export function childPath(path: Uint8Array, depth: number, digit: number): Uint8Array {
  const out = new Uint8Array(PATH_BYTES)
  writePrefix(out, 0, path, depth)
  const start = PREFIX_BITS[depth]!
  const shift = 16 - (start & 7) - digitBits(depth)
  const i = start >>> 3
  const word = (digit << shift) & 0xffff
  out[i] = out[i]! | (word >>> 8)
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent, a write past a Uint8Array is dropped
  if (i + 1 < PATH_BYTES) out[i + 1] = out[i + 1]! | (word & 0xff)
  return out
}

/** LMDB key of the inner node at (`path`, `depth`): tag, depth, then the packed prefix. */
export function nodeKey(path: Uint8Array, depth: number): Uint8Array {
  const key = new Uint8Array(2 + prefixBytes(depth))
  key[0] = NODE_TAG
  key[1] = depth
  writePrefix(key, 2, path, depth)
  return key
}

/**
 * LMDB key of the bucket at (`path`, `depth`): tag, packed prefix, then depth. Buckets never
 * overlap, so in this order they list their leaves in path order.
 */
export function bucketKey(path: Uint8Array, depth: number): Uint8Array {
  const key = new Uint8Array(2 + prefixBytes(depth))
  key[0] = BUCKET_TAG
  key[1 + writePrefix(key, 1, path, depth)] = depth
  return key
}

/** Range of LMDB keys holding the buckets under (`path`, `depth`): start inclusive, end exclusive. */
export function bucketRange(path: Uint8Array, depth: number): { start: Uint8Array; end: Uint8Array } {
  const start = new Uint8Array(1 + prefixBytes(depth))
  start[0] = BUCKET_TAG
  writePrefix(start, 1, path, depth)
  // Add one at the last bit of the prefix, carrying leftwards (into the tag when the prefix is all
  // ones). Bytes that overflowed to zero are dropped: the end is exclusive, and keeping them
  // would let the range reach keys that are exactly the shorter prefix (the next tag alone).
  const end = start.slice()
  const bits = PREFIX_BITS[depth]!
  // Stryker disable next-line ArithmeticOperator: equivalent, prefixes are 0, 5, 9, 12 or 4k bits: bits + 1 moves i only for 8k, past the end, and the carry comes back to the same byte
  let i = bits === 0 ? 0 : 1 + ((bits - 1) >>> 3)
  // Stryker disable next-line ConditionalExpression: equivalent, at bits = 0 the general form gives carry 1 too
  let carry = bits === 0 ? 1 : 1 << (7 - ((bits - 1) & 7))
  for (;;) {
    const sum = end[i]! + carry
    end[i] = sum & 0xff
    if (sum <= 0xff) break
    carry = 1
    i--
  }
  return { start, end: end.subarray(0, i + 1) }
}

export const NODE_KEY_TAG = NODE_TAG
export const BUCKET_KEY_TAG = BUCKET_TAG
