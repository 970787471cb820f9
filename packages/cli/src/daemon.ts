import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { type NodeArtifacts, openNodeArtifacts } from './artifacts-node.js'
import { openBlobNode } from './blobs/node.js'
import { createControlHandler, type NodeContext } from './control/handlers.js'
import { type ControlHandler, type ControlServer, serveControl } from './control/server.js'
import { CliError } from './errors.js'
import { toHex } from './hex.js'

export const NODE_CONFIG_FILE = 'node.json'
export const DEFAULT_NETWORK_ID = 'provsync'

export interface DaemonOptions {
  readonly dataDir: string
  /** Default: what the data directory was last started with, else {@link DEFAULT_NETWORK_ID}. */
  readonly networkId?: string
  /** Operator keys; default: the ones the data directory was last started with. */
  readonly trust?: readonly Uint8Array[]
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
  /** Closed network (`--closed`): members only, presenting this node's own member grant. */
  readonly closed?: boolean
}

export interface Daemon {
  readonly node: ProvsyncNode
  readonly control: ControlServer
  readonly networkId: string
  readonly trust: readonly Uint8Array[]
  /** The last head announcement heard per peer (for `status`). */
  readonly peerHeads: Map<string, { atMs: number; differing: string[] }>
  stop(): Promise<void>
}

/** What a data directory remembers between starts, so `provsync node` alone restarts it as it was. */
interface NodeConfig {
  networkId: string
  trust: string[]
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
    // A damaged node.json is only in the way when it is needed: with --network given, it is rewritten.
    const stored = await readConfig(options.dataDir, options.networkId === undefined)
    const networkId = options.networkId ?? stored?.networkId ?? DEFAULT_NETWORK_ID
    const trust = options.trust ?? stored?.trust.map((hex) => new Uint8Array(Buffer.from(hex, 'hex'))) ?? []
    artifacts = await openNodeArtifacts({
      dataDir: options.dataDir,
      networkId,
      trust,
      ...(options.antiEntropyMs !== undefined ? { antiEntropyMs: options.antiEntropyMs } : {}),
      ...(options.closed === true ? { closed: true } : {}),
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
      sync: {
        ...(nodeArtifacts.admission !== undefined ? { admission: nodeArtifacts.admission } : {}),
        ...(options.announceDebounceMs !== undefined
          ? {
              announce: { debounceMs: options.announceDebounceMs, maxWaitMs: options.announceDebounceMs * 4 },
            }
          : {}),
        ...(options.antiEntropyMs !== undefined
          ? { antiEntropy: { intervalMs: options.antiEntropyMs } }
          : {}),
      },
    })
    await writeConfig(options.dataDir, { networkId, trust: trust.map(toHex) })
    artifacts.attach(node)
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
      trust,
      peerHeads,
      async stop() {
        if (stopped) return
        stopped = true
        await control.close()
        await node.stop()
        await artifacts?.close()
        await blobNode.close()
      },
    }
  } catch (err) {
    await control.close()
    await artifacts?.close().catch(() => {})
    await closeBlobs()
    throw err
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

/** The network id and trust a data directory was last started with; refuses a directory without them. */
export async function readNodeConfig(dataDir: string): Promise<NodeConfig> {
  const config = await readConfig(dataDir, true)
  if (config === undefined)
    throw new CliError(
      `${join(dataDir, NODE_CONFIG_FILE)} is missing: ${dataDir} is not a provsync data directory`,
    )
  return config
}

async function readConfig(dataDir: string, required: boolean): Promise<NodeConfig | undefined> {
  let text: string
  try {
    text = await readFile(join(dataDir, NODE_CONFIG_FILE), 'utf8')
  } catch {
    return undefined
  }
  try {
    const value = JSON.parse(text) as Partial<NodeConfig>
    if (typeof value.networkId !== 'string' || !Array.isArray(value.trust)) throw new Error('bad shape')
    if (!value.trust.every((k) => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k)))
      throw new Error('bad key')
    return { networkId: value.networkId, trust: value.trust }
  } catch {
    if (!required) return undefined
    throw new CliError(
      `${join(dataDir, NODE_CONFIG_FILE)} is damaged; start with --network <id> (and --trust <file>) to rewrite it`,
    )
  }
}

async function writeConfig(dataDir: string, config: NodeConfig): Promise<void> {
  const file = join(dataDir, NODE_CONFIG_FILE)
  await writeFile(`${file}.tmp`, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 })
  await rename(`${file}.tmp`, file)
}
