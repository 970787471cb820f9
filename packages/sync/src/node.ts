import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type GossipSub, type GossipsubOpts, gossipsub } from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import type { AbortOptions, ConnectionGater, PeerId } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { memory } from '@libp2p/memory'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { type NodeState, type OpenNodeStateOptions, openNodeState } from '@provsync/crdt'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { Registry } from 'prom-client'
import { loadOrCreateIdentity, privateKeySeed } from './identity.js'
import { type ProvsyncService, type ProvsyncServiceInit, provsync } from './index.js'
import { type MetricsServer, serveMetrics } from './metrics.js'

export interface ProvsyncNodeOptions {
  /** Holds the LMDB environment and the identity key (so the peer id survives restarts). */
  dataDir: string
  networkId: string
  /** Operator public keys whose revocations this node obeys. */
  trust: readonly Uint8Array[]
  /** Listen addresses (default `/ip4/0.0.0.0/tcp/0`); `/memory/<name>` addresses use the memory transport. */
  listen?: string[]
  /** Peers dialled at start and redialled while disconnected. */
  bootstrap?: Array<string | Multiaddr>
  /** Discover peers on the local network with mDNS (default false). */
  mdns?: boolean
  /** Serve Prometheus metrics on this port at /metrics (0 picks a free port). */
  metricsPort?: number
  /** Sync service options beyond state and trust. */
  sync?: Omit<ProvsyncServiceInit, 'state' | 'trust' | 'registry'>
  /** Extra options for crdt's `openNodeState`. */
  store?: Partial<Omit<OpenNodeStateOptions, 'dataDir' | 'networkId' | 'trust' | 'seed'>>
  /** How often disconnected bootstrap peers are redialled (default 5 s). */
  bootstrapRetryMs?: number
  /** Gossipsub options laid over `DEFAULT_PUBSUB_OPTIONS`. */
  pubsub?: Partial<GossipsubOpts>
  /**
   * libp2p options laid over the node's defaults: `connectionManager`, `transports`,
   * `connectionMonitor` and so on. A `connectionGater` here is asked after the node's own, which
   * refuses the peers the service has blocked. `services` and the identity stay the node's.
   */
  libp2p?: Omit<Libp2pOptions, 'services' | 'privateKey'>
}

/**
 * Gossipsub as provsync uses it. Peers act only on announcements whose author they are connected
 * to (a relayed one names a peer they cannot pull from), so flood publishing, which hands every
 * announcement to every connected subscriber, is the part that counts; relays through the mesh
 * and gossip about message ids are a backup. A small mesh keeps that backup and drops most of
 * the duplicates: at 32 nodes gossipsub's defaults (D = 6, gossip to a quarter of the peers)
 * received 16.8 MiB where these receive 9.4 MiB (packages/sim README).
 */
export const DEFAULT_PUBSUB_OPTIONS: Partial<GossipsubOpts> = {
  allowPublishToZeroTopicPeers: true,
  floodPublish: true,
  D: 2,
  Dlo: 1,
  Dhi: 3,
  Dout: 0,
  Dlazy: 2,
  gossipFactor: 0.05,
}

const DENY_METHODS = ['denyDialPeer', 'denyOutboundConnection', 'denyInboundEncryptedConnection'] as const
type Deny = (peer: PeerId, ...rest: unknown[]) => boolean | Promise<boolean>

/** The caller's gater, with the node's own refusals asked first on the methods the node uses. */
function bothGaters(own: ConnectionGater, extra: ConnectionGater | undefined): ConnectionGater {
  if (extra === undefined) return own
  const gater: ConnectionGater = { ...extra }
  for (const method of DENY_METHODS) {
    const first = own[method] as Deny
    const second = extra[method] as Deny | undefined
    ;(gater as Record<string, Deny>)[method] =
      second === undefined
        ? first
        : async (peer, ...rest) => (await first(peer, ...rest)) || (await second.call(extra, peer, ...rest))
  }
  return gater
}

export type ProvsyncServices = {
  identify: Identify
  pubsub: GossipSub
  provsync: ProvsyncService
}

