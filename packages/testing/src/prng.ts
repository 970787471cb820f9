/**
 * Seeded generators for test and bench data, so a failure reproduces from its seed. Neither is
 * for keys or anything an attacker may predict.
 */

/**
 * xorshift32 (13, 17, 5): each call returns the next state as an unsigned 32-bit integer.
 * A seed of 0 (which would stay 0) starts from 1.
 */
export function xorshift32(seed: number): () => number {
  let x = seed | 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}

/** `length` bytes of xorshift32 noise from `seed`, one byte (the low one) per step. */
export function noiseBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  fillNoise(out, seed)
  return out
}

/** Overwrites `target[from, to)` with xorshift32 noise from `seed`, one byte per step. */
export function fillNoise(target: Uint8Array, seed: number, from = 0, to = target.length): void {
  const next = xorshift32(seed)
  for (let i = from; i < Math.min(to, target.length); i++) target[i] = next() & 0xff
}

/**
 * Fills the whole 32-bit words of `target` from `next` (a {@link xorshift32}), one word per
 * step: four times the bytes per step of {@link fillNoise}, for the large inputs of benches.
 */
export function fillNoiseWords(target: Uint8Array, next: () => number): void {
  const words = new Uint32Array(target.buffer, target.byteOffset, target.byteLength >>> 2)
  for (let i = 0; i < words.length; i++) words[i] = next()
}

/** mulberry32: floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
