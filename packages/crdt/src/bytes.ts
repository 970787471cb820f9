import { createBLAKE3 } from 'hash-wasm'

export const KEY_BYTES = 32
export const SIGNATURE_BYTES = 64
export const HASH_BYTES = 32

// hash-wasm's BLAKE3 is ~7x faster than the pure-JS one on record-sized inputs; its hasher is
// created once (async) and then used synchronously.
const hasher = await createBLAKE3()

export function blake3(...parts: Uint8Array[]): Uint8Array {
  hasher.init()
  for (const part of parts) hasher.update(part)
  return hasher.digest('binary')
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function fromHex(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new TypeError('not a hex string')
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

export function equalBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  // Stryker disable next-line ConditionalExpression: equivalent, Buffer.compare of different lengths is never 0
  return a.length === b.length && Buffer.compare(a, b) === 0
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  // Stryker disable next-line ConditionalExpression: equivalent, the loop finds a missing byte (undefined) unequal anyway
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

/** A plain Uint8Array copy, so values handed out never alias LMDB's reused buffers. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}

/**
 * A plain Uint8Array copy of `bytes[start, end)`. `slice` on a Buffer returns a Buffer (and
 * allocates a view first); this makes one plain copy.
 */
export function sliceBytes(bytes: Uint8Array, start: number, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start).slice()
}

export function u64Bytes(value: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, value)
  return out
}

export function readU64(bytes: Uint8Array, offset = 0): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset)
}
