/** Deterministic incompressible bytes for the probes (xorshift32): the same input on every build. */
export function probeBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  const words = new Uint32Array(bytes.buffer)
  let x = 0x2545f491
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x >>> 0
  }
  return bytes
}
