import {
  type Artifact,
  type ArtifactStore,
  type Decoded,
  memberAdmission,
  signArtifact,
  signGrant,
  signTrustBundle,
  signWithdrawal,
  type TrustBundle,
} from '@provsync/artifacts'
import type { Admission } from '@provsync/sync'
import { afterEach, describe, expect, it } from 'vitest'
import { at, NET, operator, publishers, seeded } from './helpers.js'
import { cleanup, connect, currentOf, grantTo, startArtifactNode, waitFor } from './net/nodes.js'

afterEach(cleanup)

const publisher = publishers[0]!
const text = (s: string) => new TextEncoder().encode(s)

function publish(scope: string, name: string, version: bigint): Decoded<Artifact> {
  return signArtifact(
    {
      scope,
      family: 'cluster_snapshot',
      name,
      version,
      epoch: 1n,
      content: text(`${scope}:${name}:v${version}`),
    },
    publisher,
    NET,
    at(),
  )
}

describe('grant end', () => {
  it('a withdrawn hold grant drops the scope at the next session, and the holder lists it no more', async () => {
    const storage = await startArtifactNode()
    const consumer = await startArtifactNode()
    const hold = grantTo(consumer.key, 'hold', ['cluster/c1'])
    await storage.artifacts.publish(
      [
        grantTo(publisher.publicKey, 'publish', ['cluster']),
        grantTo(storage.key, 'hold', ['cluster']),
        hold,
        publish('cluster/c1', 'main', 1n),
      ].map((d) => d.bytes),
    )
    await connect(consumer, storage)
    await consumer.artifacts.syncWith(storage.peerId)
    expect(consumer.store.scopes()).toEqual(['cluster/c1'])
    const withdrawal = signWithdrawal(
      { subject: consumer.key, right: 'hold', epoch: 1n, reason: 'decommissioned' },
      operator,
      NET,
      at(),
    )
    await storage.artifacts.publish([withdrawal.bytes])
    const report = await consumer.artifacts.syncWith(storage.peerId)
    expect(report.error).toBeUndefined()
    expect(consumer.store.scopes()).toEqual([])
    expect(report.shared).toEqual([])
    expect(consumer.store.viewChanges().some((c) => c.kind === 'drop' && c.scope === 'cluster/c1')).toBe(true)
    // The storage node now refuses to say anything of the scope to it.
    const again = await storage.artifacts.syncWith(consumer.peerId)
    expect(again.shared).toEqual([])
    expect(consumer.store.scopes()).toEqual([])
  })
})

describe('admission (closed network) on the artifacts protocol and sync alike', () => {
  it('members sync; a node without a member grant is refused and learns nothing', async () => {
    let aCredential: Uint8Array | undefined
    let bCredential: Uint8Array | undefined
    const a = await startArtifactNode({
      init: (store) => ({ admission: memberAdmission({ store, credential: () => aCredential }) }),
    })
    const b = await startArtifactNode({
      init: (store) => ({ admission: memberAdmission({ store, credential: () => bCredential }) }),
    })
    const x = await startArtifactNode({
      init: (store) => ({ admission: memberAdmission({ store }) }),
    })
    aCredential = grantTo(a.key, 'member', []).bytes
    bCredential = grantTo(b.key, 'member', []).bytes
    await a.artifacts.publish(
      [
        grantTo(publisher.publicKey, 'publish', ['cluster']),
        grantTo(a.key, 'hold', ['cluster']),
        grantTo(b.key, 'hold', ['cluster']),
        grantTo(x.key, 'hold', ['cluster']),
        publish('cluster/c1', 'main', 1n),
      ].map((d) => d.bytes),
    )
    await connect(b, a)
    await connect(x, a)
    // b knows nothing yet: it admits a on the credential a presents in its welcome, and a admits b.
    const ok = await b.artifacts.syncWith(a.peerId)
    expect(ok.error).toBeUndefined()
    expect(currentOf(b, 'cluster/c1', 'main')).toBe(1n)
    // x holds a hold grant but no member grant: refused before anything else, both ways.
    await expect(x.artifacts.syncWith(a.peerId)).rejects.toMatchObject({
      name: 'ArtifactSyncRefusedError',
      code: 'not-admitted',
    })
    expect(x.store.operatorTree().count()).toBe(0)
    expect(x.store.scopes()).toEqual([])
    await expect(a.artifacts.syncWith(x.peerId)).rejects.toMatchObject({ name: 'PeerNotAdmittedError' })
    // a presented its own member grant in its hello (that is all x learned); x never got a welcome.
    expect(x.store.operatorTree().count()).toBe(1)
    expect(x.store.liveGrant(x.key, 'hold')).toBeUndefined()
    expect(x.store.scopes()).toEqual([])
    expect(a.artifacts.counters.refusals.sent['not-admitted']).toBeGreaterThanOrEqual(1)
    expect(a.artifacts.offences(x.peerId)).toEqual({})
  })

  it('the same memberAdmission object closes sync: a non-member pulls none of the three stores', async () => {
    const own = new Map<string, Uint8Array>()
    const hex = (k: Uint8Array) => Buffer.from(k).toString('hex')
    const closed = () => ({
      init: (store: ArtifactStore) => ({ admission: admissionOf(store) }),
      sync: (store: ArtifactStore) => ({ admission: admissionOf(store) }),
    })
    const admissions = new Map<ArtifactStore, Admission>()
    const admissionOf = (store: ArtifactStore) => {
      let admission = admissions.get(store)
      if (admission === undefined) {
        admission = memberAdmission({ store, credential: () => own.get(hex(store.nodeKey)) })
        admissions.set(store, admission)
      }
      return admission
    }
    const a = await startArtifactNode(closed())
    const b = await startArtifactNode(closed())
    const x = await startArtifactNode(closed())
    own.set(hex(a.key), grantTo(a.key, 'member', []).bytes)
    own.set(hex(b.key), grantTo(b.key, 'member', []).bytes)
    a.node.state.advanceVerified({ volume: 'v', destination: 'd', origin: 'o' }, 1n)
    await connect(b, a)
    await connect(x, a)
    const ok = await b.node.sync.syncWith(a.peerId)
    expect(ok.error).toBeUndefined()
    expect(b.node.state.tree('assertions').count()).toBe(1)
    await expect(x.node.sync.syncWith(a.peerId)).rejects.toMatchObject({ code: 'not-admitted' })
    await expect(a.node.sync.syncWith(x.peerId)).rejects.toMatchObject({ name: 'NotAdmittedError' })
    expect(x.node.state.tree('assertions').count()).toBe(0)
  })
})

