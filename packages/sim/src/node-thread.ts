/**
 * A node thread of a threaded run (`ScenarioOptions.threads`): the worker_threads entry that runs
 * the honest nodes whose index is its number modulo the thread count (their libp2p, LMDB
 * directories, crdt states and crdt's shared verifier, which is per thread), over its own part of
 * the memory network. Connections to nodes of other threads cross on a `MessagePort` the harness
 * thread hands over (links.ts, `RemoteLinks`). The harness sends ops, faults and requests for
 * plain data (thread-protocol.ts); ops and faults run one after the other in the order they came,
 * so each node's writes stay in order and a fault lands after the writes played before it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parentPort, type TransferListItem, workerData } from 'node:worker_threads'
import { signerFromSeed } from '@provsync/crdt'
import type { Refusal } from './checker.js'
import { type Cluster, createCluster } from './cluster.js'
import {
  applyFault,
  type FaultEvent,
  HEALTHY,
  type LinkState,
  linkFault,
  NO_FAULT,
  reachable,
} from './faults.js'
import { createMemoryNetwork, type LinkTable, type MemoryNetwork } from './links.js'
import { createRng } from './prng.js'
import { rootTriple, snapshotHistory, snapshotNode } from './snapshot.js'
import { reportNodes, storedRecords } from './summary.js'
import {
  memoryAddress,
  type NodeThreadConfig,
  type ThreadCollect,
  type ThreadNotice,
  type ThreadReply,
  type ThreadRequest,
  threadOf,
} from './thread-protocol.js'
import { fileTracer } from './trace.js'

const port = parentPort!
const config = workerData as NodeThreadConfig
const tracer = config.tracePath === undefined ? undefined : fileTracer(config.tracePath)
const post = (message: ThreadReply | ThreadNotice, transfer?: TransferListItem[]): void =>
  port.postMessage(message, transfer)

/** The link table of this thread: the same fold of fault events as the harness's. */
function threadLinks(indexOf: Map<string, number>): { table: LinkTable; apply(fault: FaultEvent): void } {
  let links: LinkState = HEALTHY
  const table: LinkTable = {
    reachable(a, b) {
      const ia = indexOf.get(a)
      const ib = indexOf.get(b)
      return ia === undefined || ib === undefined ? true : reachable(links, ia, ib)
    },
    fault(a, b) {
      const ia = indexOf.get(a)
      const ib = indexOf.get(b)
      return ia === undefined || ib === undefined ? NO_FAULT : linkFault(links, ia, ib)
    },
  }
  return { table, apply: (fault) => (links = applyFault(links, fault)) }
}

interface Hosted {
  readonly cluster: Cluster
  readonly memory: MemoryNetwork
  readonly refusals: Refusal[]
  readonly links: ReturnType<typeof threadLinks>
  readonly loopDelay: ReturnType<typeof monitorEventLoopDelay>
}

async function host(): Promise<Hosted> {
  const rng = createRng(config.seed)
  const indexOf = new Map<string, number>()
  const peerAt = new Map<string, string>()
  const links = threadLinks(indexOf)
  const memory = await createMemoryNetwork(`/memory/${config.runId}-`, links.table, rng.fork('links'), {
    peerAt: (address) => peerAt.get(address),
    dial: (from, address, far) => post({ type: 'dial', from, address, port: far }, [far]),
  })
  const refusals: Refusal[] = []
  const hosted = Array.from({ length: config.nodes }, (_, i) => i).filter(
    (i) => threadOf(i, config.threads) === config.thread,
  )
  const cluster = await createCluster({
    runId: config.runId,
    baseDir: config.baseDir,
    networkId: config.networkId,
    nodes: config.nodes,
    transport: 'memory',
    operators: Array.from({ length: config.operators }, (_, i) =>
      signerFromSeed(rng.fork(`operator-${i}`).bytes(32)),
    ),
    table: links.table,
    memory,
    rng: rng.fork('cluster'),
    hosted,
    ...(config.sync === undefined ? {} : { sync: config.sync }),
    verifyThreads: config.verifyThreads,
    onRefusal: (r) => refusals.push(r),
    ...(tracer === undefined ? {} : { trace: tracer }),
  })
  for (const n of cluster.nodes) {
    indexOf.set(n.peerId.toString(), n.index)
    peerAt.set(memoryAddress(config.runId, n.index), n.peerId.toString())
  }
  const loopDelay = monitorEventLoopDelay({ resolution: 20 })
  loopDelay.enable()
  try {
    await cluster.startAll()
  } catch (error) {
    await cluster.stopAll()
    throw error
  }
  return { cluster, memory, refusals, links, loopDelay }
}

const running = (h: Hosted) => h.cluster.nodes.filter((n) => n.node !== undefined)

