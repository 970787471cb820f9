import { encodeSupersession, signSupersession } from '@provsync/crdt'
import { DEFAULT_PROTOCOL_LIMITS, type SyncedState } from '@provsync/sync'
import { createLibp2pWithProvsync, openIdentityState, QUIET_SYNC, sleep } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { generateSigner, load, NETWORK, rootsEqual, signedAssertions, tempDirs, waitFor } from './helpers.js'

const dirs = tempDirs()
const cleanups: Array<() => Promise<void>> = []
const trust = [generateSigner().publicKey]

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await dirs.cleanup()
})

/**
 * A node whose state records the size of every `apply` call it receives, then applies for real
 * (after `applyDelayMs`, to play a slow disk). With `withholdEvery`, it serves no record whose
 * position in a fetch request is a multiple of it, as a peer that withholds some would.
 */
async function node(
  limits: { maxKeysPerRequest: number; maxApplyRecords: number; pipelineDepth: number },
  applyDelayMs = 0,
  withholdEvery = 0,
) {
  const { privateKey, state } = await openIdentityState({
    dataDir: await dirs.make(),
    networkId: NETWORK,
    trust,
  })
  const applyCalls: number[] = []
  const recording: SyncedState = {
    networkId: state.networkId,
    publicKey: state.publicKey,
    tree: (store) => state.tree(store),
    getRecords: (store, keys) =>
      state
        .getRecords(store, keys)
        .map((r, i) => (withholdEvery > 0 && i % withholdEvery === 0 ? undefined : r)),
    apply: async (store, records, options) => {
      applyCalls.push(records.length)
      if (applyDelayMs > 0) await sleep(applyDelayMs)
      return state.apply(store, records, options)
    },
    onChange: (listener) => state.onChange(listener),
  }
  const libp2p = await createLibp2pWithProvsync(
    { state: recording, trust, limits, ...QUIET_SYNC },
    { privateKey },
  )
  cleanups.push(async () => {
    await libp2p.stop()
    await state.close()
  })
  return { libp2p, state, applyCalls }
}

/**
 * Two nodes holding the same 500 records and a puller (applying slowly) connected to both; the
 * first holder may withhold some (see `node`).
 */
async function twoHoldersAndAPuller(
  limits: Parameters<typeof node>[0],
  applyDelayMs: number,
  withholdEvery = 0,
) {
  const holders = [await node(limits, 0, withholdEvery), await node(limits)]
  const puller = await node(limits, applyDelayMs)
  const asserter = generateSigner()
  const records = signedAssertions(asserter, 500)
  for (const holder of holders) {
    await load(holder.state, records, asserter.publicKey)
    await puller.libp2p.dial(holder.libp2p.getMultiaddrs()[0]!)
  }
  return [holders[0]!, holders[1]!, puller] as const
}

/** The apply calls a pull of `total` records makes, every answer whole: see pullRecords. */
function rampedGroups(
  total: number,
  limits: { maxKeysPerRequest: number; maxApplyRecords: number },
): number[] {
  const answers: number[] = []
  for (let left = total; left > 0; left -= limits.maxKeysPerRequest)
    answers.push(Math.min(left, limits.maxKeysPerRequest))
  const groups: number[] = []
  let limit = Math.min(limits.maxKeysPerRequest, limits.maxApplyRecords)
  for (let i = 0; i < answers.length; ) {
    let group = answers[i++]!
    while (i < answers.length && group + answers[i]! <= limit) group += answers[i++]!
    groups.push(group)
    limit = Math.min(limit * 2, limits.maxApplyRecords)
  }
  return groups
}

