import { type Signer, signerFromSeed } from '@provsync/crdt'
import { DEFAULT_SIGNER_TAG } from './constants.js'

/**
 * The 32-byte seed of test signer `n` (0 to 65,535): `n` little-endian in the first two bytes,
 * `tag` in the last, so suites that pick different tags never share a key.
 */
export function seedN(n: number, tag = DEFAULT_SIGNER_TAG): Uint8Array {
  const seed = new Uint8Array(32)
  seed[0] = n & 0xff
  seed[1] = (n >> 8) & 0xff
  seed[31] = tag
  return seed
}

/** Test signer `n`: the same key every run (see {@link seedN}). */
export function signerN(n: number, tag = DEFAULT_SIGNER_TAG): Signer {
  return signerFromSeed(seedN(n, tag))
}

/** 32 bytes that stand for a hash: `n` in the first two bytes, 0xaa in the last. */
export function hash32(n: number): Uint8Array {
  const out = new Uint8Array(32)
  out[0] = n & 0xff
  out[1] = (n >> 8) & 0xff
  out[31] = 0xaa
  return out
}

/** Lower-case hex of `bytes` (an empty string for none). */
export function hex(bytes: Uint8Array | undefined): string {
  return Buffer.from(bytes ?? []).toString('hex')
}
