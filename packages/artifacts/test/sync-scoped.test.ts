import { blake3 } from '@noble/hashes/blake3.js'
import { type Artifact, type Decoded, signArtifact } from '@provsync/artifacts'
import { afterEach, describe, expect, it } from 'vitest'
import { at, NET, publishers } from './helpers.js'
import { type ArtifactNode, cleanup, connect, currentOf, grantTo, startArtifactNode } from './net/nodes.js'

afterEach(cleanup)

const publisher = publishers[0]!
const text = (s: string) => new TextEncoder().encode(s)

function publish(
  scope: string,
  name: string,
  version: bigint,
  content = `${scope}:${name}:v${version}`,
): Decoded<Artifact> {
  return signArtifact(
    { scope, family: 'cluster_snapshot', name, version, epoch: 1n, content: text(content) },
    publisher,
    NET,
    at(),
  )
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0
}

/** A storage node holding `cluster` (c1 and c2), a consumer granted only `cluster/c1`. */
async function storageAndConsumer(options: { frames?: Uint8Array[] } = {}) {
  const storage = await startArtifactNode()
  const consumer = await startArtifactNode({
    init:
      options.frames === undefined
        ? {}
        : { faults: { frames: (side, _peer, bytes) => side === 'received' && options.frames!.push(bytes) } },
  })
  const grants = [
    grantTo(publisher.publicKey, 'publish', ['cluster']),
    grantTo(storage.key, 'hold', ['cluster']),
    grantTo(consumer.key, 'hold', ['cluster/c1']),
  ]
  const c1 = [1n, 2n, 3n].map((v) => publish('cluster/c1', 'main', v))
  const c2 = ['secret-alpha', 'secret-beta'].map((name) =>
    publish('cluster/c2', name, 7n, `c2-content-${name}`),
  )
  await storage.artifacts.publish([...grants, ...c1, ...c2].map((d) => d.bytes))
  await connect(consumer, storage)
  return { storage, consumer, c1, c2, grants }
}

describe('scoped replication over libp2p (TCP loopback)', () => {
  it('a consumer granted one scope converges on it, learns its grants first, and holds nothing else', async () => {
    const { storage, consumer } = await storageAndConsumer()
    expect(consumer.store.scopes()).toEqual([])
    const report = await consumer.artifacts.syncWith(storage.peerId)
    expect(report.error).toBeUndefined()
    expect(consumer.store.scopes()).toEqual(['cluster/c1'])
    expect(currentOf(consumer, 'cluster/c1', 'main')).toBe(3n)
    expect(consumer.store.current('cluster/c1', 'cluster_snapshot', 'main')).toMatchObject({
      status: 'current',
      stale: false,
    })
    expect(consumer.store.scopeRoots().get('cluster/c1')).toEqual(
      storage.store.scopeRoots().get('cluster/c1'),
    )
    expect(consumer.store.operatorTree().root()).toEqual(storage.store.operatorTree().root())
    expect(report.shared).toEqual(['cluster/c1'])
    expect(consumer.freshness.lastSync('cluster/c1')).toBeGreaterThan(0)
    expect(consumer.freshness.lastSync('cluster/c2')).toBeUndefined()
    // A second session finds nothing to move in the scope.
    const again = await consumer.artifacts.syncWith(storage.peerId)
    expect(again.pulled.received).toBe(0)
    expect(again.pushed).toBe(0)
  })

  it('the storage node, starting the session, pushes the scope and reveals nothing of the other', async () => {
    const frames: Uint8Array[] = []
    const { storage, consumer, c2 } = await storageAndConsumer({ frames })
    await storage.artifacts.syncWith(consumer.peerId)
    await consumer.artifacts.syncWith(storage.peerId)
    expect(consumer.store.scopes()).toEqual(['cluster/c1'])
    expect(frames.length).toBeGreaterThan(4)
    const all = Buffer.concat(frames)
    const secrets: Array<[string, Uint8Array]> = [
      ['scope name', text('cluster/c2')],
      ['name alpha', text('secret-alpha')],
      ['name beta', text('secret-beta')],
      ['content', text('c2-content-secret-alpha')],
      ['root', storage.store.scopeRoots().get('cluster/c2')!],
      ['root (wire prefix)', storage.store.scopeRoots().get('cluster/c2')!.subarray(0, 16)],
    ]
    for (const record of c2) {
      secrets.push(['record key', record.hash], ['record key (wire prefix)', record.hash.subarray(0, 16)])
      secrets.push(['tree path of the key', blake3(record.hash).subarray(0, 16)])
    }
    for (const [what, bytes] of secrets) expect(contains(all, bytes), what).toBe(false)
    // ...while the shared scope's own name did cross, so the search would find such bytes.
    expect(contains(all, text('cluster/c1'))).toBe(true)
  })

  it('a peer without any hold grant gets the operator records and no scope at all', async () => {
    const frames: Uint8Array[] = []
    const storage = await startArtifactNode()
    const outsider = await startArtifactNode({
      init: { faults: { frames: (side, _p, b) => side === 'received' && frames.push(b) } },
    })
    await storage.artifacts.publish(
      [
        grantTo(publisher.publicKey, 'publish', ['cluster']),
        grantTo(storage.key, 'hold', ['cluster']),
        publish('cluster/c1', 'main', 1n),
      ].map((d) => d.bytes),
    )
    await connect(outsider, storage)
    const report = await outsider.artifacts.syncWith(storage.peerId)
    expect(report.error).toBeUndefined()
    expect(outsider.store.scopes()).toEqual([])
    expect(report.shared).toEqual([])
    expect(contains(Buffer.concat(frames), text('cluster/c1'))).toBe(false)
    await storage.artifacts.syncWith(outsider.peerId)
    expect(outsider.store.scopes()).toEqual([])
  })
})

export type { ArtifactNode }
