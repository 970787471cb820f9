import { noise } from '@chainsafe/libp2p-noise'
import { type GossipSub, type GossipsubOpts, gossipsub } from '@libp2p/gossipsub'
import { type Identify, identify } from '@libp2p/identify'
import type { AbortOptions, ConnectionGater, PeerId, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { memory } from '@libp2p/memory'
import { peerIdFromString } from '@libp2p/peer-id'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { checkDataFiles, type NodeState, type OpenNodeStateOptions, openNodeState } from '@provsync/crdt'
import { muxer } from '@provsync/mux'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { Registry } from 'prom-client'
import { DEFAULT_MAX_STREAM_WINDOW_BYTES } from './constants.js'
import { AddressInUseError } from './errors.js'
import { loadOrCreateIdentity, privateKeySeed } from './identity.js'
import { type ProvsyncService, type ProvsyncServiceInit, provsync } from './index.js'
import { type MetricsServer, type Readiness, serveMetrics, withReaderWarning } from './metrics.js'

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
  /** Serve Prometheus metrics on this port at /metrics, with /healthz and /readyz (0 picks a free port). */
  metricsPort?: number
  /** Address the metrics endpoint binds (default 127.0.0.1). */
  metricsHost?: string
  /** Extra readiness check for /readyz, asked after the node's own (started, stores open). */
  readiness?: () => Readiness | Promise<Readiness>
  /** Sync service options beyond state and trust. */
  sync?: Omit<ProvsyncServiceInit, 'state' | 'trust' | 'registry'>
  /** Extra options for crdt's `openNodeState`. */
  store?: Partial<Omit<OpenNodeStateOptions, 'dataDir' | 'networkId' | 'trust' | 'seed'>>
  /**
   * How the LMDB data file is checked before LMDB reads it (LMDB keeps no checksums: noise over a
   * page can crash the process that reads it). `meta`: both meta pages (1.6 ms on 1 GB); `walk`:
   * also every sub-database, in a child process, so a crash there is a report (15-17 s per GB
   * measured on a loaded machine), a child process at each start; `auto`: the walk only for files
   * up to 64 MiB (what `provsync node` uses).
   *
   * @default 'meta'
   */
  dataCheck?: 'meta' | 'walk' | 'auto'
  /**
   * The receive window of each yamux stream: what a peer may have in flight on one stream before
   * it waits for this node (with `maxBufferedBytesPerPeer`, what a read flood can make it hold).
   * A larger window speeds up pulls over links with a long round trip (a stream moves at most one
   * window per round trip: 256 KiB at 50 ms is 5 MiB/s). Ignored when `libp2p.streamMuxers` is set
   * (the way to run another muxer, e.g. `@chainsafe/libp2p-yamux`).
   *
   * @default 256 KiB (`DEFAULT_MAX_STREAM_WINDOW_BYTES`)
   */
  maxStreamWindowBytes?: number
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
  /**
   * Extra libp2p services beside identify, pubsub and provsync (blobs, artifacts), built from the
   * node's own parts so they share its stores and metrics registry. They start and stop with
   * libp2p and are reached as `node.libp2p.services[name]`; the three names above are reserved.
   *
   * @default none
   */
  services?: (parts: NodeServiceParts) => Record<string, ExtraServiceFactory>
}

/** A libp2p service factory; its components are libp2p's, typed by the service itself. */
export type ExtraServiceFactory = (components: never) => unknown

/** What an extra service gets from the node that runs it. */
export interface NodeServiceParts {
  readonly state: NodeState
  /** The registry `/metrics` serves (when `metricsPort` is set). */
  readonly registry: Registry
}

const RESERVED_SERVICES = new Set(['identify', 'pubsub', 'provsync'])

function extraServices(
  options: ProvsyncNodeOptions,
  parts: NodeServiceParts,
): Record<string, ExtraServiceFactory> {
  const extra = options.services?.(parts) ?? {}
  for (const name of Object.keys(extra)) {
    if (RESERVED_SERVICES.has(name)) throw new TypeError(`createNode: service name "${name}" is reserved`)
  }
  return extra
}

