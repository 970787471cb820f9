import { join } from 'node:path'
import {
  type ArtifactMetrics,
  type ArtifactStore,
  createArtifactMetrics,
  openArtifactStore,
} from '@provsync/artifacts'
import type { NodeState } from '@provsync/crdt'
import { loadOrCreateIdentity, type NodeServiceParts, type ProvsyncNode } from '@provsync/sync'

/** The artifact store's own LMDB environment, beside crdt's in the data directory. */
export const ARTIFACTS_DIR = 'artifacts'

/**
 * The node's artifact store (scopes, grants, artifacts), its metrics, and the hook that registers
 * its libp2p services with createNode. Opened before the node so the services can take the store.
 */
export interface NodeArtifacts {
  readonly store: ArtifactStore
  /** Set once createNode has called {@link NodeArtifacts.services} (the node's registry). */
  readonly metrics: ArtifactMetrics | undefined
  /** For createNode's `services` option: metrics in the node's registry, and the sync service. */
  services(parts: NodeServiceParts): Record<string, (components: never) => unknown>
  /** After createNode: revocations come from its state, and a change of them re-derives the store. */
  attach(node: ProvsyncNode): void
  close(): Promise<void>
}

/**
 * Opens `<dataDir>/artifacts`. The node key is the libp2p identity's (the one its hold grants
 * name), read here before createNode reads it again. Revocations are crdt's: until the node is
 * attached none are known, and `attach` re-derives every current version once they are.
 */
export async function openNodeArtifacts(
  dataDir: string,
  networkId: string,
  trust: readonly Uint8Array[],
): Promise<NodeArtifacts> {
  const identity = await loadOrCreateIdentity(dataDir)
  let state: NodeState | undefined
  let detach: (() => void) | undefined
  const freshness = (_scope: string): boolean => true
  const store = await openArtifactStore({
    networkId,
    nodeKey: identity.publicKey.raw,
    trust,
    dataDir: join(dataDir, ARTIFACTS_DIR),
    revocations: { isRevoked: (key) => state?.revocations.isRevoked(key) ?? false },
    freshness,
  })
  let metrics: ArtifactMetrics | undefined
  return {
    store,
    get metrics() {
      return metrics
    },
    services(parts) {
      metrics = createArtifactMetrics({ registry: parts.registry, store, freshness })
      return {}
    },
    attach(node) {
      state = node.state
      store.refresh()
      detach = node.state.onChange((changed) => {
        if (changed === 'revocations') store.refresh()
      })
    },
    async close() {
      detach?.()
      await store.close()
    },
  }
}
