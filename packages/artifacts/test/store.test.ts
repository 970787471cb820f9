import { openArtifactStore } from '@provsync/artifacts'
import { describe, expect, it } from 'vitest'
import { artifact, grant, NET, operator, publishers, seeded } from './helpers.js'
import { hex, mutableRevocations, openStore, tempDir } from './store-helpers.js'

const node = seeded(50)
const [p0, p1] = [publishers[0]!, publishers[1]!]
const from = seeded(60).publicKey
const setup = () => [
  grant(node, 'hold', ['cluster/c1']).bytes,
  grant(p0, 'publish', ['cluster']).bytes,
  grant(p1, 'publish', ['cluster']).bytes,
]

describe('artifact store', () => {
  it('applies, answers current, history and list, and keeps one root per scope', async () => {
    const store = await openStore(node.publicKey)
    const v1 = artifact(p0, { version: 1n })
    const v2 = artifact(p1, { version: 2n })
    const edge = artifact(p0, { version: 1n, scope: 'cluster/c1/edge', name: 'cfg' })
    const outcomes = await store.apply([...setup(), v1.bytes, v2.bytes, edge.bytes, v1.bytes], { from })
    expect(outcomes.map((o) => o.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
      'duplicate',
    ])
    const cur = store.current('cluster/c1', 'cluster_snapshot', 'main')
    expect(cur).toMatchObject({ status: 'current', stale: false })
    expect(cur.status === 'current' && hex(cur.version.hash)).toBe(hex(v2.hash))
    expect(
      store.history('cluster/c1', 'cluster_snapshot', 'main').map((h) => h.version.artifact.version),
    ).toEqual([2n, 1n])
    expect(store.list('cluster/c1').map((e) => e.name)).toEqual(['main'])
    const roots = store.scopeRoots()
    expect([...roots.keys()].sort()).toEqual(['cluster/c1', 'cluster/c1/edge'])
    expect(store.scopeRoots(['cluster/c1/edge']).size).toBe(1)
    expect(store.tree('cluster/c1')!.count()).toBe(2)
    expect(store.getScopeRecords('cluster/c1', [v1.hash, edge.hash]).map(hex)).toEqual([
      hex(v1.bytes),
      'none',
    ])
    // Plain copies, never views of LMDB's reused read buffers: each keeps its own bytes.
    expect(store.getScopeRecords('cluster/c1', [v1.hash, v2.hash])).toEqual([v1.bytes, v2.bytes])
    expect(store.operatorTree().count()).toBe(3)
  })

  it('stores nothing of a scope it does not hold, and counts refusals by reason', async () => {
    const store = await openStore(node.publicKey)
    const other = artifact(p0, { version: 1n, scope: 'cluster/c2' })
    const stranger = artifact(seeded(70), { version: 1n })
    const forged = artifact(p0, { version: 3n }).bytes.slice()
    forged[forged.length - 2]! ^= 1
    const untrusted = grant(p0, 'publish', ['x']).bytes.slice()
    const outcomes = await store.apply(
      [...setup(), other.bytes, stranger.bytes, forged, untrusted.subarray(0, 10)],
      { from },
    )
    expect(outcomes.slice(3).map((o) => o.reason)).toEqual([
      'out-of-scope',
      'no-publish-grant',
      'bad-signature',
      'malformed',
    ])
    expect(store.scopes()).toEqual([])
    expect(store.counters.refused).toMatchObject({
      'out-of-scope': 1,
      'no-publish-grant': 1,
      'bad-signature': 1,
      malformed: 1,
    })
  })

  it('falls back when a publisher is revoked and restores on reinstatement, with the view-change history', async () => {
    const revocations = mutableRevocations()
    const store = await openStore(node.publicKey, { revocations })
    const v1 = artifact(p0, { version: 1n })
    const v2 = artifact(p1, { version: 2n })
    await store.apply([...setup(), v1.bytes, v2.bytes], { from })
    const rootBefore = hex(store.scopeRoots().get('cluster/c1'))
    revocations.revoke(p1.publicKey)
    // Read-time guard: even before refresh(), a revoked winner is never answered.
    const cur = store.current('cluster/c1', 'cluster_snapshot', 'main')
    expect(cur.status === 'current' && hex(cur.version.hash)).toBe(hex(v1.hash))
    expect(store.tree('cluster/c1')!.count()).toBe(1)
    revocations.reinstate(p1.publicKey)
    store.refresh()
    const back = store.current('cluster/c1', 'cluster_snapshot', 'main')
    expect(back.status === 'current' && hex(back.version.hash)).toBe(hex(v2.hash))
    expect(hex(store.scopeRoots().get('cluster/c1'))).toBe(rootBefore)
    expect(store.viewChanges().map((c) => c.kind)).toEqual(['advance', 'advance', 'fallback', 'restore'])
  })

  it('drops a scope when its hold grant is withdrawn', async () => {
    const store = await openStore(node.publicKey)
    await store.apply([...setup(), artifact(p0, { version: 1n }).bytes], { from })
    expect(store.scopes()).toEqual(['cluster/c1'])
    const { signWithdrawal } = await import('@provsync/artifacts')
    const w = signWithdrawal(
      { subject: node.publicKey, right: 'hold', epoch: 1n, reason: 'moved' },
      operator,
      NET,
      {
        wallMs: 5,
        counter: 0,
      },
    )
    await store.apply([w.bytes], { from })
    expect(store.scopes()).toEqual([])
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main')).toEqual({ status: 'none', stale: false })
    expect(store.viewChanges().at(-1)).toMatchObject({
      kind: 'drop',
      cause: { type: 'drop-scope', scope: 'cluster/c1' },
    })
  })

  it('never passes stale as fresh: with no peer reachable, answers only when stale answers are allowed', async () => {
    let fresh = true
    const store = await openStore(node.publicKey, { freshness: () => fresh })
    await store.apply([...setup(), artifact(p0, { version: 1n }).bytes], { from })
    fresh = false
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main')).toEqual({ status: 'stale' })
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main', { allowStale: true })).toMatchObject({
      status: 'current',
      stale: true,
    })
  })

  it('keeps everything across a reopen', async () => {
    const dataDir = tempDir()
    const options = {
      networkId: NET,
      nodeKey: node.publicKey,
      trust: [operator.publicKey],
      dataDir,
      verifyThreads: 0,
    }
    const a = await openArtifactStore(options)
    await a.apply([...setup(), artifact(p0, { version: 1n }).bytes], { from })
    const roots = a.scopeRoots()
    await a.close()
    const b = await openArtifactStore(options)
    expect(b.scopeRoots()).toEqual(roots)
    expect(b.current('cluster/c1', 'cluster_snapshot', 'main').status).toBe('current')
    await b.close()
  })

  it('materializes a family from the newest snapshot and reports a gap', async () => {
    const store = await openStore(node.publicKey)
    const f = 'snapshot_increment'
    const recs = [
      artifact(p0, { version: 3n, family: f, name: 's3' }),
      artifact(p0, { version: 4n, base: 3n, family: f, name: 'i4' }),
    ]
    recs.push(artifact(p0, { version: 6n, base: 5n, family: f, name: 'i6' }))
    await store.apply([...setup(), ...recs.map((r) => r.bytes)], { from })
    const m = store.materialize('cluster/c1', f)
    expect(m.version).toBe(4n)
    expect(m.gap).toEqual({ after: 4n, newest: 6n })
  })
})

