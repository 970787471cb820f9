import { describe, expect, it } from 'vitest'
import { artifact, grant, publishers, seeded } from './helpers.js'
import { hex, mutableRevocations, openStore } from './store-helpers.js'

// The fast paths of apply and current (signatures verified during the commit, the publisher
// index put skipped for a same-publisher republish, admissibility cached per decoded winner).
const node = seeded(80)
const [p0, p1] = [publishers[0]!, publishers[1]!]
const from = seeded(81).publicKey
const setup = (extra = {}) => [
  grant(node, 'hold', ['cluster']).bytes,
  grant(p0, 'publish', ['cluster'], 1n, extra).bytes,
  grant(p1, 'publish', ['cluster']).bytes,
]

describe('apply and current fast paths', () => {
  it('refuses bad signatures in new and known scopes alike with verification workers', async () => {
    const store = await openStore(node.publicKey, { verifyThreads: 1 })
    const first = [...setup(), artifact(p0, { version: 1n, scope: 'cluster/known', name: 'x' }).bytes]
    await store.apply(first, { from })
    const batch = Array.from({ length: 200 }, (_, i) =>
      artifact(p0, {
        version: 1n,
        scope: i % 2 === 0 ? 'cluster/known' : `cluster/new${i % 5}`,
        name: `n${i}`,
      }).bytes.slice(),
    )
    for (const i of [3, 10, 11, 150]) batch[i]![batch[i]!.length - 2]! ^= 1
    const outcomes = await store.apply(batch, { from })
    const bad = outcomes.flatMap((o, i) => (o.status === 'refused' ? [[i, o.reason]] : []))
    expect(bad).toEqual([
      [3, 'bad-signature'],
      [10, 'bad-signature'],
      [11, 'bad-signature'],
      [150, 'bad-signature'],
    ])
    expect(outcomes.filter((o) => o.status === 'applied')).toHaveLength(196)
    expect(store.tree('cluster/known')!.count()).toBe(1 + 98)
    // Leaves are written before the signatures are known and the bad ones taken out again: the
    // roots equal those of a store that never saw the bad records.
    const clean = await openStore(node.publicKey, { verifyThreads: 1 })
    await clean.apply(first, { from })
    await clean.apply(
      batch.filter((_, i) => ![3, 10, 11, 150].includes(i)),
      { from },
    )
    const roots = (s: typeof store) => [...s.scopeRoots()].map(([scope, root]) => [scope, hex(root)])
    expect(roots(store)).toEqual(roots(clean))
    expect(store.tree('cluster/known')!.get(outcomes[10]!.key!)).toBeUndefined()
  })

  it('a same-publisher republish still falls back and restores with its publisher', async () => {
    const revocations = mutableRevocations()
    const store = await openStore(node.publicKey, { revocations })
    const v1 = artifact(p0, { version: 1n })
    const v2 = artifact(p0, { version: 2n })
    const other = artifact(p1, { version: 1n, name: 'other' })
    await store.apply([...setup(), v1.bytes, other.bytes], { from })
    await store.apply([v2.bytes], { from })
    revocations.revoke(p0.publicKey)
    expect(store.refresh()).toBe(1)
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main').status).toBe('none')
    revocations.reinstate(p0.publicKey)
    store.refresh()
    const back = store.current('cluster/c1', 'cluster_snapshot', 'main')
    expect(back.status === 'current' && hex(back.version.hash)).toBe(hex(v2.hash))
  })

  it('a cached admissible answer ends with a withdrawal, a newer grant and the grant expiry', async () => {
    let now = 1_000
    const store = await openStore(node.publicKey, { wallClock: () => now })
    const v1 = artifact(p0, { version: 1n })
    await store.apply([...setup({ expiresAt: 5_000 }), v1.bytes], { from })
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main').status).toBe('current')
    now = 5_000
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main').status).toBe('none')
    now = 1_000
    await store.apply([grant(p0, 'publish', ['cluster'], 2n).bytes], { from })
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main').status).toBe('current')
    await store.apply([grant(p0, 'publish', ['other'], 3n).bytes], { from })
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main').status).toBe('none')
  })
})