describe('trust rotation over the network', () => {
  const op2 = seeded(50)
  const op3 = seeded(51)
  const v1: TrustBundle = { version: 1n, threshold: 1, keys: [operator.publicKey] }

  function bundleArtifact(version: bigint, keys: Uint8Array[], threshold: number, signers = [operator]) {
    const content = signTrustBundle(version, { threshold, keys }, signers, NET)
    return signArtifact(
      { scope: 'trust', family: 'trust_bundle', name: 'root', version, epoch: 1n, content },
      publisher,
      NET,
      at(),
    )
  }

  it('a node that was offline follows the chain link by link, refuses a link not signed by the bundle in force, and the new keys count', async () => {
    const grants = (keys: Uint8Array[]) => [
      grantTo(publisher.publicKey, 'publish', ['trust']),
      ...keys.map((k) => grantTo(k, 'hold', ['trust'])),
    ]
    const online = await startArtifactNode({ init: { trust: { bundle: v1 } } })
    const offline = await startArtifactNode({ init: { trust: { bundle: v1 } } })
    const rotations: bigint[][] = []
    offline.artifacts.addEventListener('trust:rotated', (e) => rotations.push([...e.detail.applied]))
    await online.artifacts.publish(grants([online.key, offline.key]).map((d) => d.bytes))
    const v2 = bundleArtifact(2n, [operator.publicKey, op2.publicKey], 1)
    const v3 = bundleArtifact(3n, [operator.publicKey, op2.publicKey, op3.publicKey], 2, [operator, op2])
    // A competing v3 signed by op3 alone: not a threshold of v2's keys.
    const forgedV3 = bundleArtifact(3n, [op3.publicKey], 1, [op3])
    await online.artifacts.publish([v2.bytes])
    await online.artifacts.publish([forgedV3.bytes])
    expect(online.artifacts.trustBundle()?.version).toBe(2n)
    expect(online.artifacts.counters.trustLinksRefused['below-threshold']).toBe(1)
    await online.artifacts.publish([v3.bytes])
    expect(online.artifacts.trustBundle()?.version).toBe(3n)
    // The node that was away connects and follows 1 -> 2 -> 3 in one go.
    await connect(offline, online)
    await offline.artifacts.syncWith(online.peerId)
    expect(offline.artifacts.trustBundle()).toMatchObject({ version: 3n, threshold: 2 })
    expect(offline.artifacts.trustBundle()?.keys).toHaveLength(3)
    expect(rotations).toEqual([[2n, 3n]])
    // op2's grants count now on both: a hold grant it signs reaches and holds on the other node.
    const byOp2 = grantTo(seeded(60).publicKey, 'hold', ['trust'], 1n, op2)
    await online.artifacts.publish([byOp2.bytes])
    await offline.artifacts.syncWith(online.peerId)
    expect(offline.store.liveGrant(seeded(60).publicKey, 'hold')).toBeDefined()
    expect(offline.store.operatorTree().root()).toEqual(online.store.operatorTree().root())
  })
})

