/**
 * Scenarios with one OS process per node: on TCP loopback, or in separate network namespaces.
 * Crashes are real SIGKILLs, landed while the node applies a batch it pulled; restarts reopen the
 * same data directory. Partitions are enforced by each node's own gater; loss (netns only) by
 * nftables. The checker runs on snapshots the processes send back.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signerFromSeed, toHex } from '@provsync/crdt'
import { type Acknowledgement, type CheckResult, checkInvariants, type NodeSnapshot } from './checker.js'
import type { ChildConfig } from './child.js'
import { seedIdentity } from './cluster.js'
import { ScenarioConfigError } from './errors.js'
import {
  applyFault,
  type FaultEvent,
  type FaultPlan,
  HEALTHY,
  type LinkState,
  reachable,
  validateFaultPlan,
} from './faults.js'
import { createNamespaces, type Namespaces, netnsAddress } from './netns.js'
import { createRng, type Rng } from './prng.js'
import { freePort, type NodeProcess, spawnNodeProcess } from './process.js'
import { planWorkload, type WorkloadOp } from './workload.js'

export interface ProcessScenarioOptions {
  readonly seed: string | number
  readonly nodes: number
  readonly operations: number
  /** Time the workload and faults spread over (default 3 s). */
  readonly durationMs?: number
  /** partition, heal, crash and restart events; crashes are SIGKILLs. */
  readonly faults?: FaultPlan
  readonly network?: 'loopback' | 'netns'
  /** Percent of packets each namespace drops (netns only, needs nft). */
  readonly lossPct?: number
  readonly convergeTimeoutMs?: number
}

