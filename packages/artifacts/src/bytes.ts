export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/**
 * {@link equalBytes} for the decoder's short fields (a few to 64 bytes): a loop beats
 * Buffer.compare's native call at those lengths.
 */
export function equalShort(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** A plain copy of `bytes[start, end)` (Buffer's `slice` is a view; lmdb-js reuses its buffers). */
export function copy(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  const out = new Uint8Array(end - start)
  out.set(bytes.subarray(start, end))
  return out
}