/**
 * Gossipsub as provsync uses it. Peers act only on announcements whose author they are connected
 * to (a relayed one names a peer they cannot pull from), so flood publishing, which hands every
 * announcement to every connected subscriber, is the part that counts; relays through the mesh
 * and gossip about message ids are a backup. A small mesh keeps that backup and drops most of
 * the duplicates: at 32 nodes gossipsub's defaults (D = 6, gossip to a quarter of the peers)
 * received 16.8 MiB where these receive 9.4 MiB (packages/sim README).
 *
 * Gossip about message ids stays (`Dlazy` 2): session 12 tried none (`Dlazy` 0), which took the
 * 32-node simulation's gossipsub messages per record per node from 0.11 to 0.03-0.04, but it converged
 * 13.7 and 14.8 s after the last heal against 4.3 to 5.1 s with gossip (packages/sync README).
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
} & Record<string, unknown>

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

/** libp2p's listen failure names each address and its error in text only: find one in use. */
function addressInUse(err: unknown): AddressInUseError | undefined {
  const match = /^\s*(\S+): Error: listen EADDRINUSE/m.exec((err as Error | undefined)?.message ?? '')
  return match === null ? undefined : new AddressInUseError(match[1]!, { cause: err })
}

type NodeParts = { state: NodeState; libp2p?: Libp2p<ProvsyncServices>; metricsServer?: MetricsServer }

/** Releases whatever a failed start opened, then throws the start's error (typed when it can be). */
async function abandon(parts: NodeParts, err: unknown): Promise<never> {
  await parts.metricsServer?.close().catch(() => {})
  await Promise.resolve(parts.libp2p?.stop()).catch(() => {})
  await parts.state.close().catch(() => {})
  throw addressInUse(err) ?? err
}

function libp2pOptions(
  options: ProvsyncNodeOptions,
  parts: { privateKey: PrivateKey; state: NodeState; registry: Registry; refused: (peer: PeerId) => boolean },
): Libp2pOptions<ProvsyncServices> {
  const listen = options.listen ?? ['/ip4/0.0.0.0/tcp/0']
  const { refused } = parts
  return {
    ...options.libp2p,
    start: false,
    privateKey: parts.privateKey,
    addresses: { ...options.libp2p?.addresses, listen },
    transports:
      options.libp2p?.transports ??
      (listen.some((a) => a.startsWith('/memory')) ? [tcp(), memory()] : [tcp()]),
    connectionEncrypters: options.libp2p?.connectionEncrypters ?? [noise()],
    // provsync's own yamux: half-window updates, one noise message per event-loop turn (issue #16).
    streamMuxers: options.libp2p?.streamMuxers ?? [
      muxer({
        maxInboundStreams: 256,
        maxOutboundStreams: 256,
        streamOptions: {
          maxWriteBufferLength: 4 * 1024 * 1024,
          maxStreamWindowSize: options.maxStreamWindowBytes ?? DEFAULT_MAX_STREAM_WINDOW_BYTES,
        },
      }),
    ],
    connectionGater: bothGaters(
      { denyInboundEncryptedConnection: refused, denyOutboundConnection: refused, denyDialPeer: refused },
      options.libp2p?.connectionGater,
    ),
    peerDiscovery: [...(options.mdns === true ? [mdns()] : []), ...(options.libp2p?.peerDiscovery ?? [])],
    ...(options.metricsPort !== undefined
      ? { metrics: prometheusMetrics({ registry: parts.registry, preserveExistingMetrics: true }) }
      : {}),
    services: {
      ...extraServices(options, parts),
      identify: identify(),
      pubsub: gossipsub({ ...DEFAULT_PUBSUB_OPTIONS, ...options.pubsub }),
      provsync: provsync({
        ...options.sync,
        state: parts.state,
        trust: options.trust,
        registry: parts.registry,
      }),
    },
  }
}