export interface ProcessScenarioResult {
  /** From the end of the timeline to equal roots on every node, or -1. */
  readonly convergeMs: number
  readonly acknowledged: number
  /** One entry per crash: whether the SIGKILL landed while the node was applying a batch. */
  readonly kills: readonly { readonly node: number; readonly midBatch: boolean }[]
  readonly check: CheckResult
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

function validateProcessScenario(options: ProcessScenarioOptions, plan: FaultPlan): void {
  validateFaultPlan(plan, options.nodes)
  for (const [i, event] of plan.entries()) {
    if (event.type === 'link' || event.type === 'skew') {
      throw new ScenarioConfigError(
        `faults[${i}]`,
        `${event.type} faults run in runScenario; processes take partitions and crashes`,
      )
    }
  }
  if ((options.lossPct ?? 0) > 0 && options.network !== 'netns')
    throw new ScenarioConfigError('lossPct', 'packet loss needs network: netns')
}

/** What the node processes are started from; `processes` is the caller's, so it can stop them. */
interface ProcessClusterInput {
  readonly options: ProcessScenarioOptions
  readonly seed: string
  readonly rng: Rng
  readonly dir: string
  readonly network: 'loopback' | 'netns'
  readonly namespaces: Namespaces | undefined
  readonly processes: Array<NodeProcess | undefined>
}

/** The node processes, and the partition state each one's gater enforces. */
interface ProcessCluster {
  start(i: number): Promise<void>
  /** Moves the partition state on by `fault` (before a restart, which reads it). */
  applyFault(fault: FaultEvent): void
  /** Tells every running node whom it cannot reach now. */
  sendLinks(): Promise<void>
}

/** Seeds each node's identity and address, then starts every node process. */
async function startProcessCluster(input: ProcessClusterInput): Promise<ProcessCluster> {
  const { options, rng, dir, network, namespaces, processes } = input
  const operator = signerFromSeed(rng.fork('operator').bytes(32))
  const peerIds = await Promise.all(
    Array.from({ length: options.nodes }, (_, i) =>
      seedIdentity(join(dir, `n${i}`), rng.fork(`identity-${i}`).bytes(32)),
    ),
  )
  const hosts = await Promise.all(
    peerIds.map(async (_, i) =>
      network === 'netns' ? { ip: netnsAddress(i), port: 4001 } : { ip: '127.0.0.1', port: await freePort() },
    ),
  )
  const addressOf = (i: number) => `/ip4/${hosts[i]!.ip}/tcp/${hosts[i]!.port}/p2p/${peerIds[i]}`
  const configOf = (i: number): ChildConfig => ({
    dataDir: join(dir, `n${i}`),
    networkId: `proc-${input.seed}`,
    trust: [toHex(operator.publicKey)],
    listen: [`/ip4/${hosts[i]!.ip}/tcp/${hosts[i]!.port}`],
    bootstrap: peerIds
      .map((_, j) => j)
      .filter((j) => j !== i)
      .map(addressOf),
    name: `n${i}`,
  })
  let links: LinkState = HEALTHY
  const unreachableFrom = (i: number): string[] =>
    peerIds.flatMap((peer, j) => (j !== i && !reachable(links, i, j) ? [peer.toString()] : []))
  const start = async (i: number): Promise<void> => {
    const child = await spawnNodeProcess(
      configOf(i),
      namespaces === undefined ? {} : { netns: namespaces.names[i]! },
    )
    processes[i] = child
    await child.call({ cmd: 'links', unreachable: unreachableFrom(i) })
  }
  await Promise.all(peerIds.map((_, i) => start(i)))
  return {
    start,
    applyFault(fault) {
      links = applyFault(links, fault)
    },
    async sendLinks() {
      await Promise.all(processes.map((p, i) => p?.call({ cmd: 'links', unreachable: unreachableFrom(i) })))
    },
  }
}

type ProcessTimelineItem =
  | { readonly atMs: number; readonly fault: FaultEvent; readonly op: undefined }
  | { readonly atMs: number; readonly fault: undefined; readonly op: WorkloadOp }

/** Faults and ops by time; a fault goes before an op at the same instant. */
function processTimeline(plan: FaultPlan, ops: readonly WorkloadOp[]): ProcessTimelineItem[] {
  return [
    ...plan.map((fault) => ({ atMs: fault.atMs, fault, op: undefined })),
    ...ops.map((op) => ({ atMs: op.atMs, fault: undefined, op })),
  ].sort((a, b) => a.atMs - b.atMs || (a.fault === undefined ? 1 : 0) - (b.fault === undefined ? 1 : 0))
}

/** SIGKILLs a node, preferably while it applies a pulled batch; says whether it was. */
async function killMidBatch(child: NodeProcess): Promise<boolean> {
  // Wait (briefly) for the node to start applying a pulled batch, then kill it there.
  const midBatch = await Promise.race([child.applying().then(() => true), sleep(1_000).then(() => false)])
  child.kill('SIGKILL')
  await child.exited
  return midBatch
}

/** Runs one workload op on its node's process; returns what the node acknowledged, if anything. */
async function playProcessOp(child: NodeProcess, op: WorkloadOp): Promise<Acknowledgement | undefined> {
  if (op.type === 'verify') {
    const result = await child.call({ cmd: 'verify', coordinate: op.coordinate, run: op.run.toString() })
    if (result.status === 'applied' && result.asserted === true) {
      return {
        store: 'assertions',
        key: result.key as string,
        signer: child.key,
        node: `n${op.node}`,
      }
    }
  } else if (op.type === 'supersede') {
    const result = await child.call({ cmd: 'supersede', target: toHex(op.target), reason: op.reason })
    return {
      store: 'supersessions',
      key: result.key as string,
      signer: child.key,
      node: `n${op.node}`,
    }
  }
  return undefined
}

/** Milliseconds until every live node reports the same roots, or -1 after `timeoutMs`. */
async function awaitEqualRoots(live: readonly NodeProcess[], timeoutMs: number): Promise<number> {
  const timelineEnd = performance.now()
  const deadline = timelineEnd + timeoutMs
  while (performance.now() < deadline) {
    const roots = await Promise.all(live.map((n) => n.call({ cmd: 'roots' })))
    if (new Set(roots.map((r) => r.roots)).size === 1) return performance.now() - timelineEnd
    await sleep(100)
  }
  return -1
}

export async function runProcessScenario(options: ProcessScenarioOptions): Promise<ProcessScenarioResult> {
  const seed = String(options.seed)
  const network = options.network ?? 'loopback'
  const plan = options.faults ?? []
  validateProcessScenario(options, plan)
  const rng = createRng(seed)
  const durationMs = options.durationMs ?? 3_000
  const dir = await mkdtemp(join(tmpdir(), 'provsync-proc-'))
  let namespaces: Namespaces | undefined
  const processes: Array<NodeProcess | undefined> = []
  try {
    if (network === 'netns') {
      namespaces = await createNamespaces(options.nodes)
      if ((options.lossPct ?? 0) > 0) await namespaces.setLoss(options.lossPct!)
    }
    const cluster = await startProcessCluster({ options, seed, rng, dir, network, namespaces, processes })
    const ops = planWorkload(
      {
        nodes: options.nodes,
        operations: options.operations,
        durationMs,
        mix: { verify: 0.7, supersede: 0.3 },
      },
      rng.fork('workload'),
    )
    const acknowledged: Acknowledgement[] = []
    const kills: Array<{ node: number; midBatch: boolean }> = []
    const began = performance.now()
    for (const item of processTimeline(plan, ops)) {
      await sleep(item.atMs - (performance.now() - began))
      if (item.fault !== undefined) {
        const fault = item.fault
        cluster.applyFault(fault)
        if (fault.type === 'crash') {
          const midBatch = await killMidBatch(processes[fault.node]!)
          processes[fault.node] = undefined
          kills.push({ node: fault.node, midBatch })
        } else if (fault.type === 'restart') {
          await cluster.start(fault.node)
        }
        await cluster.sendLinks()
        continue
      }
      const child = processes[item.op.node]
      if (child === undefined) continue
      const ack = await playProcessOp(child, item.op)
      if (ack !== undefined) acknowledged.push(ack)
    }
    const live = processes.filter((p): p is NodeProcess => p !== undefined)
    const convergeMs = await awaitEqualRoots(live, options.convergeTimeoutMs ?? 60_000)
    const knownKeys = live.map((n) => n.key)
    const final = (await Promise.all(live.map((n) => n.call({ cmd: 'snapshot', knownKeys })))).map(
      (r) => r.snapshot as NodeSnapshot,
    )
    return {
      convergeMs,
      acknowledged: acknowledged.length,
      kills,
      check: checkInvariants({ seed, final, acknowledged }),
    }
  } finally {
    await Promise.allSettled(processes.map((p) => p?.call({ cmd: 'stop' })))
    for (const p of processes) p?.kill('SIGKILL')
    await namespaces?.remove()
    await rm(dir, { recursive: true, force: true })
  }
}

export interface NetnsScenarioOptions {
  readonly seed: string | number
  readonly nodes: number
  readonly operations: number
  /** Percent of packets each namespace drops on input (needs nft). */
  readonly lossPct?: number
  readonly faults?: FaultPlan
  readonly convergeTimeoutMs?: number
}

/** One node process per network namespace, on veth links; see {@link runProcessScenario}. */
export function runNetnsScenario(options: NetnsScenarioOptions): Promise<ProcessScenarioResult> {
  return runProcessScenario({ ...options, network: 'netns' })
}
