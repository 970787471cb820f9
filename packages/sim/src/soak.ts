/**
 * The soak scenario of issue #17: 8 node processes on TCP loopback for a long while (20 minutes;
 * 2 with `quick`), with a steady workload, partitions, SIGKILL crashes and restarts, a full disk on
 * one node (a tmpfs of its own, filled and later emptied) and a hostile peer that serves forged
 * records and sends oversized and garbage frames. It reports every node's largest RSS in the first
 * and in the last tenth of the run, when the full-disk node suspended and resumed its writes, and
 * the checker's verdict once the network healed and converged.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signerFromSeed, toHex } from '@provsync/crdt'
import { type ByzantineNode, startByzantine } from './byzantine.js'
import {
  type Acknowledgement,
  type ByzantineExpectation,
  type CheckResult,
  checkInvariants,
  type NodeSnapshot,
} from './checker.js'
import { createRng, type Rng } from './prng.js'
import type { NodeProcess } from './process.js'
import { type SoakCluster, startSoakCluster } from './soak-cluster.js'
import { planWorkload, type WorkloadOp } from './workload.js'

export interface SoakOptions {
  readonly seed: string | number
  /** Wall time of the timeline (faults and workload); convergence and the check come after. */
  readonly durationMs: number
  /** @default 8 */
  readonly nodes?: number
  /** Workload operations per second over the whole cluster. @default 2 */
  readonly opsPerSecond?: number
  /** Size of the full-disk node's tmpfs. @default 32 */
  readonly fullDiskMiB?: number
  readonly progress?: (line: string) => void
}

export interface SoakNodeMemory {
  readonly name: string
  /** Largest VmRSS sampled in the first tenth of the run, and in the last tenth (MiB). */
  readonly startMaxRssMiB: number
  readonly endMaxRssMiB: number
}

export interface SoakFullDisk {
  readonly method: 'tmpfs'
  /** Run time (ms) at which the filler filled the tmpfs, the node reported its writes suspended, the space came back, and it reported them resumed. */
  readonly filledAtMs?: number
  readonly suspendedAtMs?: number
  readonly cause?: string
  readonly freedAtMs?: number
  readonly resumedAtMs?: number
  /** Workload writes the node refused while suspended (typed errors, the node stayed up). */
  readonly refusedWrites: number
}

