import { join } from 'node:path'
import {
  type ArtifactMetrics,
  type ArtifactStore,
  type ArtifactSyncService,
  artifactSync,
  createArtifactMetrics,
  type DenialReason,
  encodeRecord,
  followTrustInSync,
  memberAdmission,
  memberGossipGate,
  openArtifactStore,
  scopeFreshness,
  type TrustBundle,
  type TrustTarget,
} from '@provsync/artifacts'
import type { NodeState } from '@provsync/crdt'
import {
  type Admission,
  loadOrCreateIdentity,
  type NodeServiceParts,
  type ProvsyncNode,
  type ProvsyncNodeOptions,
} from '@provsync/sync'
import { CliError } from './errors.js'
import { peerIdOfKey } from './identity.js'

/** The artifact store's own LMDB environment, beside crdt's in the data directory. */
export const ARTIFACTS_DIR = 'artifacts'
/** The name of the replication service among the node's libp2p services. */
export const ARTIFACTS_SERVICE = 'artifacts'

export interface NodeArtifactsOptions {
  readonly dataDir: string
  readonly networkId: string
  readonly trust: readonly Uint8Array[]
  /**
   * The trust bundle in force (`trust` and how many of them sign the next one): the service
   * follows newer bundles published in the `trust` scope and puts them in force in the store, in
   * sync's hello and in crdt's operator set. Without it (no operator keys) nothing rotates.
   */
  readonly bundle?: TrustBundle
  /** Each bundle the service puts in force (to be remembered for the next start). */
  readonly onRotated?: (bundle: TrustBundle) => void
  /** Anti-entropy interval of the replication service (the node's `--anti-entropy-ms`). */
  readonly antiEntropyMs?: number
  /**
   * Closed network (`--closed`): sync and artifacts admit only peers presenting a live `member`
   * grant, this node presents its own, and head announcements go to members only.
   */
  readonly closed?: boolean
}

/** Closed mode (`--closed`, or remembered in node.json) on a node whose store holds no live member grant of its own: it could sync with no one. */
export class NoMemberGrantError extends CliError {
  readonly peerId: string
  constructor(peerId: string) {
    super(
      `closed network: this node (${peerId}) holds no live member grant; start it with --open and give it one with: provsync grant ${peerId} member --epoch <n> -k <operator key>`,
    )
    this.peerId = peerId
  }
}

/**
 * The node's artifact store (scopes, grants, artifacts), its replication service and metrics.
 * Opened before the node so createNode's `services` hook can hand the store to the service.
 */
export interface NodeArtifacts {
  readonly store: ArtifactStore
  /** Set once createNode has called {@link NodeArtifacts.services} (the node's registry). */
  readonly metrics: ArtifactMetrics | undefined
  /** The replication service, once the node is attached. */
  readonly service: ArtifactSyncService | undefined
  /** For createNode's `services` option: the replication service, metrics in the node's registry. */
  services(parts: NodeServiceParts): Record<string, (components: never) => unknown>
  /** Closed network: the admission of sync and artifacts (the same object); undefined when open. */
  readonly admission: Admission | undefined
  /** Closed network: gossipsub options keeping announcements from non-members; undefined when open. */
  readonly pubsub: ProvsyncNodeOptions['pubsub']
  /**
   * After createNode: revocations come from its state, and a change of them re-derives the store.
   * Each rotation the service follows moves sync's hello, crdt's operator set and `trustTargets`
   * (the blob service's hello: the node's BlobNode).
   */
  attach(node: ProvsyncNode, ...trustTargets: TrustTarget[]): void
  /** Applies records made here (CLI-signed) and propagates them to connected peers. */
  submit(records: readonly Uint8Array[]): ReturnType<ArtifactStore['apply']>
  close(): Promise<void>
}

/**
 * Opens `<dataDir>/artifacts`. The node key is the libp2p identity's (the one its hold grants
 * name), read here before createNode reads it again. Revocations are crdt's: until the node is
 * attached none are known, and `attach` re-derives every current version once they are. A scope
 * is fresh while a holder of it synced with this node in the last 120 s (the service's default).
 */
