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

/**
 * A probe's command line, `[count] [--name=value …] [--flag …]`, as the probes beside this file
 * read it (copy this file with a probe to run it against an older build).
 */
export function probeArgs(argv: readonly string[] = process.argv.slice(2)) {
  const option = (name: string): string | undefined =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  return {
    option,
    number: (name: string, fallback: number): number => Number(option(name) ?? fallback),
    /** The bare number on the line (calls, rounds: each probe says which). */
    count: (fallback: number): number => Number(argv.find((a) => /^\d+$/.test(a)) ?? fallback),
    sizes: (fallback: string): number[] => (option('sizes') ?? fallback).split(',').map(Number),
    flag: (name: string): boolean => argv.includes(`--${name}`),
  }
}
