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

/** What {@link syncBothWays} saw: each direction's report and whether the roots were equal after it. */
export interface BothWays {
  there: Awaited<ReturnType<ProvsyncNode['sync']['syncWith']>>
  equalAfterThere: boolean
  back: Awaited<ReturnType<ProvsyncNode['sync']['syncWith']>>
  equalAfterBack: boolean
}

/**
 * A mixed-release scenario: `ours` and `old` each hold 250 assertions the other lacks, `ours`
 * syncs with `old`; then 40 new ones each way, `old` syncing with `ours`. `ours` must already be
 * able to dial `old`'s first address.
 */
export async function syncBothWays(ours: ProvsyncNode, old: ProvsyncNode, signer: Signer): Promise<BothWays> {
  const records = signedAssertions(signer, 1_500, { networkId: NETWORK })
  await load(ours.state, records.slice(0, 1_250), signer.publicKey)
  await load(old.state, records.slice(250), signer.publicKey)
  await ours.dial(old.multiaddrs()[0]!)
  const there = await ours.sync.syncWith(old.peerId)
  const equalAfterThere = testing.rootsEqual(ours.state, old.state)
  const more = signedAssertions(signer, 100, { networkId: NETWORK, offset: 10_000 })
  await load(old.state, more.slice(0, 60), signer.publicKey)
  await load(ours.state, more.slice(40), signer.publicKey)
  const back = await old.sync.syncWith(ours.peerId)
  return { there, equalAfterThere, back, equalAfterBack: testing.rootsEqual(ours.state, old.state) }
}
