import type { Signer } from '@provsync/crdt'
import type { ProvsyncNode } from '@provsync/sync'
import * as testing from '@provsync/testing'
import { TempDirs, type TestNodeOptions } from '@provsync/testing'

// Thin wrappers of @provsync/testing with this suite's network id; the names stay for the tests.
export { generateSigner } from '@provsync/crdt'
export { coordinate, rootsEqual, type TestNodeOptions, waitFor } from '@provsync/testing'

export const NETWORK = 'provsync-test'

/** Temp directories created by a test file, removed by `cleanup`. */
export function tempDirs(): TempDirs {
  return new TempDirs('provsync-sync-')
}

/** A node on 127.0.0.1 with short debounce and anti-entropy, so tests converge in well under a second. */
export function startNode(options: TestNodeOptions): Promise<ProvsyncNode> {
  return testing.startTestNode({ networkId: NETWORK, ...options })
}

/** `count` encoded assertions by `signer` (distinct coordinates from `offset`), as a peer would ship them. */
export function signedAssertions(
  signer: Signer,
  count: number,
  options: testing.SignedAssertionsOptions = {},
): Uint8Array[] {
  return testing.signedAssertions(signer, count, { networkId: NETWORK, ...options })
}

/** Loads records into a node as if pulled from `from`, in batches (one transaction each). */
export function load(
  state: Parameters<typeof testing.load>[0],
  records: Uint8Array[],
  from: Uint8Array,
  batch = 2000,
): Promise<void> {
  return testing.load(state, records, from, { batch })
}