describe('atomicity', () => {
  it('a batch whose transaction fails leaves nothing applied, in LMDB or in memory', async () => {
    let fail = false
    const store = await openStore(node.publicKey, {
      faults: {
        beforeCommit: () => {
          if (fail) throw new Error('injected')
        },
      },
    })
    await store.apply(setup().slice(0, 2), { from })
    const roots = store.scopeRoots()
    const operatorRoot = hex(store.operatorTree().root())
    fail = true
    // p1's grant and p1's artifact in one batch: neither may survive the failed commit.
    const batch = [grant(p1, 'publish', ['cluster']).bytes, artifact(p1, { version: 9n }).bytes]
    await expect(store.apply(batch, { from })).rejects.toThrow('injected')
    expect(store.scopeRoots()).toEqual(roots)
    expect(hex(store.operatorTree().root())).toBe(operatorRoot)
    expect(store.history('cluster/c1', 'cluster_snapshot', 'main')).toEqual([])
    expect(store.viewChanges()).toEqual([])
    fail = false
    // The in-memory authority forgot p1's grant: p1's artifact alone is refused.
    const [outcome] = await store.apply([artifact(p1, { version: 10n }).bytes], { from })
    expect(outcome).toMatchObject({ status: 'refused', reason: 'no-publish-grant' })
    expect((await store.apply(batch, { from })).map((o) => o.status)).toEqual(['applied', 'applied'])
    expect(store.viewChanges().map((c) => c.seq)).toEqual([1])
  })
})

describe('trust rotation in the store', () => {
  it('a new bundle without the old operator drops its grants; with it, nothing changes', async () => {
    const store = await openStore(node.publicKey)
    await store.apply([...setup(), artifact(p0, { version: 1n }).bytes], { from })
    const other = seeded(99)
    expect(store.setTrust([operator.publicKey, other.publicKey])).toBe(0)
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main').status).toBe('current')
    expect(store.operatorTree().count()).toBe(3)
    store.setTrust([other.publicKey])
    // The node's hold grant was the old operator's: it holds nothing now, and the scope is dropped.
    expect(store.operatorTree().count()).toBe(0)
    expect(store.scopes()).toEqual([])
    expect(store.current('cluster/c1', 'cluster_snapshot', 'main').status).toBe('none')
    // Operator records of the old operator are refused from now on.
    const [late] = await store.apply([grant(p0, 'publish', ['x']).bytes], { from })
    expect(late).toMatchObject({ status: 'refused', reason: 'untrusted-operator' })
    store.setTrust([operator.publicKey])
    expect(store.operatorTree().count()).toBe(3)
  })
})