export interface ProvsyncNode {
  readonly peerId: PeerId
  /** The raw Ed25519 public key records from this node are asserted with. */
  readonly publicKey: Uint8Array
  readonly libp2p: Libp2p<ProvsyncServices>
  readonly state: NodeState
  readonly sync: ProvsyncService
  readonly metricsServer?: MetricsServer
  multiaddrs(): Multiaddr[]
  dial(address: string | Multiaddr | PeerId, options?: AbortOptions): Promise<void>
  stop(options?: AbortOptions): Promise<void>
}

/**
 * Starts a node: identity and stores from `dataDir`, libp2p over TCP + noise + yamux with identify
 * and gossipsub, the provsync service, and optionally mDNS and a metrics endpoint.
 */
export async function createNode(options: ProvsyncNodeOptions): Promise<ProvsyncNode> {
  const privateKey = await loadOrCreateIdentity(options.dataDir)
  const state = await openNodeState({
    ...options.store,
    dataDir: options.dataDir,
    networkId: options.networkId,
    trust: options.trust,
    seed: privateKeySeed(privateKey),
  })
  const listen = options.listen ?? ['/ip4/0.0.0.0/tcp/0']
  const registry = new Registry()
  let service: ProvsyncService | undefined
  let libp2p: Libp2p<ProvsyncServices>
  try {
    libp2p = await createLibp2p({
      ...options.libp2p,
      privateKey,
      addresses: { ...options.libp2p?.addresses, listen },
      transports:
        options.libp2p?.transports ??
        (listen.some((a) => a.startsWith('/memory')) ? [tcp(), memory()] : [tcp()]),
      connectionEncrypters: options.libp2p?.connectionEncrypters ?? [noise()],
      streamMuxers: options.libp2p?.streamMuxers ?? [
        yamux({
          maxInboundStreams: 256,
          maxOutboundStreams: 256,
          streamOptions: { maxWriteBufferLength: 4 * 1024 * 1024 },
        }),
      ],
      connectionGater: bothGaters(
        {
          denyInboundEncryptedConnection: (peer) => service?.isBlocked(peer) ?? false,
          denyOutboundConnection: (peer) => service?.isBlocked(peer) ?? false,
          denyDialPeer: (peer) => service?.isBlocked(peer) ?? false,
        },
        options.libp2p?.connectionGater,
      ),
      peerDiscovery: [...(options.mdns === true ? [mdns()] : []), ...(options.libp2p?.peerDiscovery ?? [])],
      ...(options.metricsPort !== undefined
        ? { metrics: prometheusMetrics({ registry, preserveExistingMetrics: true }) }
        : {}),
      services: {
        identify: identify(),
        pubsub: gossipsub({ ...DEFAULT_PUBSUB_OPTIONS, ...options.pubsub }),
        provsync: provsync({ ...options.sync, state, trust: options.trust, registry }),
      },
    })
  } catch (err) {
    await state.close()
    throw err
  }
  service = libp2p.services.provsync
  const metricsServer =
    options.metricsPort === undefined ? undefined : await serveMetrics(registry, options.metricsPort)

  const bootstrap = (options.bootstrap ?? []).map((a) => (typeof a === 'string' ? multiaddr(a) : a))
  const redial = async (): Promise<void> => {
    await Promise.allSettled(
      bootstrap.map(async (address) => {
        const peer = address.getComponents().find((c) => c.name === 'p2p')?.value
        if (peer !== undefined && libp2p.getConnections().some((c) => c.remotePeer.toString() === peer))
          return
        await libp2p.dial(address, { signal: AbortSignal.timeout(5_000) })
      }),
    )
  }
  await redial()
  const redialTimer =
    bootstrap.length === 0 ? undefined : setInterval(() => void redial(), options.bootstrapRetryMs ?? 5_000)
  redialTimer?.unref()

  let stopped = false
  return {
    peerId: libp2p.peerId,
    publicKey: state.publicKey,
    libp2p,
    state,
    sync: libp2p.services.provsync,
    ...(metricsServer !== undefined ? { metricsServer } : {}),
    multiaddrs: () => libp2p.getMultiaddrs(),
    async dial(address, dialOptions) {
      await libp2p.dial(typeof address === 'string' ? multiaddr(address) : address, dialOptions)
    },
    async stop() {
      if (stopped) return
      stopped = true
      if (redialTimer !== undefined) clearInterval(redialTimer)
      await metricsServer?.close()
      await libp2p.stop()
      await state.close()
    },
  }
}
