import { type ArtifactStore, signScopeEpoch, signWithdrawal } from '@provsync/artifacts'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { artifact, at, grant, NET, operator, publishers, seeded } from './helpers.js'
import { hex, mutableRevocations, openStore } from './store-helpers.js'

const [nodeA, nodeB] = [seeded(80), seeded(81)]
const from = seeded(82).publicKey
const names = ['main', 'edge']
const pool: Uint8Array[] = [
  grant(nodeA, 'hold', ['cluster']).bytes,
  grant(nodeB, 'hold', ['cluster/c1']).bytes,
  ...publishers.map((p) => grant(p, 'publish', ['cluster/c1']).bytes),
  signWithdrawal(
    { subject: publishers[2]!.publicKey, right: 'publish', epoch: 1n, reason: 'rotated' },
    operator,
    NET,
    at(),
  ).bytes,
  signScopeEpoch({ scope: 'cluster/c1', minEpoch: 2n }, operator, NET, at()).bytes,
  ...publishers.flatMap((p, i) =>
    names.flatMap((name) =>
      [1n, 2n, 3n].flatMap((epoch) => [
        artifact(p, { name, epoch, version: BigInt(i + 1) }).bytes,
        artifact(p, { name, epoch, version: 5n, tombstone: i === 1 && epoch === 3n }).bytes,
      ]),
    ),
  ),
]

/** Applies `order` (indices into the pool) in batches cut at `cuts`, then everything once more (anti-entropy). */
async function deliver(store: ArtifactStore, order: number[], cuts: number[]) {
  let start = 0
  for (const cut of [...cuts.map((c) => c % (order.length + 1)).sort((a, b) => a - b), order.length]) {
    if (cut <= start) continue
    await store.apply(
      order.slice(start, cut).map((i) => pool[i]!),
      { from },
    )
    start = cut
  }
  await store.apply(pool, { from })
}

function state(store: ArtifactStore) {
  const current = names.map((n) => {
    const c = store.current('cluster/c1', 'cluster_snapshot', n)
    return c.status === 'none' || c.status === 'stale' ? c.status : `${c.status}:${hex(c.version.hash)}`
  })
  return {
    current,
    root: hex(store.scopeRoots().get('cluster/c1')),
    operator: hex(store.operatorTree().root()),
  }
}

const delivery = fc.tuple(
  fc.array(fc.nat(pool.length - 1), { minLength: 0, maxLength: pool.length * 2 }),
  fc.array(fc.nat(), { maxLength: 5 }),
)

describe('convergence across replicas (LMDB)', () => {
  it('any order, batching and duplication gives the same current versions and roots', async () => {
    await fc.assert(
      fc.asyncProperty(delivery, delivery, async ([orderA, cutsA], [orderB, cutsB]) => {
        const a = await openStore(nodeA.publicKey)
        const b = await openStore(nodeB.publicKey)
        await deliver(a, orderA, cutsA)
        await deliver(b, orderB, cutsB)
        expect(state(a)).toEqual(state(b))
        // Stale epochs and the withdrawn publisher never count: the winner is epoch 3 by p0 or p1.
        const main = a.current('cluster/c1', 'cluster_snapshot', 'main')
        expect(main.status === 'current' || main.status === 'deleted').toBe(true)
        await a.close()
        await b.close()
      }),
      { numRuns: 15 },
    )
  })

  it('revoking a publisher gives the same state as never having seen its records (rule 5)', async () => {
    const revocations = mutableRevocations()
    const a = await openStore(nodeA.publicKey, { revocations })
    const b = await openStore(nodeB.publicKey)
    const victim = publishers[1]!.publicKey
    const withoutVictim = pool.filter((bytes) => !Buffer.from(bytes).includes(Buffer.from(victim)))
    await a.apply(pool, { from })
    await b.apply(withoutVictim, { from })
    // The operator trees differ (b never saw the victim's grant), so compare artifacts only.
    revocations.revoke(victim)
    a.refresh()
    expect(state(a).current).toEqual(state(b).current)
    expect(state(a).root).toBe(state(b).root)
  })
})
