import { createArtifactMetrics, OTHER_SCOPE, signArtifact } from '@provsync/artifacts'
import { describe, expect, it } from 'vitest'
import { artifact, grant, NET, publishers, seeded } from './helpers.js'
import { openStore } from './store-helpers.js'

// The per-scope series on a real LMDB store: what a scrape reads, and what the service feeds.
const node = seeded(20)
const peer = seeded(21)
const [publisher] = publishers as [ReturnType<typeof seeded>]

/** `name{labels} value` lines of a scrape, as a map. */
async function scrape(registry: import('prom-client').Registry): Promise<Map<string, number>> {
  const text = await registry.metrics()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^(provsync_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line)
    if (m !== null) out.set(m[1]!, Number(m[2]))
  }
  return out
}

async function storeWithGrants(options: { fresh?: boolean } = {}) {
  const store = await openStore(node.publicKey, { freshness: () => options.fresh ?? true })
  await store.apply(
    [grant(node, 'hold', ['cluster']).bytes, grant(publisher, 'publish', ['cluster']).bytes],
    { from: peer.publicKey },
  )
  return store
}

/** Issued `agoMs` before now by the publisher's clock. */
function issuedAgo(agoMs: number, input: Parameters<typeof artifact>[1]) {
  const scope = input.scope ?? 'cluster/c1'
  return signArtifact(
    { scope, family: 'cluster_snapshot', name: 'main', epoch: 1n, content: new Uint8Array([1]), ...input },
    publisher,
    NET,
    { wallMs: Date.now() - agoMs, counter: 0 },
  )
}

