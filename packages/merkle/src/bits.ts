/**
 * Child masks: bit i stands for child i. A node has up to 32 children, so masks use all 32 bits;
 * every helper returns the unsigned value (`>>> 0`) so masks compare with `===`.
 */
import type { ByteReader, ByteWriter } from './bytes.js'

export const bit = (i: number): number => (1 << i) >>> 0
export const has = (mask: number, i: number): boolean => ((mask >>> i) & 1) === 1
export const and = (a: number, b: number): number => (a & b) >>> 0
export const andNot = (a: number, b: number): number => (a & ~b) >>> 0
export const or = (a: number, b: number): number => (a | b) >>> 0
export const full = (fanout: number): number => (fanout === 32 ? 0xffffffff : (1 << fanout) - 1)

export function popcount(x: number): number {
  x >>>= 0
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  x = (x + (x >>> 4)) & 0x0f0f0f0f
  return Math.imul(x, 0x01010101) >>> 24
}

/**
 * Writes `mask` at `out[at]` as fanout/8 bytes, child 0 in the high bit of the first byte (the
 * layout of stored nodes and of the wire); returns the end.
 */
export function writeMaskAt(out: Uint8Array, at: number, mask: number, fanout: number): number {
  let o = at
  for (let j = 0; j < fanout; j += 8) {
    let byte = 0
    for (let k = 0; k < 8; k++) if (has(mask, j + k)) byte |= 0x80 >>> k
    out[o++] = byte
  }
  return o
}

/** Room for the mask of the widest node (32 children). */
const maskBytes = new Uint8Array(4)

/** {@link writeMaskAt} appended to `w`. */
export function writeMask(w: ByteWriter, mask: number, fanout: number): void {
  w.bytes(maskBytes, writeMaskAt(maskBytes, 0, mask, fanout))
}

export function readMask(r: ByteReader, fanout: number): number {
  let mask = 0
  for (let j = 0; j < fanout; j += 8) {
    const byte = r.u8()
    for (let k = 0; k < 8; k++) if (byte & (0x80 >>> k)) mask = or(mask, bit(j + k))
  }
  return mask
}