export interface SoakResult {
  readonly durationMs: number
  readonly operations: number
  readonly acknowledged: number
  readonly crashes: number
  readonly partitions: number
  readonly attacks: number
  /** Workload calls that failed on a node that was up, with their errors (at most 20). */
  readonly opErrors: readonly string[]
  readonly memory: readonly SoakNodeMemory[]
  readonly fullDisk: SoakFullDisk
  /** Honest nodes that blocked the hostile peer at the end, and the offences they counted. */
  readonly hostile: { readonly blockedBy: number; readonly offences: number }
  readonly convergeMs: number
  readonly check: CheckResult
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

interface Step {
  readonly atMs: number
  /**
   * Steps of one lane run in order, lanes side by side: each node's workload is a lane, the faults
   * another, so a slow restart on a loaded machine does not hold the workload back.
   */
  readonly lane: string
  readonly run: () => Promise<void>
}

/** The run's mutable tallies. */
interface Tally {
  acknowledged: Acknowledgement[]
  crashes: number
  partitions: number
  attacks: number
  /** Workload calls that failed on a node that was up (a crash mid-call is not one). */
  opErrors: string[]
  disk: {
    filledAtMs?: number
    suspendedAtMs?: number
    cause?: string
    freedAtMs?: number
    resumedAtMs?: number
    refusedWrites: number
  }
  began: number
}

async function playOp(child: NodeProcess, op: WorkloadOp): Promise<Acknowledgement | undefined> {
  const node = `n${op.node}`
  if (op.type === 'verify') {
    const r = await child.call({ cmd: 'verify', coordinate: op.coordinate, run: op.run.toString() })
    if (r.status === 'applied' && r.asserted === true)
      return { store: 'assertions', key: r.key as string, signer: child.key, node }
  } else if (op.type === 'supersede') {
    const r = await child.call({ cmd: 'supersede', target: toHex(op.target), reason: op.reason })
    return { store: 'supersessions', key: r.key as string, signer: child.key, node }
  }
  return undefined
}

/** Workload steps: each op on its node, if up; a refused write on the full-disk node is counted. */
function workloadSteps(cluster: SoakCluster, ops: readonly WorkloadOp[], tally: Tally): Step[] {
  return ops.map((op) => ({
    atMs: op.atMs,
    lane: `n${op.node}`,
    run: async () => {
      const child = cluster.processes[op.node]
      if (child === undefined) return
      try {
        const ack = await playOp(child, op)
        if (ack !== undefined) tally.acknowledged.push(ack)
      } catch (error) {
        if (op.node === cluster.fullDiskNode && /WritesSuspended|WriteFailed/.test(String(error)))
          tally.disk.refusedWrites++
        else if (cluster.processes[op.node] !== undefined) tally.opErrors.push(String(error))
      }
    },
  }))
}

/** Partitions, crashes and restarts: ten cycles over the first 84 % of the run, every honest node but the full-disk one crashing in turn. */
function faultSteps(cluster: SoakCluster, nodes: number, durationMs: number, tally: Tally): Step[] {
  const steps: Step[] = []
  const half = Math.floor(nodes / 2)
  const groups = [
    Array.from({ length: half }, (_, i) => i),
    Array.from({ length: nodes - half }, (_, i) => half + i),
  ]
  for (let cycle = 0; cycle < 10; cycle++) {
    // Twelfths, so the last restart (at 84 %) comes before the last tenth, whose RSS is reported.
    const t = ((cycle + 0.5) * durationMs) / 12
    const victim = cycle % (nodes - 1)
    steps.push(
      {
        atMs: t,
        lane: 'faults',
        run: async () => {
          tally.partitions++
          await cluster.fault({ type: 'partition', atMs: t, groups })
        },
      },
      { atMs: t + durationMs / 40, lane: 'faults', run: () => cluster.fault({ type: 'heal', atMs: t }) },
      {
        atMs: t + durationMs / 30,
        lane: 'faults',
        run: async () => {
          tally.crashes++
          await cluster.crash(victim)
        },
      },
      { atMs: t + durationMs / 20, lane: 'faults', run: () => cluster.start(victim) },
    )
  }
  return steps
}

/** Fills the full-disk node's tmpfs at 30 % of the run and frees it at 60 %. */
function diskSteps(cluster: SoakCluster, durationMs: number, tally: Tally, rng: Rng): Step[] {
  const node = cluster.fullDiskNode
  return [
    {
      atMs: durationMs * 0.3,
      lane: 'disk',
      run: async () => {
        cluster.disk.fill()
        tally.disk.filledAtMs = performance.now() - tally.began
        // The node may still commit into pages its file already holds: write until it notices.
        for (let i = 0; i < 200 && tally.disk.suspendedAtMs === undefined; i++) {
          const coordinate = { volume: 'soak-disk', destination: 'full', origin: toHex(rng.bytes(8)) }
          await cluster.processes[node]
            ?.call({ cmd: 'verify', coordinate, run: '1' })
            .then((r) => {
              if (r.status === 'applied' && r.asserted === true)
                tally.acknowledged.push({
                  store: 'assertions',
                  key: r.key as string,
                  signer: cluster.processes[node]!.key,
                  node: `n${node}`,
                })
            })
            .catch(() => tally.disk.refusedWrites++)
          await watchDisk(cluster, tally)
        }
      },
    },
    {
      atMs: durationMs * 0.6,
      lane: 'disk',
      run: async () => {
        cluster.disk.free()
        tally.disk.freedAtMs = performance.now() - tally.began
      },
    },
  ]
}

/** Notes when the full-disk node reports its writes suspended, and when resumed after the space came back. */
async function watchDisk(cluster: SoakCluster, tally: Tally): Promise<void> {
  const r = await cluster.processes[cluster.fullDiskNode]?.call({ cmd: 'health' }).catch(() => undefined)
  const writes = r?.writes as { writable: boolean; cause?: string } | undefined
  if (writes === undefined) return
  const at = performance.now() - tally.began
  if (!writes.writable && tally.disk.suspendedAtMs === undefined) {
    tally.disk.suspendedAtMs = at
    tally.disk.cause = writes.cause
  }
  if (writes.writable && tally.disk.freedAtMs !== undefined && tally.disk.resumedAtMs === undefined)
    tally.disk.resumedAtMs = at
}

/** The hostile peer dials every node at the start and attacks at 20, 50 and 80 % of the run. */
function hostileSteps(
  cluster: SoakCluster,
  hostile: ByzantineNode,
  durationMs: number,
  tally: Tally,
): Step[] {
  return [0.2, 0.5, 0.8].map((f) => ({
    atMs: durationMs * f,
    lane: 'hostile',
    run: async () => {
      tally.attacks++
      await Promise.allSettled(cluster.addresses.map((a) => hostile.dial(a)))
      await hostile.attack()
    },
  }))
}

/** Samples every node's VmRSS every 2 s into per-node series of (run time, MiB). */
function sampleMemory(
  cluster: SoakCluster,
  began: number,
): { series: Array<Array<[number, number]>>; stop: () => void } {
  const series: Array<Array<[number, number]>> = cluster.processes.map(() => [])
  const timer = setInterval(() => {
    const at = performance.now() - began
    cluster.rss().forEach((mib, i) => {
      if (mib !== undefined) series[i]!.push([at, mib])
    })
  }, 2_000)
  return { series, stop: () => clearInterval(timer) }
}

function memoryOf(series: Array<Array<[number, number]>>, durationMs: number): SoakNodeMemory[] {
  const round = (x: number) => Math.round(x * 10) / 10
  const maxIn = (s: Array<[number, number]>, from: number, to: number) =>
    s.filter(([at]) => at >= from && at <= to).reduce((m, [, mib]) => Math.max(m, mib), 0)
  return series.map((s, i) => ({
    name: `n${i}`,
    startMaxRssMiB: round(maxIn(s, 0, durationMs * 0.1)),
    endMaxRssMiB: round(maxIn(s, durationMs * 0.9, durationMs)),
  }))
}

/** Every lane's steps in time order, lanes side by side; the disk and progress are watched every second. */
async function playTimeline(
  cluster: SoakCluster,
  steps: Step[],
  tally: Tally,
  progress?: (line: string) => void,
) {
  const lanes = new Map<string, Promise<void>>()
  for (const step of steps.sort((a, b) => a.atMs - b.atMs)) {
    const previous = lanes.get(step.lane) ?? Promise.resolve()
    lanes.set(
      step.lane,
      previous.then(async () => {
        await sleep(step.atMs - (performance.now() - tally.began))
        await step.run()
      }),
    )
  }
  let lastReport = 0
  const watcher = setInterval(() => {
    if (tally.disk.filledAtMs !== undefined) void watchDisk(cluster, tally)
    const at = performance.now() - tally.began
    if (progress === undefined || at - lastReport < 30_000) return
    lastReport = at
    const rss = cluster.rss().map((m) => (m === undefined ? '-' : Math.round(m)))
    progress(
      `soak ${Math.round(at / 1000)} s: ${tally.acknowledged.length} acknowledged, RSS MiB ${rss.join(' ')}`,
    )
  }, 1_000)
  try {
    await Promise.all(lanes.values())
  } finally {
    clearInterval(watcher)
  }
}

/** Heals the network, restarts any node that is down, waits for equal roots and checks. */
async function settle(cluster: SoakCluster, seed: string, hostile: ByzantineNode, tally: Tally) {
  await cluster.fault({ type: 'heal', atMs: 0 })
  for (const [i, p] of cluster.processes.entries()) if (p === undefined) await cluster.start(i)
  const live = cluster.processes.filter((p): p is NodeProcess => p !== undefined)
  const settledAt = performance.now()
  let convergeMs = -1
  while (performance.now() - settledAt < 180_000) {
    const roots = await Promise.all(live.map((n) => n.call({ cmd: 'roots' })))
    if (new Set(roots.map((r) => r.roots)).size === 1) {
      convergeMs = performance.now() - settledAt
      break
    }
    await sleep(250)
  }
  const knownKeys = [...live.map((n) => n.key), toHex(hostile.publicKey)]
  const final = (await Promise.all(live.map((n) => n.call({ cmd: 'snapshot', knownKeys })))).map(
    (r) => r.snapshot as NodeSnapshot,
  )
  const byzantine: ByzantineExpectation = {
    peerIds: [hostile.peerId.toString()],
    forged: hostile.forged as ByzantineExpectation['forged'],
    behaviours: [],
  }
  const check = checkInvariants({ seed, final, acknowledged: tally.acknowledged, byzantine })
  const health = await Promise.all(
    live.map((n) => n.call({ cmd: 'health', peer: hostile.peerId.toString() })),
  )
  const offences = health.reduce(
    (sum, h) => sum + Object.values((h.offences ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0),
    0,
  )
  return {
    convergeMs,
    check,
    hostile: { blockedBy: health.filter((h) => h.blocked === true).length, offences },
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const seed = String(options.seed)
  const nodes = options.nodes ?? 8
  const { durationMs } = options
  const rng = createRng(seed)
  const operator = signerFromSeed(rng.fork('operator').bytes(32))
  const dir = await mkdtemp(join(tmpdir(), 'provsync-soak-'))
  const networkId = `soak-${seed}`
  const cluster = await startSoakCluster({
    nodes,
    dir,
    networkId,
    operator,
    rng,
    fullDiskMiB: options.fullDiskMiB ?? 32,
  })
  let hostile: ByzantineNode | undefined
  try {
    hostile = await startByzantine({
      name: 'hostile',
      dataDir: join(dir, 'hostile'),
      networkId,
      trust: [operator.publicKey],
      listen: '/ip4/127.0.0.1/tcp/0',
      behaviours: ['forged-signature', 'wrong-network', 'far-future', 'oversized-frame', 'garbage-frame'],
      victims: cluster.processes.map((p) => Buffer.from(p!.key, 'hex')),
      coordinates: [{ volume: 'vol-0', destination: 'dest-0', origin: 'origin-0' }],
      rng: rng.fork('hostile'),
    })
    const operations = Math.round(((options.opsPerSecond ?? 2) * durationMs) / 1000)
    const ops = planWorkload(
      { nodes, operations, durationMs, mix: { verify: 0.7, supersede: 0.3 }, coordinates: 4096 },
      rng.fork('workload'),
    )
    const tally: Tally = {
      acknowledged: [],
      crashes: 0,
      partitions: 0,
      attacks: 0,
      opErrors: [],
      disk: { refusedWrites: 0 },
      began: performance.now(),
    }
    const memory = sampleMemory(cluster, tally.began)
    const steps = [
      ...workloadSteps(cluster, ops, tally),
      ...faultSteps(cluster, nodes, durationMs, tally),
      ...diskSteps(cluster, durationMs, tally, rng.fork('disk')),
      ...hostileSteps(cluster, hostile, durationMs, tally),
      // The end of the run, so the last tenth of the memory series is complete.
      { atMs: durationMs, lane: 'end', run: async () => {} },
    ]
    await playTimeline(cluster, steps, tally, options.progress)
    memory.stop()
    const settled = await settle(cluster, seed, hostile, tally)
    return {
      durationMs,
      operations,
      acknowledged: tally.acknowledged.length,
      crashes: tally.crashes,
      partitions: tally.partitions,
      attacks: tally.attacks,
      opErrors: tally.opErrors.slice(0, 20),
      memory: memoryOf(memory.series, durationMs),
      fullDisk: { method: 'tmpfs', ...tally.disk },
      ...settled,
    }
  } finally {
    await hostile?.stop().catch(() => {})
    await cluster.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
