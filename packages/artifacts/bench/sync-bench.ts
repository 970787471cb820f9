/**
 * Network figures of the artifact replication service (suite `artifacts`): real libp2p nodes over
 * TCP on 127.0.0.1, each with its own LMDB artifact store and the `artifactSync` service.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  type ArtifactStore,
  type ArtifactSyncInit,
  type ArtifactSyncService,
  artifactSync,
  openArtifactStore,
  signArtifact,
  signGrant,
} from '@provsync/artifacts'
import { generateSigner, type Signer } from '@provsync/crdt'
import { loopbackTransport } from '@provsync/testing'
import { createLibp2p, type Libp2p } from 'libp2p'

export const NET = 'bench-artifacts-net'
const operator = generateSigner()
const publisher = generateSigner()
let tick = 0
const at = () => ({ wallMs: Date.now(), counter: tick++ % 60_000 })

export interface BenchNode {
  libp2p: Libp2p<{ artifacts: ArtifactSyncService }>
  store: ArtifactStore
  key: Uint8Array
  dir: string
  stop(): Promise<void>
}

/** A libp2p node (TCP, noise, yamux) with an artifact store and the service, no timers. */
export async function benchNode(init: Partial<ArtifactSyncInit> = {}): Promise<BenchNode> {
  const privateKey = await generateKeyPair('Ed25519')
  const key = privateKey.publicKey.raw
  const dir = mkdtempSync(join(tmpdir(), 'provsync-artsync-bench-'))
  const store = await openArtifactStore({
    networkId: NET,
    nodeKey: key,
    trust: [operator.publicKey],
    dataDir: dir,
    noSync: true,
    freshness: () => true,
  })
  const libp2p = await createLibp2p({
    privateKey,
    ...(await loopbackTransport()),
    services: {
      artifacts: artifactSync({ store, antiEntropy: false, syncOnConnect: false, propagate: false, ...init }),
    },
  })
  return {
    libp2p,
    store,
    key,
    dir,
    async stop() {
      await libp2p.stop()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export function grant(subject: Uint8Array, right: 'hold' | 'publish', scopes: string[]): Uint8Array {
  return signGrant({ subject, right, scopes, epoch: 1n }, operator, NET, at()).bytes
}

export const publisherKey = publisher.publicKey

/** `count` artifacts of `scope` (names from `start`), about 240 bytes of content each. */
export function scopeArtifacts(
  scope: string,
  start: number,
  count: number,
  by: Signer = publisher,
): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => {
    const i = start + k
    const content = new TextEncoder().encode(`{"config":${i},"pad":"${'x'.repeat(200)}"}`)
    return signArtifact(
      { scope, family: 'cluster_snapshot', name: `item-${i}`, version: 1n, epoch: 1n, content },
      by,
      NET,
      at(),
    ).bytes
  })
}

export async function load(store: ArtifactStore, records: Uint8Array[], batch = 5_000): Promise<void> {
  for (let i = 0; i < records.length; i += batch) {
    const outcomes = await store.apply(records.slice(i, i + batch), { from: store.nodeKey })
    const refused = outcomes.find((o) => o.status === 'refused')
    if (refused !== undefined) throw new Error(`bench load refused: ${refused.reason} ${refused.detail}`)
  }
}

export async function connect(a: BenchNode, b: BenchNode): Promise<void> {
  await a.libp2p.dial(b.libp2p.getMultiaddrs()[0]!)
  const deadline = Date.now() + 10_000
  while (b.libp2p.getConnections(a.libp2p.peerId).length === 0) {
    if (Date.now() > deadline) throw new Error('connection not seen')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * Bytes of one session (consumer initiating) between a consumer holding `shared` and storage
 * nodes: one holding `scopes` scopes of `perScope` artifacts, one holding only `shared`; the
 * consumers lack `differing` artifacts of the shared scope. Same operator records everywhere.
 */
export async function scopedSessionBytes(scopes: number, perScope: number, differing: number) {
  const shared = 'bench/s0'
  const [big, small, c1, c2] = await Promise.all([benchNode(), benchNode(), benchNode(), benchNode()])
  try {
    const operatorRecords = [
      grant(publisher.publicKey, 'publish', ['bench']),
      grant(big.key, 'hold', ['bench']),
      grant(small.key, 'hold', ['bench']),
      grant(c1.key, 'hold', [shared]),
      grant(c2.key, 'hold', [shared]),
    ]
    const sharedRecords = scopeArtifacts(shared, 0, perScope)
    for (const n of [big, small, c1, c2]) await load(n.store, operatorRecords)
    await load(big.store, sharedRecords)
    await load(small.store, sharedRecords)
    for (let s = 1; s < scopes; s++) await load(big.store, scopeArtifacts(`bench/s${s}`, 0, perScope))
    for (const c of [c1, c2]) await load(c.store, sharedRecords.slice(0, perScope - differing))
    await connect(c1, big)
    await connect(c2, small)
    const withAll = await c1.libp2p.services.artifacts.syncWith(big.libp2p.peerId)
    const alone = await c2.libp2p.services.artifacts.syncWith(small.libp2p.peerId)
    if (withAll.error !== undefined || alone.error !== undefined) throw withAll.error ?? alone.error
    if (withAll.pulled.applied !== differing || alone.pulled.applied !== differing) {
      throw new Error(
        `expected ${differing} applied, got ${withAll.pulled.applied} / ${alone.pulled.applied}`,
      )
    }
    return {
      withAll: withAll.bytesIn + withAll.bytesOut,
      alone: alone.bytesIn + alone.bytesOut,
      rounds: withAll.rounds,
    }
  } finally {
    await Promise.all([big, small, c1, c2].map((n) => n.stop()))
  }
}

/**
 * Milliseconds from `publish` at one node until every holder of the scope has it current: `n`
 * nodes in a ring on loopback TCP, propagation on, `rounds` publications; the median and mean.
 */
export async function publishToAll(n: number, rounds: number) {
  const nodes = await Promise.all(
    Array.from({ length: n }, () => benchNode({ propagate: { debounceMs: 5 } })),
  )
  try {
    const records = [
      grant(publisher.publicKey, 'publish', ['bench']),
      ...nodes.map((x) => grant(x.key, 'hold', ['bench'])),
    ]
    for (const x of nodes) await load(x.store, records)
    for (let i = 0; i < n; i++) await connect(nodes[i]!, nodes[(i + 1) % n]!)
    const times: number[] = []
    for (let r = 0; r < rounds; r++) {
      const record = signArtifact(
        {
          scope: 'bench/live',
          family: 'cluster_snapshot',
          name: 'main',
          version: BigInt(r + 1),
          epoch: 1n,
          content: new TextEncoder().encode(`v${r}`),
        },
        publisher,
        NET,
        at(),
      ).bytes
      const start = performance.now()
      await nodes[r % n]!.libp2p.services.artifacts.publish([record])
      await waitAll(nodes, BigInt(r + 1))
      times.push(performance.now() - start)
    }
    times.sort((a, b) => a - b)
    return {
      median: times[Math.floor(times.length / 2)]!,
      mean: times.reduce((a, b) => a + b, 0) / times.length,
    }
  } finally {
    await Promise.all(nodes.map((x) => x.stop()))
  }
}

async function waitAll(nodes: BenchNode[], version: bigint): Promise<void> {
  const has = (x: BenchNode) => {
    const r = x.store.current('bench/live', 'cluster_snapshot', 'main')
    return r.status === 'current' && r.version.artifact.version === version
  }
  const deadline = performance.now() + 60_000
  while (!nodes.every(has)) {
    if (performance.now() > deadline) throw new Error('publication did not reach every node')
    await new Promise((r) => setTimeout(r, 1))
  }
}