/** Dials the bootstrap peers not connected; a failure is logged and kept as the peer's `lastFailure`. */
function bootstrapper(libp2p: Libp2p<ProvsyncServices>, addresses: Multiaddr[]): () => Promise<void> {
  return async () => {
    await Promise.allSettled(
      addresses.map(async (address) => {
        const id = address.getComponents().find((c) => c.name === 'p2p')?.value
        if (id !== undefined && libp2p.getConnections().some((c) => c.remotePeer.toString() === id)) return
        try {
          await libp2p.dial(address, { signal: AbortSignal.timeout(5_000) })
        } catch (err) {
          const reason = `dial ${address.toString()}: ${(err as Error).message}`
          if (id !== undefined) libp2p.services.provsync.noteFailure(peerIdFromString(id), reason)
          else libp2p.logger.forComponent('provsync:sync:warn')('bootstrap failed - %s', reason)
        }
      }),
    )
  }
}

/** Data files up to this size are walked at every start under `dataCheck: 'auto'` (under ~1 s). */
const AUTO_WALK_BYTES = 64 * 1024 * 1024

/** Throws crdt's DamagedDataFileError (naming the file) before LMDB opens a damaged data file. */
async function refuseDamagedDataFile(dataDir: string, check: 'meta' | 'walk' | 'auto'): Promise<void> {
  const meta = await checkDataFiles(dataDir, { walk: false })
  if (meta.damage !== undefined) throw meta.damage
  if (meta.fresh || check === 'meta' || (check === 'auto' && meta.bytes > AUTO_WALK_BYTES)) return
  const walked = await checkDataFiles(dataDir, { walk: true })
  if (walked.damage !== undefined) throw walked.damage
}

/**
 * Starts a node: identity and stores from `dataDir`, libp2p over TCP + noise + yamux
 * (`@provsync/mux`) with identify and gossipsub, the provsync service, and optionally mDNS and a
 * metrics endpoint. A start that fails releases everything it opened (listeners, stores, the
 * metrics server) before it throws;
 * a listen address in use is an `AddressInUseError` naming it.
 */
export async function createNode(options: ProvsyncNodeOptions): Promise<ProvsyncNode> {
  await refuseDamagedDataFile(options.dataDir, options.dataCheck ?? 'meta')
  const privateKey = await loadOrCreateIdentity(options.dataDir)
  const state = await openNodeState({
    ...options.store,
    dataDir: options.dataDir,
    networkId: options.networkId,
    trust: options.trust,
    seed: privateKeySeed(privateKey),
  })
  const registry = new Registry()
  const parts: NodeParts = { state }
  let service: ProvsyncService | undefined
  let stopped = false
  try {
    const refused = (peer: PeerId): boolean => service?.isRefused(peer) ?? false
    const libp2p = await createLibp2p(libp2pOptions(options, { privateKey, state, registry, refused }))
    parts.libp2p = libp2p
    service = libp2p.services.provsync
    await libp2p.start()
    if (options.metricsPort !== undefined) {
      const readiness = async (): Promise<Readiness> => {
        if (stopped || libp2p.status !== 'started')
          return { ready: false, reason: `node is ${stopped ? 'stopped' : libp2p.status}` }
        const health = state.writeHealth()
        if (!health.writable)
          return { ready: false, reason: `writes suspended: ${health.cause ?? health.code}` }
        // An old LMDB reader leaves the node ready, with a one-line warning (metrics.ts).
        return withReaderWarning((await options.readiness?.()) ?? { ready: true }, state)
      }
      const host = options.metricsHost ?? '127.0.0.1'
      parts.metricsServer = await serveMetrics(registry, options.metricsPort, { host, readiness })
    }
    const bootstrap = (options.bootstrap ?? []).map((a) => (typeof a === 'string' ? multiaddr(a) : a))
    const redial = bootstrapper(libp2p, bootstrap)
    await redial()
    const redialTimer =
      bootstrap.length === 0 ? undefined : setInterval(() => void redial(), options.bootstrapRetryMs ?? 5_000)
    redialTimer?.unref()
    const { metricsServer } = parts
    return {
      peerId: libp2p.peerId,
      publicKey: state.publicKey,
      libp2p,
      state,
      sync: service,
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
  } catch (err) {
    return abandon(parts, err)
  }
}
