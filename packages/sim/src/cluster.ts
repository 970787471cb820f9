/**
 * A cluster of real provsync nodes (crdt's `openNodeState` behind sync's `createNode`) in this
 * process, each with its own LMDB directory, wired through the harness's link table.
 */
import { join } from 'node:path'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import {
  type ApplyOutcome,
  encodeSupersession,
  type NodeState,
  RecordRefusedError,
  recordHash,
  type Signer,
  type StoreName,
  toHex,
} from '@provsync/crdt'
import { createNode, type ProvsyncNode, type ProvsyncNodeOptions, writeIdentity } from '@provsync/sync'
import type { Acknowledgement, Refusal } from './checker.js'
import { enforcePartition, type LinkTable, linkGater, type MemoryNetwork } from './links.js'
import type { Rng } from './prng.js'
import { type Tracer, traceNode } from './trace.js'
import { createProtocolTraffic, type ProtocolTraffic } from './traffic.js'
import type { WorkloadOp } from './workload.js'

export type Transport = 'memory' | 'tcp'

export interface NodeStats {
  sessionsOk: number
  sessionsFailed: number
  rounds: number
  syncBytesIn: number
  syncBytesOut: number
  /** Records this node pulled in its sessions (both directions), and how many of them were new. */
  recordsPulled: number
  recordsApplied: number
  /** Failed sessions by error name and the start of its message. */
  errors: Record<string, number>
}

export interface ClusterNode {
  readonly index: number
  readonly name: string
  readonly dataDir: string
  readonly peerId: PeerId
  readonly publicKey: Uint8Array
  /** Undefined while crashed. */
  node: ProvsyncNode | undefined
  skewMs: number
  /** When this node last started or changed its records (epoch ms: performance.timeOrigin + now). */
  lastChangeAt: number
  readonly stats: NodeStats
  /** Bytes received per libp2p protocol, across restarts. */
  readonly traffic: ProtocolTraffic
}

export interface ClusterOptions {
  readonly runId: string
  readonly baseDir: string
  readonly networkId: string
  readonly nodes: number
  readonly transport: Transport
  readonly operators: readonly Signer[]
  readonly table: LinkTable
  readonly memory: MemoryNetwork | undefined
  readonly rng: Rng
  readonly sync?: ProvsyncNodeOptions['sync']
  /**
   * The nodes this cluster runs (a node thread of a threaded run); the others are known by identity
   * and address only. @default all
   */
  readonly hosted?: readonly number[]
  /** Verification workers shared by all the nodes (see `ScenarioOptions.verifyThreads`). @default 0 */
  readonly verifyThreads?: number
  /** Refusals and offences honest nodes report, by the peer they blame. */
  readonly onRefusal: (refusal: Refusal) => void
  /** Every record a node's sync layer handed to its store, with where it came from and what became of it. */
  readonly onReceived?: (received: Received) => void
  /** A probe's tracer (`ScenarioOptions.tracePath`): every node's connections, sessions and batches. */
  readonly trace?: Tracer
}

/** One record a node pulled from a peer, as its store saw it. */
export interface Received {
  readonly node: string
  /** Hex key of the peer it came from. */
  readonly from: string
  readonly store: StoreName
  /** Hex tree key and hex record hash; refused records have no tree key. */
  readonly key: string | undefined
  readonly hash: string
  readonly status: ApplyOutcome['status']
}

export interface Cluster {
  readonly nodes: readonly ClusterNode[]
  readonly trust: readonly Uint8Array[]
  startAll(): Promise<void>
  start(index: number): Promise<void>
  crash(index: number): Promise<void>
  /** Re-applies the link table: closes connections that a partition cut. */
  enforce(): Promise<void>
  /** Runs one workload op; returns the acknowledgement, or undefined when the node is down. */
  execute(op: WorkloadOp): Promise<Acknowledgement | undefined>
  addressOf(index: number): string
  stopAll(): Promise<void>
}

/**
 * Faster announcements and anti-entropy than a deployment's defaults, so runs of seconds
 * converge in seconds; and a higher offence threshold, so one Byzantine peer can show all its
 * behaviours before honest nodes block it (blocking itself still happens, later).
 */
export const DEFAULT_SIM_SYNC: NonNullable<ProvsyncNodeOptions['sync']> = {
  announce: { debounceMs: 50, maxWaitMs: 400 },
  antiEntropy: { intervalMs: 1_000, jitter: 0.3 },
  budgets: { offenceThreshold: 20 },
}

/** Writes a seeded libp2p identity so peer ids, and so who initiates which sync, replay per seed. */
export async function seedIdentity(dataDir: string, seed: Uint8Array): Promise<PeerId> {
  const key = await generateKeyPairFromSeed('Ed25519', seed)
  await writeIdentity(dataDir, key)
  return peerIdFromPrivateKey(key)
}