function collect(h: Hosted): ThreadCollect {
  h.loopDelay.disable()
  const own = running(h)
  const indexOf = new Map(h.cluster.nodes.map((n) => [n.name, n.index]))
  const received: Record<string, number> = {}
  for (const n of h.cluster.nodes) {
    const bytes = h.memory.bytesReceived(n.peerId.toString())
    if (bytes > 0) received[n.peerId.toString()] = bytes
  }
  return {
    nodes: reportNodes(h.cluster)
      .filter((n) => own.some((o) => o.name === n.name))
      .map((n) => ({ ...n, index: indexOf.get(n.name)! })),
    received,
    links: h.memory.linkCounters(),
    stored: storedRecords(h.cluster),
    refusals: h.refusals.splice(0),
    loopDelay: {
      p50: h.loopDelay.percentile(50) / 1e6,
      p99: h.loopDelay.percentile(99) / 1e6,
      max: h.loopDelay.max / 1e6,
    },
  }
}

/** Applies a fault to this thread's link table and nodes; returns the history snapshots asked for. */
async function fault(h: Hosted, request: Extract<ThreadRequest, { type: 'fault' }>): Promise<ThreadReply> {
  h.links.apply(request.fault)
  await h.cluster.enforce()
  const earlier = request.history
    ? running(h).map((n) => snapshotHistory(n.node!.state, { name: n.name, atMs: request.atMs }))
    : []
  return { type: 'done', id: request.id, earlier }
}

/** Answers the requests that do not wait behind the ops (roots, accepts). */
function answerAtOnce(h: Hosted, request: ThreadRequest): boolean {
  if (request.type === 'accept') h.memory.acceptRemote(request.address, request.from, request.port)
  else if (request.type === 'roots') {
    const own = running(h)
    const bytesIn = own.reduce((sum, n) => sum + h.memory.bytesReceived(n.peerId.toString()), 0)
    const lastChangeAt = Math.max(0, ...own.map((n) => n.lastChangeAt))
    const roots = own.map((n) => rootTriple(n.node!.state))
    post({ type: 'roots', id: request.id, roots, bytesIn, lastChangeAt })
  } else return false
  return true
}

async function answer(h: Hosted, request: ThreadRequest): Promise<ThreadReply | undefined> {
  switch (request.type) {
    case 'op':
      return { type: 'ack', id: request.id, ack: await h.cluster.execute(request.op) }
    case 'fault':
      return fault(h, request)
    case 'snapshot':
      return {
        type: 'snapshot',
        id: request.id,
        snapshots: running(h).map((n) => ({
          ...snapshotNode(n.node!.state, {
            name: n.name,
            peerId: n.peerId.toString(),
            atMs: request.atMs,
            knownKeys: request.knownKeys,
            historyPrefix: request.historyPrefixes.get(n.name) ?? 0,
          }),
          index: n.index,
        })),
      }
    case 'collect':
      return { type: 'collect', id: request.id, collect: collect(h) }
    case 'stop':
      await h.cluster.stopAll()
      h.memory.close()
      tracer?.flush()
      return { type: 'stopped', id: request.id }
    default:
      return undefined
  }
}

/**
 * Plays the requests that wait their turn. Ops run on one chain per node, so a node's ops stay in
 * order while different nodes' ops overlap (a write waiting on its LMDB commit does not hold back
 * the next node's); every other request waits until the ops sent before it are done, and the ops
 * sent after it wait for it (a fault lands between the writes played before and after it).
 * Behind schedule the harness keeps a window of ops here; played back to back on microtasks they
 * would starve the nodes' I/O, so ops yield to the loop after each 10 ms of work, as the
 * single-thread timeline does.
 */
function serve(h: Hosted): void {
  const chains = new Map<number, Promise<void>>()
  let barrier: Promise<void> = Promise.resolve()
  let lastYield = performance.now()
  // One turn for every chain: after it, each chain checks the clock again before its op, so a
  // turn plays 10 ms of ops in all, not one op per waiting chain.
  let turn: Promise<void> | undefined
  const nextTurn = (): Promise<void> =>
    (turn ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        turn = undefined
        lastYield = performance.now()
        resolve()
      }),
    ))
  const run = async (request: ThreadRequest): Promise<void> => {
    while (performance.now() - lastYield > 10) await nextTurn()
    try {
      const reply = await answer(h, request)
      if (reply !== undefined) post(reply)
    } catch (error) {
      post({ type: 'failed', id: 'id' in request ? request.id : -1, error: describe(error) })
    }
  }
  port.on('message', (request: ThreadRequest) => {
    if (answerAtOnce(h, request)) return
    if (request.type === 'op') {
      const previous = chains.get(request.op.node) ?? barrier
      chains.set(
        request.op.node,
        Promise.all([previous, barrier]).then(() => run(request)),
      )
      return
    }
    const before = [barrier, ...chains.values()]
    chains.clear()
    barrier = Promise.all(before).then(() => run(request))
  })
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error)

// Accepts that arrive while the nodes start are held until the network exists.
const early: ThreadRequest[] = []
const hold = (request: ThreadRequest) => early.push(request)
port.on('message', hold)
host().then(
  (h) => {
    port.off('message', hold)
    serve(h)
    for (const request of early.splice(0)) port.emit('message', request)
    post({ type: 'ready' })
  },
  (error: unknown) => post({ type: 'fatal', error: describe(error) }),
)