export async function openNodeArtifacts(options: NodeArtifactsOptions): Promise<NodeArtifacts> {
  const identity = await loadOrCreateIdentity(options.dataDir)
  let state: NodeState | undefined
  let detach: (() => void) | undefined
  const freshness = scopeFreshness()
  const store = await openArtifactStore({
    networkId: options.networkId,
    nodeKey: identity.publicKey.raw,
    trust: options.trust,
    dataDir: join(options.dataDir, ARTIFACTS_DIR),
    revocations: { isRevoked: (key) => state?.revocations.isRevoked(key) ?? false },
    freshness: freshness.isFresh,
  })
  let metrics: ArtifactMetrics | undefined
  let service: ArtifactSyncService | undefined
  let closed: ReturnType<typeof closedNetwork> | undefined
  try {
    closed = options.closed === true ? closedNetwork(store) : undefined
  } catch (err) {
    await store.close()
    throw err
  }
  const antiEntropy =
    options.antiEntropyMs === undefined ? {} : { antiEntropy: { intervalMs: options.antiEntropyMs } }
  const admission = closed === undefined ? {} : { admission: closed.admission }
  const trust = options.bundle === undefined ? {} : { trust: { bundle: options.bundle } }
  return {
    store,
    admission: closed?.admission,
    pubsub: closed?.pubsub,
    get metrics() {
      return metrics
    },
    get service() {
      return service
    },
    services(parts) {
      metrics = createArtifactMetrics({ registry: parts.registry, store, freshness: freshness.isFresh })
      return {
        [ARTIFACTS_SERVICE]: artifactSync({ store, freshness, ...antiEntropy, ...admission, ...trust }),
      }
    },
    attach(node, ...trustTargets) {
      state = node.state
      service = node.libp2p.services[ARTIFACTS_SERVICE] as ArtifactSyncService
      if (metrics !== undefined) observeService(service, metrics)
      store.refresh()
      const stopChange = node.state.onChange((changed) => {
        if (changed === 'revocations') store.refresh()
      })
      const stopTrust = followRotations(service, node, options, trustTargets)
      detach = () => {
        stopChange()
        stopTrust()
      }
    },
    submit: (records) =>
      service === undefined ? store.apply(records, { from: store.nodeKey }) : service.publish(records),
    async close() {
      detach?.()
      await store.close()
    },
  }
}

/**
 * A rotation the service follows (now, if it moved while the node started, and at each
 * `trust:rotated`) moves sync's hello, crdt's operator set (`state.setTrust`: revocations and
 * invalidations of a removed operator stop acting) and `targets` (the blob protocol's hello, whose
 * hash is sync's: two nodes that followed it keep exchanging blobs, a node that did not is
 * refused), and is handed to `onRotated`. No-op without a trust bundle. Returns the unsubscribe.
 */
function followRotations(
  service: ArtifactSyncService,
  node: ProvsyncNode,
  options: NodeArtifactsOptions,
  targets: readonly TrustTarget[],
): () => void {
  // setTrust fails only once the state is closed (a rotation racing the node's stop).
  const crdt = { setTrust: (keys: readonly Uint8Array[]) => node.state.setTrust(keys).catch(() => false) }
  const stopSync = followTrustInSync(service, node.sync, crdt, ...targets)
  const onRotated = (evt: CustomEvent<{ bundle: TrustBundle }>) => options.onRotated?.(evt.detail.bundle)
  const now = service.trustBundle()
  if (now !== undefined && options.bundle !== undefined && now.version > options.bundle.version)
    options.onRotated?.(now)
  service.addEventListener('trust:rotated', onRotated)
  return () => {
    stopSync()
    service.removeEventListener('trust:rotated', onRotated)
  }
}

/**
 * A closed network's admission and gossip gate on the node's store. Refuses to go on without a
 * live member grant of the node's own (it would sync with no one and say nothing about why); the
 * grant presented is read at each hello, so a renewal (a higher epoch) is presented at once.
 */
function closedNetwork(store: ArtifactStore): {
  admission: Admission
  pubsub: ProvsyncNodeOptions['pubsub']
} {
  if (store.liveGrant(store.nodeKey, 'member') === undefined)
    throw new NoMemberGrantError(peerIdOfKey(store.nodeKey))
  let last: { grant: object; bytes: Uint8Array } | undefined
  const credential = () => {
    const grant = store.liveGrant(store.nodeKey, 'member')
    if (grant === undefined) return undefined
    if (last?.grant !== grant) last = { grant, bytes: encodeRecord(grant, store.networkId) }
    return last.bytes
  }
  return { admission: memberAdmission({ store, credential }), pubsub: memberGossipGate({ store }) }
}

/** The refusals this node sends that are authorization denials (busy or malformed are not). */
const DENIALS: Partial<Record<string, DenialReason>> = {
  'not-admitted': 'not-member',
  'not-shared': 'not-granted',
  blocked: 'blocked',
  'wrong-network': 'wrong-network',
}

/** Feeds the service's sessions, refusals and the roots its peers list into the per-scope metrics. */
function observeService(service: ArtifactSyncService, metrics: ArtifactMetrics): void {
  service.addEventListener('artifacts:synced', (evt) => {
    const r = evt.detail
    for (const scope of r.shared) {
      if (r.error === undefined) metrics.observeFetch(scope, r.durationMs / 1000)
      else metrics.fetchFailed(scope, r.error.name === 'TimeoutError' ? 'timeout' : 'protocol')
    }
  })
  // Each scope list replaces what the peer listed before (empty once it disconnects).
  service.addEventListener('artifacts:peer-roots', (evt) =>
    metrics.notePeerRoots(evt.detail.peer, evt.detail.roots),
  )
  service.addEventListener('artifacts:refusal', (evt) => {
    const reason = evt.detail.side === 'sent' ? DENIALS[evt.detail.code] : undefined
    if (reason !== undefined) metrics.denied(reason)
  })
}