describe('artifact metrics', () => {
  it('counts records and current versions per scope, and stale ones only when the scope is not fresh', async () => {
    for (const fresh of [true, false]) {
      const store = await storeWithGrants({ fresh })
      await store.apply(
        [
          artifact(publisher, { version: 1n }).bytes,
          artifact(publisher, { version: 2n }).bytes,
          artifact(publisher, { version: 1n, name: 'other' }).bytes,
          artifact(publisher, { version: 1n, scope: 'cluster/c2' }).bytes,
        ],
        { from: peer.publicKey },
      )
      const metrics = createArtifactMetrics({ store, freshness: () => fresh })
      const s = await scrape(metrics.registry)
      expect(s.get('provsync_artifacts{scope="cluster/c1"}')).toBe(3)
      expect(s.get('provsync_artifact_current_versions{scope="cluster/c1"}')).toBe(2)
      expect(s.get('provsync_artifact_current_versions{scope="cluster/c2"}')).toBe(1)
      expect(s.get('provsync_artifact_stale_current_versions{scope="cluster/c1"}')).toBe(fresh ? 0 : 2)
      expect(s.get('provsync_artifact_version_gaps{scope="cluster/c1"}')).toBe(0)
    }
  })

  it('observes the issue-to-arrival lag of versions applied from a peer, not of its own', async () => {
    const store = await storeWithGrants()
    const metrics = createArtifactMetrics({ store })
    await store.apply([issuedAgo(5_000, { version: 1n }).bytes], { from: peer.publicKey })
    await store.apply([issuedAgo(60_000, { version: 1n, name: 'own' }).bytes], { from: node.publicKey })
    const s = await scrape(metrics.registry)
    expect(s.get('provsync_artifact_replication_lag_seconds_count{scope="cluster/c1"}')).toBe(1)
    const sum = s.get('provsync_artifact_replication_lag_seconds_sum{scope="cluster/c1"}')!
    expect(sum).toBeGreaterThanOrEqual(5)
    expect(sum).toBeLessThan(30)
    expect(s.get('provsync_artifact_replication_lag_seconds_bucket{le="1",scope="cluster/c1"}')).toBe(0)
    expect(s.get('provsync_artifact_replication_lag_seconds_bucket{le="30",scope="cluster/c1"}')).toBe(1)
    // A second scrape reads no change twice.
    await store.apply([issuedAgo(500, { version: 2n }).bytes], { from: peer.publicKey })
    const again = await scrape(metrics.registry)
    expect(again.get('provsync_artifact_replication_lag_seconds_count{scope="cluster/c1"}')).toBe(2)
    // Two arrivals between scrapes, the first replaced by the second: both are observed.
    await store.apply([issuedAgo(400, { version: 3n }).bytes], { from: peer.publicKey })
    await store.apply([issuedAgo(300, { version: 4n }).bytes], { from: peer.publicKey })
    const later = await scrape(metrics.registry)
    expect(later.get('provsync_artifact_replication_lag_seconds_count{scope="cluster/c1"}')).toBe(4)
  })

  it('counts a family whose increments stop before the newest as a version gap', async () => {
    const store = await storeWithGrants()
    const inc = { family: 'snapshot_increment', name: 'n' }
    await store.apply(
      [
        artifact(publisher, { ...inc, version: 1n }).bytes,
        artifact(publisher, { ...inc, name: 'm', version: 3n, base: 2n }).bytes,
      ],
      { from: peer.publicKey },
    )
    const metrics = createArtifactMetrics({ store })
    expect(store.materialize('cluster/c1', 'snapshot_increment').gap).toEqual({ after: 1n, newest: 3n })
    expect((await scrape(metrics.registry)).get('provsync_artifact_version_gaps{scope="cluster/c1"}')).toBe(1)
    await store.apply([artifact(publisher, { ...inc, name: 'k', version: 2n, base: 1n }).bytes], {
      from: peer.publicKey,
    })
    expect((await scrape(metrics.registry)).get('provsync_artifact_version_gaps{scope="cluster/c1"}')).toBe(0)
  })

  it('counts refusals by reason once, however often it is scraped', async () => {
    const store = await storeWithGrants()
    const metrics = createArtifactMetrics({ store })
    await store.apply([artifact(publisher, { version: 1n, scope: 'other/x' }).bytes], {
      from: peer.publicKey,
    })
    expect(
      (await scrape(metrics.registry)).get('provsync_artifact_refusals_total{reason="out-of-scope"}'),
    ).toBe(1)
    expect(
      (await scrape(metrics.registry)).get('provsync_artifact_refusals_total{reason="out-of-scope"}'),
    ).toBe(1)
    await store.apply([artifact(seeded(30), { version: 1n }).bytes], { from: peer.publicKey })
    const s = await scrape(metrics.registry)
    expect(s.get('provsync_artifact_refusals_total{reason="no-publish-grant"}')).toBe(1)
    expect(s.get('provsync_artifact_refusals_total{reason="out-of-scope"}')).toBe(1)
  })

  it('counts holders whose root differs, fetches, failures, and denials without a peer’s scope text as a label', async () => {
    const store = await storeWithGrants()
    await store.apply([artifact(publisher, { version: 1n }).bytes], { from: peer.publicKey })
    const metrics = createArtifactMetrics({ store })
    const ours = store.scopeRoots().get('cluster/c1')!
    metrics.notePeerRoot('cluster/c1', 'peer-a', ours)
    metrics.notePeerRoot('cluster/c1', 'peer-b', new Uint8Array(32))
    metrics.observeFetch('cluster/c1', 0.05)
    metrics.fetchFailed('cluster/c1', 'timeout')
    metrics.denied('not-granted', 'secret/tenant-b')
    metrics.denied('not-granted', 'cluster/c1')
    const s = await scrape(metrics.registry)
    expect(s.get('provsync_artifact_holders_root_differs{scope="cluster/c1"}')).toBe(1)
    expect(s.get('provsync_artifact_fetch_seconds_count{scope="cluster/c1"}')).toBe(1)
    expect(s.get('provsync_artifact_fetch_failures_total{scope="cluster/c1",reason="timeout"}')).toBe(1)
    expect(
      s.get(`provsync_artifact_authorization_denials_total{reason="not-granted",scope="${OTHER_SCOPE}"}`),
    ).toBe(1)
    expect(
      s.get('provsync_artifact_authorization_denials_total{reason="not-granted",scope="cluster/c1"}'),
    ).toBe(1)
    expect([...s.keys()].some((k) => k.includes('secret'))).toBe(false)
    metrics.forgetPeer('peer-b')
    expect(
      (await scrape(metrics.registry)).get('provsync_artifact_holders_root_differs{scope="cluster/c1"}'),
    ).toBe(0)
  })
})
