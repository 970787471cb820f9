import type { Coordinate, Signer } from '@provsync/crdt'
import { signedAssertions } from '@provsync/testing'

// The records the crdt benches apply (crdt.bench.ts, its profiling twin apply-loop.ts and the
// heap profile apply-alloc.ts), so their figures stay comparable.

export const NETWORK = 'bench-net'
/** Records per applied batch. */
export const BATCH = 1000

/** Coordinate `i`: 97 volumes, one destination, an origin per record. */
export function coordinate(i: number): Coordinate {
  return { volume: `vol-${i % 97}`, destination: 'dst-1', origin: `origin-${i}` }
}

/** `count` signed assertions by `signer` at coordinates `start` on, all at `run`. */
export function signBatch(signer: Signer, start: number, count: number, run: bigint): Uint8Array[] {
  return signedAssertions(signer, count, {
    offset: start,
    run,
    networkId: NETWORK,
    method: 'sha256',
    coordinateOf: coordinate,
    counterOf: () => 0,
  })
}