describe('pulling records', () => {
  it('groups fetch answers into apply calls: one answer first, then doubling up to maxApplyRecords', async () => {
    const cases = [
      { total: 1000, limits: { maxKeysPerRequest: 100, maxApplyRecords: 300, pipelineDepth: 3 } },
      { total: 450, limits: { maxKeysPerRequest: 64, maxApplyRecords: 50, pipelineDepth: 2 } },
    ]
    for (const { total, limits } of cases) {
      const source = await node(limits)
      const puller = await node(limits)
      const asserter = generateSigner()
      await load(source.state, signedAssertions(asserter, total), asserter.publicKey)

      await puller.libp2p.dial(source.libp2p.getMultiaddrs()[0]!)
      const report = await puller.libp2p.services.provsync.syncWith(source.libp2p.peerId)

      expect(rootsEqual(source.state, puller.state)).toBe(true)
      expect(report.applied).toBe(total)
      expect(puller.applyCalls.reduce((a, b) => a + b, 0)).toBe(total)
      // Whole answers are grouped: a group stops before the answer that would overflow it, and a
      // single answer larger than the cap still travels alone. The first group is one answer and
      // each next one may hold twice as many records, up to the cap (the pool starts verifying
      // after one answer).
      expect(puller.applyCalls).toEqual(rampedGroups(total, limits))
      expect(report.applyMs).toBeGreaterThan(0)
      expect(report.applyMs).toBeLessThanOrEqual(report.durationMs)
    }
  })

  it('pulls 8,000 records of 1.2 KB into a slow applier without overrunning any stream buffer', async () => {
    // Four answers of 1,024 such records in flight are 4.8 MB, beyond libp2p's 4 MiB read buffer:
    // the fetch stream must pause and let yamux's window hold the rest back.
    const source = await node(DEFAULT_PROTOCOL_LIMITS)
    const puller = await node(DEFAULT_PROTOCOL_LIMITS, 400)
    const agent = generateSigner()
    const records = Array.from({ length: 8000 }, (_, i) => {
      const target = new Uint8Array(32)
      new DataView(target.buffer).setUint32(0, i)
      const fields = {
        target,
        kind: 'invalidate' as const,
        reason: 'r'.repeat(1024),
        hlc: { wallMs: Date.now(), counter: 0 },
      }
      return encodeSupersession(signSupersession(fields, agent, NETWORK), NETWORK)
    })
    expect(records[0]!.byteLength).toBeGreaterThan(1150)
    for (let i = 0; i < records.length; i += 2000)
      await source.state.apply('supersessions', records.slice(i, i + 2000), { from: agent.publicKey })

    await puller.libp2p.dial(source.libp2p.getMultiaddrs()[0]!)
    const report = await puller.libp2p.services.provsync.syncWith(source.libp2p.peerId)
    expect(report.applied).toBe(8000)
    expect(rootsEqual(source.state, puller.state)).toBe(true)
    // Groups overlap in apply, so the time spent applying counts once, however many ran at once.
    expect(report.applyMs).toBeLessThanOrEqual(report.durationMs)
  })

  it('pulls each record once when sessions with several peers overlap', async () => {
    const limits = { maxKeysPerRequest: 100, maxApplyRecords: 300, pipelineDepth: 2 }
    const [first, second, puller] = await twoHoldersAndAPuller(limits, 150)

    const sync = puller.libp2p.services.provsync
    const reports = await Promise.all([
      sync.syncWith(first.libp2p.peerId),
      sync.syncWith(second.libp2p.peerId),
    ])

    expect(rootsEqual(first.state, puller.state)).toBe(true)
    // Both peers offered all 500; the sessions overlapped (each apply takes 150 ms), yet every
    // record was fetched and applied once.
    expect(reports[0]!.pulled + reports[1]!.pulled).toBe(500)
    expect(reports[0]!.applied + reports[1]!.applied).toBe(500)
    expect(puller.applyCalls.reduce((a, b) => a + b, 0)).toBe(500)
  })

  it('fetches from another peer what an overlapping session claimed and then failed to bring', async () => {
    const limits = { maxKeysPerRequest: 50, maxApplyRecords: 50, pipelineDepth: 1 }
    const [failing, healthy, puller] = await twoHoldersAndAPuller(limits, 100)

    const sync = puller.libp2p.services.provsync
    // The first session claims all 500 and pulls them 50 at a time, 100 ms per group.
    const doomed = sync.syncWith(failing.libp2p.peerId).catch((err: Error) => err)
    await waitFor(() => puller.applyCalls.length > 0, 'the first apply group', 10_000)
    const rescue = sync.syncWith(healthy.libp2p.peerId)
    await sleep(150)
    await failing.libp2p.stop()

    expect(await doomed).toBeInstanceOf(Error)
    const report = await rescue
    expect(report.error).toBeUndefined()
    expect(report.pulled).toBeGreaterThan(0)
    expect(rootsEqual(healthy.state, puller.state)).toBe(true)
  })

  it('fetches from another peer what an overlapping session claimed and its peer withheld', async () => {
    const limits = { maxKeysPerRequest: 50, maxApplyRecords: 50, pipelineDepth: 1 }
    // The first holder leaves out every other record of each answer: 250 of the 500.
    const [withholding, honest, puller] = await twoHoldersAndAPuller(limits, 50, 2)
    const sync = puller.libp2p.services.provsync
    const first = sync.syncWith(withholding.libp2p.peerId)
    // It has claimed all 500 and applies its first group when the second session starts.
    await waitFor(() => puller.applyCalls.length > 0, 'the first apply group', 10_000)
    const second = sync.syncWith(honest.libp2p.peerId)

    const [fromWithholding, fromHonest] = await Promise.all([first, second])
    expect(fromWithholding.pulled).toBe(250)
    // The second session waited for the first and fetched exactly what it did not bring.
    expect(fromHonest.pulled).toBe(250)
    expect(rootsEqual(honest.state, puller.state)).toBe(true)
  })
})
