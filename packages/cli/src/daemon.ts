import { mkdir } from 'node:fs/promises'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { type NodeArtifacts, openNodeArtifacts } from './artifacts-node.js'
import { openBlobNode } from './blobs/node.js'
import { createControlHandler, type NodeContext } from './control/handlers.js'
import { type ControlHandler, type ControlServer, serveControl } from './control/server.js'
import { CliError } from './errors.js'
import {
  DEFAULT_NETWORK_ID,
  type NodeConfig,
  readConfig,
  type StartBundle,
  startBundle,
  withBundle,
  writeConfig,
} from './node-config.js'

export { DEFAULT_NETWORK_ID, NODE_CONFIG_FILE, readNodeConfig } from './node-config.js'

export interface DaemonOptions {
  readonly dataDir: string
  /** Default: what the data directory was last started with, else {@link DEFAULT_NETWORK_ID}. */
  readonly networkId?: string
  /**
   * Operator keys (`--trust`): the genesis of the trust chain; default: the bundle in force when the
   * data directory last ran (rotations included).
   */
  readonly trust?: readonly Uint8Array[]
  /** How many of `trust` must sign the next bundle (`--trust-threshold`); default a majority. */
  readonly trustThreshold?: number
  readonly listen?: readonly string[]
  readonly bootstrap?: readonly string[]
  readonly metricsPort?: number
  /** Bind address of the metrics endpoint (default 127.0.0.1); passed to sync as `metricsHost`. */
  readonly metricsHost?: string
  readonly mdns?: boolean
  readonly announceDebounceMs?: number
  readonly antiEntropyMs?: number
  /** Bytes of fetched, unpinned blob chunks kept (`--blob-budget`); default blobs' 1 GiB. */
  readonly blobBudget?: number
  /**
   * Closed network: true (`--closed`), false (`--open`), undefined: as the data directory last ran
   * (node.json remembers it).
   */
  readonly closed?: boolean
}

export interface Daemon {
  readonly node: ProvsyncNode
  readonly control: ControlServer
  readonly networkId: string
  /** The operator keys in force now (a rotation followed while running moves them). */
  readonly trust: readonly Uint8Array[]
  /** The trust bundle in force now. */
  bundle(): StartBundle
  /** `--trust` started a new chain where node.json had followed rotations (version it had). */
  readonly trustReset: bigint | undefined
  /** Whether the node runs a closed network (the flag, else node.json). */
  readonly closed: boolean
  /** The last head announcement heard per peer (for `status`). */
  readonly peerHeads: Map<string, { atMs: number; differing: string[] }>
  stop(): Promise<void>
}

/** The node is up but not yet answering: a request arrived while LMDB and libp2p were starting. */
export class NodeStartingError extends CliError {
  constructor() {
    super('the node is still starting; try again in a moment')
  }
}

