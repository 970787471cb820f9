import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import {
  type ArtifactStore,
  type ArtifactSyncInit,
  type ArtifactSyncService,
  artifactSync,
  type Decoded,
  type Grant,
  openArtifactStore,
  type Right,
  type ScopeFreshness,
  scopeFreshness,
  signGrant,
} from '@provsync/artifacts'
import type { Signer } from '@provsync/crdt'
import { createNode, loadOrCreateIdentity, type ProvsyncNode, type ProvsyncNodeOptions } from '@provsync/sync'
import { at, NET, operator } from '../helpers.js'

export interface ArtifactNode {
  node: ProvsyncNode
  store: ArtifactStore
  artifacts: ArtifactSyncService
  freshness: ScopeFreshness
  key: Uint8Array
  peerId: PeerId
  dataDir: string
  stop(): Promise<void>
}

const dirs: string[] = []
const running: ArtifactNode[] = []

/** Stops every node a test started and removes their directories. */
export async function cleanup(): Promise<void> {
  await Promise.allSettled(running.splice(0).map((n) => n.stop()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export interface NodeOptions {
  init?: Partial<ArtifactSyncInit> | ((store: ArtifactStore) => Partial<ArtifactSyncInit>)
  sync?: ProvsyncNodeOptions['sync'] | ((store: ArtifactStore) => ProvsyncNodeOptions['sync'])
  trust?: readonly Uint8Array[]
  /** Gossipsub options (e.g. memberGossipGate), given the node's artifact store. */
  pubsub?: (store: ArtifactStore) => ProvsyncNodeOptions['pubsub']
  dataDir?: string
  /** Network id (default the suite's). */
  network?: string
  /** Leave the artifacts service out (a node of the previous release). */
  withoutArtifacts?: boolean
}

/**
 * A real provsync node (createNode: libp2p over TCP on 127.0.0.1, crdt stores, sync) with the
 * artifact service plugged in through the `services` hook, its store in `<dataDir>/artifacts`.
 * Anti-entropy and sync-on-connect are off unless asked, so tests drive sessions themselves.
 */
export async function startArtifactNode(options: NodeOptions = {}): Promise<ArtifactNode> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'provsync-artsync-'))
  if (options.dataDir === undefined) dirs.push(dataDir)
  const trust = options.trust ?? [operator.publicKey]
  const key = (await loadOrCreateIdentity(dataDir)).publicKey.raw
  const freshness = scopeFreshness()
  const store = await openArtifactStore({
    networkId: options.network ?? NET,
    nodeKey: key,
    trust,
    dataDir: join(dataDir, 'artifacts'),
    freshness: freshness.isFresh,
    noSync: true,
    verifyThreads: 1,
  })
  const init = typeof options.init === 'function' ? options.init(store) : (options.init ?? {})
  const sync = typeof options.sync === 'function' ? options.sync(store) : options.sync
  const node = await createNode({
    dataDir,
    networkId: options.network ?? NET,
    trust,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    sync: { antiEntropy: false, syncOnConnect: false, announce: false, ...sync },
    store: { verifyThreads: 1 },
    ...(options.pubsub === undefined ? {} : { pubsub: options.pubsub(store) }),
    ...(options.withoutArtifacts === true
      ? {}
      : {
          services: () => ({
            artifacts: artifactSync({
              store,
              freshness,
              antiEntropy: false,
              syncOnConnect: false,
              propagate: false,
              ...init,
            }),
          }),
        }),
  })
  const artifacts = node.libp2p.services.artifacts as ArtifactSyncService
  const handle: ArtifactNode = {
    node,
    store,
    artifacts,
    freshness,
    key,
    peerId: node.peerId,
    dataDir,
    async stop() {
      const i = running.indexOf(handle)
      if (i >= 0) running.splice(i, 1)
      await node.stop()
      await store.close()
    },
  }
  running.push(handle)
  return handle
}

/** Dials `b` from `a` and waits until both sides see the connection. */
export async function connect(a: ArtifactNode, b: ArtifactNode): Promise<void> {
  await a.node.dial(b.node.multiaddrs()[0]!)
  const sees = (x: ArtifactNode, y: ArtifactNode) =>
    x.node.libp2p.getConnections(y.peerId).some((c) => c.status === 'open')
  await waitFor(() => sees(a, b) && sees(b, a), 'both sides of the connection')
}

/** The version number of the current artifact of (scope, family, name), or its status. */
export function currentOf(n: ArtifactNode, scope: string, name: string, family = 'cluster_snapshot') {
  const result = n.store.current(scope, family, name, { allowStale: true })
  return result.status === 'current' ? result.version.artifact.version : result.status
}

/** An operator-signed grant of `right` on `scopes` to a raw key. */
export function grantTo(
  subject: Uint8Array,
  right: Right,
  scopes: string[],
  epoch = 1n,
  signer: Signer = operator,
): Decoded<Grant> {
  return signGrant({ subject, right, scopes: right === 'member' ? [] : scopes, epoch }, signer, NET, at())
}

export async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
