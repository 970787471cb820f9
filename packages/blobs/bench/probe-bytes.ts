import { fillNoiseWords, xorshift32 } from '@provsync/testing'

/**
 * Deterministic incompressible bytes for the probes and the bench (xorshift32 from 0x2545f491, a
 * word per step): the same input on every build.
 */
export function probeBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  fillNoiseWords(bytes, xorshift32(0x2545f491))
  return bytes
}