describe('propagation', () => {
  it('an artifact published at one end of a line reaches the other end without a manual session', async () => {
    const nodes = await Promise.all(
      [0, 1, 2].map(() => startArtifactNode({ init: { propagate: { debounceMs: 5 } } })),
    )
    const [a, s, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]]
    const grants = [
      grantTo(publisher.publicKey, 'publish', ['cluster']),
      ...nodes.map((n) => grantTo(n.key, 'hold', ['cluster/c1'])),
    ].map((d) => d.bytes)
    for (const n of nodes) await n.store.apply(grants, { from: n.key })
    await connect(a, s)
    await connect(s, c)
    await a.artifacts.publish([publish('cluster/c1', 'main', 5n).bytes])
    await waitFor(() => currentOf(c, 'cluster/c1', 'main') === 5n, 'the artifact at the far end')
    expect(c.store.current('cluster/c1', 'cluster_snapshot', 'main')).toMatchObject({
      status: 'current',
      stale: false,
    })
  })
})

describe('mixed versions', () => {
  it('a node of the previous release (three stores, no artifacts protocol) keeps syncing the stores with a node that has artifacts', async () => {
    const withArtifacts = await startArtifactNode({ init: { syncOnConnect: true } })
    const previous = await startArtifactNode({
      withoutArtifacts: true,
      sync: { stores: ['revocations', 'supersessions', 'assertions'] },
    })
    withArtifacts.node.state.advanceVerified({ volume: 'v', destination: 'd', origin: 'new' }, 1n)
    previous.node.state.advanceVerified({ volume: 'v', destination: 'd', origin: 'old' }, 1n)
    await connect(withArtifacts, previous)
    const there = await withArtifacts.node.sync.syncWith(previous.peerId)
    expect(there.error).toBeUndefined()
    const back = await previous.node.sync.syncWith(withArtifacts.peerId)
    expect(back.error).toBeUndefined()
    expect(withArtifacts.node.state.tree('assertions').count()).toBe(2)
    expect(previous.node.state.tree('assertions').count()).toBe(2)
    // The artifacts protocol is simply not spoken there: the stream is not opened, and no one is blamed.
    await expect(withArtifacts.artifacts.syncWith(previous.peerId)).rejects.toMatchObject({
      name: 'UnsupportedProtocolError',
    })
    expect(withArtifacts.artifacts.offences(previous.peerId)).toEqual({})
    expect(Object.values(withArtifacts.node.sync.offences(previous.peerId)).every((n) => n === 0)).toBe(true)
    expect(Object.values(previous.node.sync.offences(withArtifacts.peerId)).every((n) => n === 0)).toBe(true)
  })
})

describe('freshness (degraded operation)', () => {
  it('a scope no holder confirmed is stale, fresh after a session, and stale answers only on request', async () => {
    const storage = await startArtifactNode()
    const consumer = await startArtifactNode()
    await storage.artifacts.publish(
      [
        grantTo(publisher.publicKey, 'publish', ['cluster']),
        grantTo(storage.key, 'hold', ['cluster']),
        grantTo(consumer.key, 'hold', ['cluster']),
        publish('cluster/c1', 'main', 1n),
      ].map((d) => d.bytes),
    )
    // The storage node holds the scope but no peer confirmed it yet: stale unless allowed.
    expect(storage.store.current('cluster/c1', 'cluster_snapshot', 'main')).toEqual({ status: 'stale' })
    expect(
      storage.store.current('cluster/c1', 'cluster_snapshot', 'main', { allowStale: true }),
    ).toMatchObject({
      status: 'current',
      stale: true,
    })
    await connect(consumer, storage)
    await consumer.artifacts.syncWith(storage.peerId)
    for (const n of [storage, consumer]) {
      expect(n.store.current('cluster/c1', 'cluster_snapshot', 'main')).toMatchObject({
        status: 'current',
        stale: false,
      })
    }
  })
})

describe('triggers', () => {
  it('a new connection starts a session (identify), and anti-entropy drops a scope whose hold grant expired', async () => {
    const auto = { syncOnConnect: true, antiEntropy: { intervalMs: 200, jitter: 0.2 } }
    const storage = await startArtifactNode({ init: auto })
    const consumer = await startArtifactNode({ init: auto })
    const expiring = signGrant(
      {
        subject: consumer.key,
        right: 'hold',
        scopes: ['cluster/c1'],
        epoch: 1n,
        expiresAt: Date.now() + 4_000,
      },
      operator,
      NET,
      at(),
    )
    await storage.artifacts.publish(
      [
        grantTo(publisher.publicKey, 'publish', ['cluster']),
        grantTo(storage.key, 'hold', ['cluster']),
        expiring,
        publish('cluster/c1', 'main', 1n),
      ].map((d) => d.bytes),
    )
    await connect(consumer, storage)
    await waitFor(() => currentOf(consumer, 'cluster/c1', 'main') === 1n, 'the scope after connecting')
    await waitFor(
      () => consumer.store.scopes().length === 0,
      'the scope dropped after the grant expired',
      10_000,
    )
    expect(consumer.store.viewChanges().some((c) => c.kind === 'drop')).toBe(true)
  })
})