/**
 * Starts a node on `dataDir` with its control channel. The socket is claimed before LMDB is
 * opened, so a second daemon on the same directory fails fast instead of sharing the environment.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  let handler: ControlHandler | undefined
  let artifacts: NodeArtifacts | undefined
  let closeBlobs = async (): Promise<void> => {}
  const control = await serveControl(options.dataDir, (request, context) =>
    handler === undefined ? Promise.reject(new NodeStartingError()) : handler(request, context),
  )
  try {
    const start = await startSettings(options)
    const { networkId, closed } = start
    const remembered = new RememberedConfig(options.dataDir, start.config, start.bundle)
    const trust = start.bundle.keys
    artifacts = await openNodeArtifacts({
      dataDir: options.dataDir,
      networkId,
      trust,
      ...(trust.length > 0 ? { bundle: start.bundle } : {}),
      onRotated: (bundle) => remembered.rotated(bundle),
      ...(options.antiEntropyMs !== undefined ? { antiEntropyMs: options.antiEntropyMs } : {}),
      ...(closed ? { closed: true } : {}),
    })
    const blobNode = await openBlobNode({
      dataDir: options.dataDir,
      networkId,
      trust,
      artifacts: artifacts.store,
      ...(artifacts.admission !== undefined ? { admission: artifacts.admission } : {}),
      ...(options.blobBudget !== undefined ? { budgetBytes: options.blobBudget } : {}),
    })
    closeBlobs = () => blobNode.close()
    const nodeArtifacts = artifacts
    const node = await createNode({
      services: (parts) => ({ ...nodeArtifacts.services(parts), ...blobNode.services(parts) }),
      dataDir: options.dataDir,
      networkId,
      trust,
      listen: [...(options.listen ?? ['/ip4/0.0.0.0/tcp/0'])],
      bootstrap: [...(options.bootstrap ?? [])],
      ...(options.mdns ? { mdns: true } : {}),
      ...metricsOptions(options),
      ...(nodeArtifacts.pubsub !== undefined ? { pubsub: nodeArtifacts.pubsub } : {}),
      // An operator's node walks a data file of up to 64 MiB before LMDB reads it (see createNode).
      dataCheck: 'auto',
      sync: syncOptions(options, nodeArtifacts),
    })
    // Written once the node is up: a start that fails (a closed node without a member grant)
    // leaves node.json as it was.
    await remembered.write()
    // A rotation moves the blob protocol's hello with sync's (and the keys imports trust).
    artifacts.attach(node, blobNode)
    const peerHeads = new Map<string, { atMs: number; differing: string[] }>()
    node.sync.addEventListener('heads:received', (evt) => {
      peerHeads.set(evt.detail.peer.toString(), { atMs: Date.now(), differing: [...evt.detail.differing] })
    })
    const ctx: NodeContext = { node, dataDir: options.dataDir, startedAtMs: Date.now(), peerHeads, artifacts }
    handler = blobNode.wrap(createControlHandler(ctx), node)
    let stopped = false
    return {
      node,
      control,
      networkId,
      get trust() {
        return remembered.bundle.keys
      },
      bundle: () => remembered.bundle,
      trustReset: start.reset,
      closed,
      peerHeads,
      async stop() {
        if (stopped) return
        stopped = true
        await control.close()
        await node.stop()
        await artifacts?.close()
        await blobNode.close()
        await remembered.flush()
      },
    }
  } catch (err) {
    await control.close()
    await artifacts?.close().catch(() => {})
    await closeBlobs()
    throw err
  }
}

/** Network, trust bundle and closed mode at start: the flags, else what node.json remembers. */
async function startSettings(options: DaemonOptions) {
  // A damaged node.json is only in the way when it is needed: with --network given, it is rewritten.
  const stored = await readConfig(options.dataDir, options.networkId === undefined)
  const networkId = options.networkId ?? stored?.networkId ?? DEFAULT_NETWORK_ID
  const given =
    options.trust === undefined
      ? undefined
      : {
          keys: options.trust,
          ...(options.trustThreshold !== undefined ? { threshold: options.trustThreshold } : {}),
        }
  // Another network's bundle says nothing about this one.
  const same = stored?.networkId === networkId ? stored : undefined
  const { bundle, genesis, reset } = startBundle(same, given)
  const closed = options.closed ?? same?.closed ?? false
  const config: NodeConfig = { networkId, trust: [], genesis, closed }
  return { networkId, bundle, closed, config, reset: reset ? BigInt(same?.trustVersion ?? '0') : undefined }
}

/**
 * node.json while the node runs: written at start, then at each rotation the node follows, one
 * write at a time, so a restart without `--trust` keeps the bundle in force.
 */
class RememberedConfig {
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly dataDir: string,
    private readonly base: NodeConfig,
    public bundle: StartBundle,
  ) {}

  write(): Promise<void> {
    const config = withBundle(this.base, this.bundle)
    const next = this.writing.catch(() => {}).then(() => writeConfig(this.dataDir, config))
    this.writing = next
    return next
  }

  rotated(bundle: StartBundle): void {
    if (bundle.version <= this.bundle.version) return
    this.bundle = bundle
    // A failed write leaves the previous bundle remembered: the node follows the chain again at start.
    this.write().catch(() => {})
  }

  flush(): Promise<void> {
    return this.writing.catch(() => {})
  }
}

function syncOptions(options: DaemonOptions, artifacts: NodeArtifacts) {
  return {
    ...(artifacts.admission !== undefined ? { admission: artifacts.admission } : {}),
    ...(options.announceDebounceMs !== undefined
      ? { announce: { debounceMs: options.announceDebounceMs, maxWaitMs: options.announceDebounceMs * 4 } }
      : {}),
    ...(options.antiEntropyMs !== undefined ? { antiEntropy: { intervalMs: options.antiEntropyMs } } : {}),
  }
}

/**
 * The metrics endpoint's options for createNode. `metricsHost` is the bind address option of
 * sync's createNode (serveMetrics already takes a host); it is built as a separate object so the
 * CLI compiles against a sync that does not declare it yet.
 */
function metricsOptions(options: DaemonOptions): { metricsPort?: number; metricsHost?: string } {
  if (options.metricsPort === undefined) return {}
  return { metricsPort: options.metricsPort, metricsHost: options.metricsHost ?? '127.0.0.1' }
}
