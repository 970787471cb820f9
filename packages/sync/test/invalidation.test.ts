import type { InvalidationCriteria, LedgerEntry } from '@provsync/crdt'
import type { ProvsyncNode } from '@provsync/sync'
import { hex, type TestNodeOptions, TestNodes } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { coordinate, generateSigner, load, NETWORK, signedAssertions, tempDirs, waitFor } from './helpers.js'

const operator = generateSigner()
const trust = [operator.publicKey]
const FIRST_RELEASE = ['revocations', 'supersessions', 'assertions'] as const

const net = new TestNodes({ networkId: NETWORK, trust }, tempDirs())
const node = (options: Partial<TestNodeOptions> = {}): Promise<ProvsyncNode> => net.start(options)

afterEach(() => net.cleanup())

const runs = (n: ProvsyncNode) => [0, 1, 2].map((i) => n.state.view.get(coordinate(i))?.run)
const pattern: InvalidationCriteria = { type: 'pattern', pattern: 'vol/dst/origin-?' }
const entryFor = (n: ProvsyncNode, id: Uint8Array): LedgerEntry | undefined =>
  n.state.ledger.since().find((e) => hex(e.id) === hex(id))

describe('networked invalidation over TCP', () => {
  it('an invalidation issued at A reaches C through B, each ledger names the peer it came from; a lift restores the view', async () => {
    const a = await node()
    const b = await node()
    const c = await node()
    const asserter = generateSigner()
    const records = signedAssertions(asserter, 3)
    for (const n of [a, b, c]) await load(n.state, records, asserter.publicKey)
    await a.dial(b.multiaddrs()[0]!)
    await c.dial(b.multiaddrs()[0]!)
    expect(runs(c)).toEqual([1n, 1n, 1n])

    const issued = await a.state.invalidations.invalidate(pattern, { reason: 'bad batch' }, operator)
    expect(issued).toMatchObject({
      origin: 'networked',
      source: { type: 'local' },
      result: { invalidated: 3 },
    })

    await waitFor(() => entryFor(c, issued.id)?.result !== undefined, 'the invalidation to reach C')
    await waitFor(() => entryFor(b, issued.id)?.result !== undefined, 'the invalidation to reach B')
    for (const [n, from] of [
      [b, a],
      [c, b],
    ] as const) {
      expect(entryFor(n, issued.id)).toMatchObject({
        kind: 'invalidate',
        origin: 'networked',
        actor: hex(operator.publicKey),
        reason: 'bad batch',
        source: { type: 'peer', peer: from.publicKey },
        result: { invalidated: 3 },
      })
      expect(runs(n)).toEqual([undefined, undefined, undefined])
    }
    expect(a.libp2p.getConnections(c.peerId)).toHaveLength(0)

    const lift = await a.state.invalidations.lift(issued.id, { reason: 'false alarm' }, operator)
    await waitFor(() => entryFor(c, lift.id)?.result !== undefined, 'the lift to reach C')
    expect(entryFor(c, lift.id)).toMatchObject({ kind: 'lift', target: issued.id, result: { restored: 3 } })
    await waitFor(() => runs(b)[0] === 1n, 'the lift to restore B')
    for (const n of [a, b, c]) expect(runs(n)).toEqual([1n, 1n, 1n])
    for (const n of [a, b, c]) expect(n.sync.offences()).toMatchObject({ 'unexpected-message': 0 })
  })

  it('a node of the previous release (three stores, none named in its hello) keeps syncing and blames no one', async () => {
    const fresh = await node()
    // The previous release syncs the first three stores and names none in its hello; it refuses
    // (and counts as an offence) any request for a store it does not serve, which the allowlist
    // reproduces here for `invalidations`.
    const previous = await node({ sync: { stores: FIRST_RELEASE, allowlist: { invalidations: [] } } })
    await fresh.dial(previous.multiaddrs()[0]!)
    const inv = await fresh.state.invalidations.invalidate(pattern, { reason: 'r' }, operator)
    const asserter = generateSigner()
    await load(fresh.state, signedAssertions(asserter, 2), asserter.publicKey)
    await waitFor(() => previous.state.tree('assertions').count() === 2, 'assertions to reach the old node')
    // Both directions run sessions: the fresh node initiates too, and reconciles only shared stores.
    await fresh.sync.syncWith(previous.peerId)
    await previous.sync.syncWith(fresh.peerId)
    expect(previous.state.tree('invalidations').count()).toBe(0)
    expect(entryFor(previous, inv.id)).toBeUndefined()
    const noOffences = (n: ProvsyncNode) => Object.values(n.sync.offences()).every((count) => count === 0)
    expect(noOffences(previous)).toBe(true)
    expect(noOffences(fresh)).toBe(true)
  })
})