/** A node's peer id as {@link seedIdentity} derives it, without writing it. */
export async function peerIdFromSeed(seed: Uint8Array): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed))
}

/** The seed of node `index`'s identity, from the cluster's rng (`rng.fork('cluster')` of the run). */
export const identitySeed = (rng: Rng, index: number): Uint8Array => rng.fork(`identity-${index}`).bytes(32)

export async function createCluster(options: ClusterOptions): Promise<Cluster> {
  const nodes: ClusterNode[] = []
  const hosted = new Set(options.hosted ?? Array.from({ length: options.nodes }, (_, i) => i))
  for (let i = 0; i < options.nodes; i++) {
    const dataDir = join(options.baseDir, `n${i}`)
    const seed = identitySeed(options.rng, i)
    const peerId = hosted.has(i) ? await seedIdentity(dataDir, seed) : await peerIdFromSeed(seed)
    nodes.push({
      index: i,
      name: `n${i}`,
      dataDir,
      peerId,
      publicKey: peerId.publicKey!.raw,
      node: undefined,
      skewMs: 0,
      lastChangeAt: 0,
      stats: {
        sessionsOk: 0,
        sessionsFailed: 0,
        rounds: 0,
        syncBytesIn: 0,
        syncBytesOut: 0,
        recordsPulled: 0,
        recordsApplied: 0,
        errors: {},
      },
      traffic: createProtocolTraffic(),
    })
  }
  const trust = options.operators.map((o) => o.publicKey)
  const names = new Map(
    nodes.flatMap((n) => [
      [n.peerId.toString(), n.name],
      [toHex(n.publicKey), n.name],
    ]),
  )
  const nameOf = (idOrKey: string): string => names.get(idOrKey) ?? idOrKey.slice(0, 12)
  const ports = new Map<number, number>()
  const addressOf = (index: number): string => {
    const peer = nodes[index]!.peerId.toString()
    if (options.transport === 'memory') return `/memory/${options.runId}-n${index}/p2p/${peer}`
    return `/ip4/127.0.0.1/tcp/${ports.get(index) ?? 0}/p2p/${peer}`
  }
  // A ring keeps every partition-free topology connected; two extra random peers shorten paths.
  const bootstrapOf = (index: number): number[] => {
    const peers = new Set<number>([(index + 1) % options.nodes, (index + options.nodes - 1) % options.nodes])
    const pick = options.rng.fork(`bootstrap-${index}`)
    for (let k = 0; k < 2 && options.nodes > 2; k++) peers.add(pick.int(options.nodes))
    peers.delete(index)
    return [...peers]
  }

  /** Starts every node: at once in memory, one by one on TCP, where a peer's port is known only once it listens. */
  async function startAll(): Promise<void> {
    const own = nodes.filter((n) => hosted.has(n.index))
    if (options.transport === 'memory') await Promise.all(own.map((n) => start(n.index)))
    else for (const n of own) await start(n.index)
  }

  async function start(index: number): Promise<void> {
    const entry = nodes[index]!
    if (entry.node !== undefined) return
    const listen =
      options.transport === 'memory'
        ? [`/memory/${options.runId}-n${index}`]
        : [`/ip4/127.0.0.1/tcp/${ports.get(index) ?? 0}`]
    const skew = entry.skewMs
    const self = entry.peerId.toString()
    const node = await createNode({
      dataDir: entry.dataDir,
      networkId: options.networkId,
      trust,
      listen,
      bootstrap: bootstrapOf(index)
        .filter((peer) => options.transport === 'memory' || ports.has(peer))
        .map(addressOf),
      bootstrapRetryMs: 300,
      sync: { ...DEFAULT_SIM_SYNC, ...options.sync },
      store: {
        verifyThreads: options.verifyThreads ?? 0,
        ...(skew === 0 ? {} : { wallClock: () => Date.now() + skew }),
      },
      libp2p: {
        connectionGater: linkGater(self, options.table),
        metrics: entry.traffic.metrics,
        // Shaped links: the memory network's transport in place of the default memory one.
        ...(options.memory === undefined ? {} : { transports: [tcp(), options.memory.transport()] }),
      },
    })
    const changed = (): void => {
      entry.lastChangeAt = performance.timeOrigin + performance.now()
    }
    changed()
    node.state.onChange(changed)
    const onReceived = options.onReceived
    if (onReceived !== undefined) watchReceived(node.state, entry.name, onReceived)
    if (options.trace !== undefined) traceNode(options.trace, entry.name, node, nameOf)
    if (options.transport === 'tcp') {
      const port = node
        .multiaddrs()[0]
        ?.getComponents()
        .find((c) => c.name === 'tcp')?.value
      if (port !== undefined) ports.set(index, Number(port))
    }
    node.sync.addEventListener('sync:finished', ({ detail }) => {
      entry.stats.rounds += detail.rounds
      entry.stats.syncBytesIn += detail.bytesIn
      entry.stats.syncBytesOut += detail.bytesOut
      entry.stats.recordsPulled += detail.pulled
      entry.stats.recordsApplied += detail.applied
      if (detail.error === undefined) entry.stats.sessionsOk++
      else {
        entry.stats.sessionsFailed++
        const message = detail.error.message.replace(/12D3KooW\w+/g, '<peer>').slice(0, 70)
        const key = `${detail.error.name}: ${message}`
        entry.stats.errors[key] = (entry.stats.errors[key] ?? 0) + 1
      }
      for (const [reason, count] of Object.entries(detail.refusedByReason)) {
        if (count > 0) options.onRefusal({ node: entry.name, peer: detail.peer.toString(), reason, count })
      }
    })
    node.sync.addEventListener('peer:offence', ({ detail }) => {
      options.onRefusal({
        node: entry.name,
        peer: detail.peer.toString(),
        reason: detail.reason,
        count: 1,
        detail: detail.detail,
      })
    })
    entry.node = node
  }

  async function crash(index: number): Promise<void> {
    const entry = nodes[index]!
    const node = entry.node
    if (node === undefined) return
    entry.node = undefined
    await node.stop()
  }

  /**
   * A node's own write can be refused, e.g. by a signer whose revocation reached it before the
   * reinstatement did; that write is simply not acknowledged.
   */
  async function execute(op: WorkloadOp): Promise<Acknowledgement | undefined> {
    try {
      return await executeOrThrow(op)
    } catch (error) {
      if (error instanceof RecordRefusedError) return undefined
      throw error
    }
  }

  async function executeOrThrow(op: WorkloadOp): Promise<Acknowledgement | undefined> {
    const entry = nodes[op.node]!
    const state = entry.node?.state
    if (state === undefined) return undefined
    const signer = toHex(state.publicKey)
    if (op.type === 'verify') {
      const result = state.advanceVerified(op.coordinate, op.run, { method: 'sim' })
      // A revoked node keeps its own evidence but signs no assertion; only a signed one is acknowledged.
      if (result.status !== 'applied' || state.assertions.get(state.publicKey, op.coordinate)?.run !== op.run)
        return undefined
      return { store: 'assertions', key: toHex(result.key), signer, node: entry.name }
    }
    if (op.type === 'supersede') {
      const record = await state.supersessions.supersede({
        target: op.target,
        kind: op.kind,
        reason: op.reason,
        ...(op.replacement === undefined ? {} : { replacement: op.replacement }),
      })
      return {
        store: 'supersessions',
        key: toHex(recordHash(encodeSupersession(record, state.networkId))),
        signer,
        node: entry.name,
      }
    }
    const operator = options.operators[op.operator]!
    const request = { subject: nodes[op.subject]!.publicKey, subjectKind: 'peer' as const, reason: op.reason }
    const ledgerEntry =
      op.type === 'revoke'
        ? await state.revocations.revoke(request, operator)
        : await state.revocations.reinstate(request, operator)
    return {
      store: 'revocations',
      key: toHex(ledgerEntry.id),
      signer: toHex(operator.publicKey),
      node: entry.name,
    }
  }

  return {
    nodes,
    trust,
    start,
    startAll,
    crash,
    async enforce() {
      await Promise.all(
        nodes.map((n) =>
          n.node === undefined ? 0 : enforcePartition(n.node.libp2p, n.peerId.toString(), options.table),
        ),
      )
    },
    execute,
    addressOf,
    async stopAll() {
      await Promise.allSettled(nodes.map((n) => crash(n.index)))
    },
  }
}

/**
 * Reports every record the service hands `state`, with its outcome, through crdt's `observe` hook:
 * the batches that came through `apply` or `applyVerified` (a pull, a push), not the node's own
 * writes (`supersede`, `revoke`, `advanceVerified`), which the workload acknowledges itself.
 */
function watchReceived(
  state: NodeState,
  node: string,
  onReceived: NonNullable<ClusterOptions['onReceived']>,
): void {
  state.observe({
    applied({ store, via, from, records, outcomes }) {
      if (via === 'put') return
      outcomes.forEach((outcome, i) => {
        onReceived({
          node,
          from: toHex(from),
          store,
          key: outcome.key === undefined ? undefined : toHex(outcome.key),
          hash: toHex(recordHash(records[i]!)),
          status: outcome.status,
        })
      })
    },
  })
}
