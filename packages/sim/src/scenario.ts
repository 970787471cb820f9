/**
 * `runScenario`: starts the cluster, plays the seeded workload and fault plan against it, waits
 * for quiescence, runs the checker and builds the report.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { type Coordinate, fromHex, type Signer, signerFromSeed, toHex } from '@provsync/crdt'
import type { ProvsyncNodeOptions } from '@provsync/sync'
import {
  type ByzantineBehaviour,
  type ByzantineNode,
  CAUGHT_BY,
  DEFAULT_BYZANTINE_BEHAVIOURS,
  type Equivocation,
  startByzantine,
} from './byzantine.js'
import {
  type Acknowledgement,
  type ByzantineExpectation,
  type CheckResult,
  checkInvariants,
  type EquivocationEvidence,
  type HistorySnapshot,
  historyPrefixes,
  type Refusal,
} from './checker.js'
import { type Cluster, createCluster, type Received, type Transport } from './cluster.js'
import { ScenarioConfigError } from './errors.js'
import {
  applyFault,
  type FaultEvent,
  type FaultPlan,
  HEALTHY,
  type LinkState,
  lastHealMs,
  linkFault,
  NO_FAULT,
  type RandomFaultOptions,
  randomFaultPlan,
  reachable,
  validateFaultPlan,
} from './faults.js'
import { createMemoryNetwork, type LinkTable, type MemoryNetwork } from './links.js'
import { log } from './log.js'
import { createRng, type Rng } from './prng.js'
import { sleep, waitForEqualRoots } from './quiescence.js'
import {
  type AppliedEvent,
  describeFault,
  type EquivocationReport,
  renderChart,
  reportJson,
  type Sample,
  type SimReport,
} from './report.js'
import { forgetOnSignal, removeOnSignal } from './scratch.js'
import { rootTriple, snapshotHistory, snapshotNode } from './snapshot.js'
import { buildReport, reportNodes, storedRecords } from './summary.js'
import { runThreadedScenario } from './threaded-scenario.js'
import { fileTracer, type Tracer, traceConverged, traced } from './trace.js'
import { planWorkload, type WorkloadMix, type WorkloadOp } from './workload.js'

export interface ByzantineScenario {
  readonly count?: number
  readonly behaviours?: readonly ByzantineBehaviour[]
  /** When the replayed register falls back to its older record (default 40 % of the run). */
  readonly phaseAtMs?: number
  /** When the frame-level attacks run (default 25 %). */
  readonly attackAtMs?: number
  /** When an operator revokes every Byzantine key through an honest node; omit for no revocation. */
  readonly revokeAtMs?: number
}

export interface ScenarioOptions {
  readonly name?: string
  readonly seed: string | number
  /** Honest nodes. */
  readonly nodes: number
  readonly transport?: Transport
  readonly workload: {
    readonly operations: number
    readonly durationMs: number
    readonly mix?: Partial<WorkloadMix>
    readonly coordinates?: number
    /** Honest nodes operators may revoke and reinstate during the run. */
    readonly revocable?: readonly number[]
  }
  /** An explicit plan, or options for a seeded random one. */
  readonly faults?: FaultPlan | { readonly random: Omit<RandomFaultOptions, 'nodes' | 'durationMs'> }
  readonly byzantine?: ByzantineScenario
  readonly operators?: number
  /** How long to wait for equal roots after the timeline ends (default 60 s). */
  readonly convergeTimeoutMs?: number
  /** Equal roots must hold this long to count as quiescence (default 400 ms). */
  readonly settleMs?: number
  readonly sampleMs?: number
  /** Working directory for the nodes' data; a fresh dir under {@link scratchDir} by default, removed afterwards. */
  readonly dir?: string
  readonly keepData?: boolean
  /** Writes `<name>.json` and `<name>.svg` here. */
  readonly reportDir?: string
  readonly sync?: ProvsyncNodeOptions['sync']
  /**
   * Signature-verification worker threads, one pool shared by every node of the process (crdt's
   * shared verifier); 0 verifies on the harness thread, as one event loop runs all the nodes.
   * @default 0
   */
  readonly verifyThreads?: number
  /**
   * Threads the honest nodes run in: 1 runs them all on the calling thread; N > 1 starts N
   * worker threads, thread k hosting the nodes whose index is k modulo N (their libp2p, LMDB and
   * crdt state; `verifyThreads` is then each thread's own verifier pool), while the calling thread
   * keeps the timeline, the workload, the fault plan and the checker. Threaded runs take the memory
   * transport, partitions, heals and link faults; crashes, restarts, clock skew and Byzantine peers
   * are refused with a {@link ScenarioConfigError}.
   * @default 1
   */
  readonly threads?: number
  /** Reasons an honest peer must never be blamed for (default {@link DEFAULT_FORGERY_REASONS}). */
  readonly forgeryReasons?: readonly string[]
  readonly onProgress?: (progress: Progress) => void
  /**
   * A probe: appends a trace of the run to this file (one JSON object per line: connections,
   * sessions, applied batches, faults and the root counts while converging; see trace.ts). Off by
   * default.
   */
  readonly tracePath?: string
}

export interface Progress {
  readonly phase: 'starting' | 'running' | 'converging' | 'checking' | 'done'
  readonly tMs: number
  readonly opsDone: number
  readonly opsTotal: number
  readonly distinctRoots: number
  readonly bytesIn: number
  readonly event?: string
}

export interface ScenarioResult {
  readonly report: SimReport
  readonly check: CheckResult
  /** Paths written when `reportDir` was given. */
  readonly files: readonly string[]
}

export type TimelineItem =
  | { readonly atMs: number; readonly kind: 'op'; readonly op: WorkloadOp }
  | { readonly atMs: number; readonly kind: 'fault'; readonly fault: FaultEvent }
  | { readonly atMs: number; readonly kind: 'byzantine'; readonly act: 'phase' | 'attack' | 'revoke' }

/**
 * Where node data lives by default: tmpfs when the machine has one, so tens of LMDB environments
 * in one process do not queue on the disk's fsyncs (the crash tests use real processes and disk).
 * `PROVSYNC_SIM_SCRATCH` names another parent directory.
 */
export function scratchDir(): string {
  const chosen = process.env.PROVSYNC_SIM_SCRATCH
  if (chosen !== undefined && chosen !== '') return chosen
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
}

function resolvePlan(options: ScenarioOptions): FaultPlan {
  const faults = options.faults ?? []
  if ('random' in faults) {
    return randomFaultPlan(
      { ...faults.random, nodes: options.nodes, durationMs: options.workload.durationMs },
      createRng(options.seed).fork('faults'),
    )
  }
  return faults
}

export function validateScenario(options: ScenarioOptions): FaultPlan {
  if (!Number.isInteger(options.nodes) || options.nodes < 2) {
    throw new ScenarioConfigError('nodes', `a scenario needs at least 2 honest nodes, got ${options.nodes}`)
  }
  if (options.transport !== undefined && !['memory', 'tcp'].includes(options.transport)) {
    throw new ScenarioConfigError(
      'transport',
      `must be memory or tcp, got ${JSON.stringify(options.transport)}`,
    )
  }
  const count = options.byzantine?.count ?? (options.byzantine === undefined ? 0 : 1)
  if (!Number.isInteger(count) || count < 0)
    throw new ScenarioConfigError('byzantine.count', `must be >= 0, got ${count}`)
  if ((options.operators ?? 1) < 1)
    throw new ScenarioConfigError('operators', 'at least one operator key is needed')
  const threads = options.verifyThreads ?? 0
  if (!Number.isInteger(threads) || threads < 0)
    throw new ScenarioConfigError('verifyThreads', `must be an integer >= 0, got ${threads}`)
  const plan = resolvePlan(options)
  validateFaultPlan(plan, options.nodes)
  validateThreads(options, plan, count)
  if (
    options.transport === 'tcp' &&
    plan.some((f) => f.type === 'link' && (f.fault.lossPct > 0 || f.fault.delayMs > 0))
  ) {
    throw new ScenarioConfigError(
      'faults',
      'link loss and delay need the memory transport (use the netns scenario for real links)',
    )
  }
  return plan
}

/** What a threaded run (`threads` > 1) cannot do yet, refused by the option that asks for it. */
function validateThreads(options: ScenarioOptions, plan: FaultPlan, byzantine: number): void {
  const threads = options.threads ?? 1
  if (!Number.isInteger(threads) || threads < 1 || threads > options.nodes)
    throw new ScenarioConfigError(
      'threads',
      `must be an integer from 1 to nodes (${options.nodes}), got ${threads}`,
    )
  if (threads === 1) return
  if ((options.transport ?? 'memory') !== 'memory')
    throw new ScenarioConfigError(
      'transport',
      `threads > 1 runs on the memory transport only, got ${options.transport}`,
    )
  if (byzantine > 0)
    throw new ScenarioConfigError('byzantine', 'Byzantine peers are not supported with threads > 1')
  const unsupported = plan.find((f) => f.type === 'crash' || f.type === 'restart' || f.type === 'skew')
  if (unsupported !== undefined)
    throw new ScenarioConfigError(
      'faults',
      `${unsupported.type} faults are not supported with threads > 1 (partitions, heals and link faults are)`,
    )
}

function timeline(options: ScenarioOptions, plan: FaultPlan, ops: readonly WorkloadOp[]): TimelineItem[] {
  const items: TimelineItem[] = [
    ...ops.map((op) => ({ atMs: op.atMs, kind: 'op' as const, op })),
    ...plan
      .filter((f) => f.type !== 'skew' || f.atMs > 0)
      .map((fault) => ({ atMs: fault.atMs, kind: 'fault' as const, fault })),
  ]
  const byz = options.byzantine
  if (byz !== undefined && (byz.count ?? 1) > 0) {
    const d = options.workload.durationMs
    items.push({ atMs: byz.phaseAtMs ?? d * 0.4, kind: 'byzantine', act: 'phase' })
    items.push({ atMs: byz.attackAtMs ?? d * 0.25, kind: 'byzantine', act: 'attack' })
    if (byz.revokeAtMs !== undefined) items.push({ atMs: byz.revokeAtMs, kind: 'byzantine', act: 'revoke' })
  }
  // Faults before ops at the same instant, so an op scheduled at a crash sees the node down.
  const rank = { fault: 0, byzantine: 1, op: 2 }
  return items.sort((a, b) => a.atMs - b.atMs || rank[a.kind] - rank[b.kind])
}

/**
 * What each honest node pulled from, and holds of, every register a Byzantine peer equivocated on
 * (the checker's evidence), with whom the peer says it handed each version to (for the report).
 */
function equivocationEvidence(
  byzantine: readonly ByzantineNode[],
  cluster: Cluster,
  fromByzantine: readonly Received[],
): Array<{ evidence: EquivocationEvidence; handedTo: Equivocation['handedTo'] }> {
  return byzantine.flatMap((b) => {
    const signer = toHex(b.publicKey)
    return b.equivocations().map((e) => {
      const received = new Map<string, { node: string; version: string }>()
      for (const r of fromByzantine) {
        if (r.from === signer && r.store === e.store && r.key === e.key)
          received.set(`${r.node}/${r.hash}`, { node: r.node, version: r.hash })
      }
      const evidence: EquivocationEvidence = {
        name: b.name,
        peer: b.peerId.toString(),
        store: e.store as EquivocationEvidence['store'],
        key: e.key,
        versions: e.versions,
        received: [...received.values()],
        held: cluster.nodes.map((n) => {
          const valueHash = n.node?.state.tree(e.store).get(fromHex(e.key))
          return { node: n.name, version: valueHash === undefined ? undefined : toHex(valueHash) }
        }),
      }
      return { evidence, handedTo: e.handedTo }
    })
  })
}

function equivocationReport(
  equivocations: ReturnType<typeof equivocationEvidence>,
  cluster: Cluster,
): EquivocationReport[] {
  const names = new Map(cluster.nodes.map((n) => [n.peerId.toString(), n.name]))
  return equivocations.map(({ evidence: e, handedTo }) => {
    const held = new Set(e.held.map((h) => h.version))
    const [winner] = held
    return {
      byzantine: e.name,
      peer: e.peer,
      store: e.store,
      key: e.key,
      versions: e.versions.map((hash, i) => ({
        hash,
        handedTo: (handedTo[i] ?? []).map((p) => names.get(p) ?? p).sort(),
        receivedBy: e.received
          .filter((r) => r.version === hash)
          .map((r) => r.node)
          .sort(),
      })),
      winner: held.size === 1 && winner !== undefined ? winner : null,
    }
  })
}

/** The run's fixed inputs, derived once from its options. */
export interface RunSetup {
  readonly options: ScenarioOptions
  readonly plan: FaultPlan
  readonly seed: string
  readonly rng: Rng
  readonly name: string
  readonly transport: Transport
  readonly honest: number
  readonly byzCount: number
  readonly behaviours: readonly ByzantineBehaviour[]
  readonly ops: readonly WorkloadOp[]
  readonly baseDir: string
  readonly runId: string
  readonly operators: Signer[]
  /** The probe's tracer, when `options.tracePath` is set. */
  readonly tracer: Tracer | undefined
}

async function prepareRun(options: ScenarioOptions): Promise<RunSetup> {
  const plan = validateScenario(options)
  const seed = String(options.seed)
  const rng = createRng(seed)
  const name = options.name ?? `sim-${seed}`
  const honest = options.nodes
  const ops = planWorkload(
    { ...options.workload, nodes: honest, operators: options.operators ?? 1 },
    rng.fork('workload'),
  )
  const baseDir = options.dir ?? (await mkdtemp(join(scratchDir(), 'provsync-sim-')))
  await mkdir(baseDir, { recursive: true })
  // A run stopped by SIGINT/SIGTERM removes it too (scratch.ts); close() forgets it.
  if (options.keepData !== true) removeOnSignal(baseDir)
  return {
    options,
    plan,
    seed,
    rng,
    name,
    transport: options.transport ?? 'memory',
    honest,
    byzCount: options.byzantine === undefined ? 0 : (options.byzantine.count ?? 1),
    // One list for the peers and the checker, so defaulted behaviours are checked too.
    behaviours: options.byzantine?.behaviours ?? DEFAULT_BYZANTINE_BEHAVIOURS,
    ops,
    baseDir,
    tracer: options.tracePath === undefined ? undefined : fileTracer(options.tracePath),
    // Memory addresses are process-wide: the run id keeps concurrent runs (and replays) apart.
    runId: `${name}-${randomBytes(4).toString('hex')}`,
    operators: Array.from({ length: options.operators ?? 1 }, (_, i) =>
      signerFromSeed(rng.fork(`operator-${i}`).bytes(32)),
    ),
  }
}

/** The fault plan's link state as the network sees it: which honest nodes reach which, and how. */
interface Partitions {
  readonly table: LinkTable
  /** Honest peer id to node index; filled once the cluster has started. */
  readonly indexOf: Map<string, number>
  apply(fault: FaultEvent): void
}

function createPartitions(): Partitions {
  let links: LinkState = HEALTHY
  const indexOf = new Map<string, number>()
  const table: LinkTable = {
    reachable(a, b) {
      const ia = indexOf.get(a)
      const ib = indexOf.get(b)
      // Byzantine peers sit outside the partition plan: they reach whoever does not block them.
      if (ia === undefined || ib === undefined) return true
      return reachable(links, ia, ib)
    },
    fault(a, b) {
      const ia = indexOf.get(a)
      const ib = indexOf.get(b)
      return ia === undefined || ib === undefined ? NO_FAULT : linkFault(links, ia, ib)
    },
  }
  return {
    table,
    indexOf,
    apply(fault) {
      links = applyFault(links, fault)
    },
  }
}

/** The honest cluster and what it reports back while it runs. */
interface ClusterParts {
  readonly cluster: Cluster
  readonly memory: MemoryNetwork | undefined
  readonly refusals: Refusal[]
  /** Public keys (hex) of the Byzantine peers, filled as they start. */
  readonly byzantineKeys: Set<string>
  /** Records honest nodes pulled straight from a Byzantine peer: the evidence of whom it told what. */
  readonly fromByzantine: Received[]
}

async function createRunCluster(setup: RunSetup, partitions: Partitions): Promise<ClusterParts> {
  const { rng, transport, options } = setup
  const memory: MemoryNetwork | undefined =
    transport === 'memory'
      ? await createMemoryNetwork(`/memory/${setup.runId}-`, partitions.table, rng.fork('links'))
      : undefined
  const refusals: Refusal[] = []
  const byzantineKeys = new Set<string>()
  const fromByzantine: Received[] = []
  const cluster: Cluster = await createCluster({
    runId: setup.runId,
    baseDir: setup.baseDir,
    networkId: `sim-${setup.seed}`,
    nodes: setup.honest,
    transport,
    operators: setup.operators,
    table: partitions.table,
    memory,
    rng: rng.fork('cluster'),
    ...(options.sync === undefined ? {} : { sync: options.sync }),
    verifyThreads: options.verifyThreads ?? 0,
    ...(setup.tracer === undefined ? {} : { trace: setup.tracer }),
    onRefusal: (r) => refusals.push(r),
    onReceived: (r) => {
      if (byzantineKeys.has(r.from) && r.status !== 'refused') fromByzantine.push(r)
    },
  })
  for (const n of cluster.nodes) partitions.indexOf.set(n.peerId.toString(), n.index)
  for (const f of setup.plan) if (f.type === 'skew' && f.atMs <= 0) cluster.nodes[f.node]!.skewMs = f.offsetMs
  return { cluster, memory, refusals, byzantineKeys, fromByzantine }
}

/** Writes `<name>.json` and `<name>.svg` under `reportDir`, when given; returns their paths. */
export async function writeReportFiles(
  reportDir: string | undefined,
  name: string,
  report: SimReport,
): Promise<string[]> {
  if (reportDir === undefined) return []
  await mkdir(reportDir, { recursive: true })
  const json = join(reportDir, `${name}.json`)
  const svg = join(reportDir, `${name}.svg`)
  await writeFile(json, reportJson(report))
  await writeFile(svg, renderChart(report))
  return [json, svg]
}

/** What the checker is told of the Byzantine peers: who they are, what they forged, what catches them. */
function byzantineExpectation(
  byzantine: readonly ByzantineNode[],
  behaviours: readonly ByzantineBehaviour[],
): ByzantineExpectation {
  return {
    peerIds: byzantine.map((b) => b.peerId.toString()),
    forged: byzantine.flatMap((b) => b.forged) as ByzantineExpectation['forged'],
    behaviours: behaviours.flatMap((b) => {
      const reasons = CAUGHT_BY[b]
      return reasons === undefined ? [] : [{ name: b, reasons }]
    }),
  }
}

/** One scenario run in progress: the cluster, its Byzantine peers and what is measured of them. */
class ScenarioRun {
  readonly cluster: Cluster
  private readonly memory: MemoryNetwork | undefined
  private readonly refusals: Refusal[]
  private readonly byzantineKeys: Set<string>
  private readonly fromByzantine: Received[]
  private readonly byzantine: ByzantineNode[] = []
  private readonly acknowledged: Acknowledgement[] = []
  private readonly revocationIds: string[] = []
  private readonly earlier: HistorySnapshot[] = []
  private readonly samples: Sample[] = []
  private readonly events: AppliedEvent[] = []
  private readonly attacks: Promise<void>[] = []
  // Every node shares this thread: the loop's delay tells whether the harness itself was the limit.
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 })
  private sampler: ReturnType<typeof setInterval> | undefined
  private opsDone = 0
  private started = performance.now()
  private writeMs = 0
  private convergedAtMs = -1
  private convergedSeenAtMs = -1

  constructor(
    private readonly setup: RunSetup,
    private readonly partitions: Partitions,
    parts: ClusterParts,
  ) {
    this.cluster = parts.cluster
    this.memory = parts.memory
    this.refusals = parts.refusals
    this.byzantineKeys = parts.byzantineKeys
    this.fromByzantine = parts.fromByzantine
    this.loopDelay.enable()
  }

  // ---- measures ---------------------------------------------------------------------------

  now(): number {
    return performance.now() - this.started
  }

  private running() {
    return this.cluster.nodes.filter((n) => n.node !== undefined)
  }

  private bytesIn(): number {
    return (
      this.memory?.totalBytesReceived() ?? this.cluster.nodes.reduce((sum, n) => sum + n.stats.syncBytesIn, 0)
    )
  }

  /** When a running node last changed its records, on this run's clock. */
  private lastChangeMs(): number {
    const last = Math.max(...this.running().map((n) => n.lastChangeAt))
    return last - (performance.timeOrigin + this.started)
  }

  private distinctRoots(): number {
    return new Set(this.running().map((n) => rootTriple(n.node!.state))).size
  }

  progress(phase: Progress['phase'], event?: string): void {
    if (log.enabled) {
      log(
        '%s at %d ms: %d/%d ops, %d distinct roots%s',
        phase,
        this.now(),
        this.opsDone,
        this.setup.ops.length,
        this.distinctRoots(),
        event === undefined ? '' : ` - ${event}`,
      )
    }
    this.setup.options.onProgress?.({
      phase,
      tMs: this.now(),
      opsDone: this.opsDone,
      opsTotal: this.setup.ops.length,
      distinctRoots: this.distinctRoots(),
      bytesIn: this.bytesIn(),
      ...(event === undefined ? {} : { event }),
    })
  }

  private firstRunning(preferred: number): number | undefined {
    const { honest } = this.setup
    for (let k = 0; k < honest; k++) {
      const i = (preferred + k) % honest
      if (this.cluster.nodes[i]!.node !== undefined) return i
    }
    return undefined
  }

  // ---- Byzantine peers --------------------------------------------------------------------

  async startByzantine(): Promise<void> {
    const { setup, cluster } = this
    const coordinates: Coordinate[] = setup.ops.flatMap((op) => (op.type === 'verify' ? [op.coordinate] : []))
    // A seeded half of the honest nodes is told version B of each equivocated register, the rest A.
    const versionBPeers = setup.rng
      .fork('equivocation')
      .shuffle(cluster.nodes.map((n) => n.peerId.toString()))
      .slice(0, Math.floor(setup.honest / 2))
    for (let j = 0; j < setup.byzCount; j++) {
      const b = await startByzantine({
        name: `byz${j}`,
        dataDir: join(setup.baseDir, `byz${j}`),
        networkId: `sim-${setup.seed}`,
        trust: cluster.trust,
        listen: setup.transport === 'memory' ? `/memory/${setup.runId}-byz${j}` : '/ip4/127.0.0.1/tcp/0',
        ...(this.memory === undefined ? {} : { memory: this.memory }),
        behaviours: setup.behaviours,
        victims: cluster.nodes.map((n) => n.publicKey),
        coordinates: [...new Map(coordinates.map((c) => [c.origin, c])).values()],
        versionBPeers,
        rng: setup.rng.fork(`byzantine-${j}`),
      })
      this.byzantine.push(b)
      this.byzantineKeys.add(toHex(b.publicKey))
      await Promise.allSettled(cluster.nodes.map((n) => b.dial(cluster.addressOf(n.index))))
    }
  }

  private async byzantineAct(act: 'phase' | 'attack' | 'revoke'): Promise<void> {
    if (act === 'phase') for (const b of this.byzantine) b.switchPhase()
    // Attacks run beside the timeline, as a real attacker's would.
    if (act === 'attack') this.attacks.push(...this.byzantine.map((b) => b.attack()))
    if (act === 'revoke') await this.revokeByzantine()
  }

  private async revokeByzantine(): Promise<void> {
    const actor = this.firstRunning(0)
    if (actor === undefined) return
    const operator = this.setup.operators[0]!
    for (const b of this.byzantine) {
      const entry = await this.cluster.nodes[actor]!.node!.state.revocations.revoke(
        { subject: b.publicKey, subjectKind: 'peer', reason: `revoke Byzantine ${b.name}` },
        operator,
      )
      this.revocationIds.push(toHex(entry.id))
      this.acknowledged.push({
        store: 'revocations',
        key: toHex(entry.id),
        signer: toHex(operator.publicKey),
        node: this.cluster.nodes[actor]!.name,
      })
    }
  }

  // ---- timeline ---------------------------------------------------------------------------

  /** Starts the timeline's clock and the periodic samples. */
  startSampling(): void {
    this.started = performance.now()
    this.sampler = setInterval(() => this.sample(), this.setup.options.sampleMs ?? 100)
    this.sampler.unref()
  }

  private sample(): void {
    this.samples.push({
      tMs: this.now(),
      distinctRoots: this.distinctRoots(),
      bytesIn: this.bytesIn(),
      records: this.acknowledged.length,
    })
  }

  async playTimeline(items: readonly TimelineItem[]): Promise<void> {
    let lastYield = performance.now()
    for (const item of items) {
      const wait = item.atMs - this.now()
      // Behind schedule, ops would run back to back on microtasks and starve every node's I/O:
      // yield to the loop after each 10 ms of writing, so writes and sync interleave.
      if (wait > 0) {
        await sleep(wait)
        lastYield = performance.now()
      } else if (performance.now() - lastYield > 10) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        lastYield = performance.now()
      }
      await this.playItem(item)
      this.writeMs = this.now()
    }
  }

  private async playItem(item: TimelineItem): Promise<void> {
    if (item.kind === 'fault') {
      this.recordEvent(item.fault.type, describeFault(item.fault))
      await this.applyFaultEvent(item.fault)
      this.progress('running', `${item.fault.type} at ${item.atMs} ms`)
    } else if (item.kind === 'byzantine') {
      this.recordEvent('byzantine', `byzantine ${item.act}`)
      await this.byzantineAct(item.act)
      this.progress('running', `byzantine ${item.act}`)
    } else await this.playOp(item.op)
  }

  private recordEvent(type: AppliedEvent['type'], label: string): void {
    this.events.push({ tMs: this.now(), type, label, distinctRoots: this.distinctRoots() })
  }

  private async playOp(op: WorkloadOp): Promise<void> {
    // Operator acts go through any running node; a crashed node's own writes are lost.
    const node = op.type === 'revoke' || op.type === 'reinstate' ? this.firstRunning(op.node) : op.node
    if (node !== undefined) {
      const ack = await this.cluster.execute({ ...op, node })
      if (ack !== undefined) {
        this.acknowledged.push(ack)
        if (ack.store === 'revocations') this.revocationIds.push(ack.key)
      }
    }
    this.opsDone++
    if (this.opsDone % 500 === 0) this.progress('running')
  }

  // ---- faults -----------------------------------------------------------------------------

  private async applyFaultEvent(fault: FaultEvent): Promise<void> {
    const { cluster } = this
    this.setup.tracer?.({ ev: 'fault', type: fault.type })
    this.partitions.apply(fault)
    if (fault.type === 'crash') await cluster.crash(fault.node)
    else if (fault.type === 'restart') await cluster.start(fault.node)
    else if (fault.type === 'skew') {
      cluster.nodes[fault.node]!.skewMs = fault.offsetMs
      if (cluster.nodes[fault.node]!.node !== undefined) {
        await cluster.crash(fault.node)
        await cluster.start(fault.node)
      }
    }
    await cluster.enforce()
    if (fault.type === 'partition' || fault.type === 'crash') {
      // history-prefix reads only the history, so that is all these mid-run snapshots take.
      if (this.earlier.length < this.setup.honest * 6)
        for (const n of this.running())
          this.earlier.push(snapshotHistory(n.node!.state, { name: n.name, atMs: this.now() }))
    }
  }

  // ---- quiescence -------------------------------------------------------------------------

  /** Restarts crashed nodes, waits for the attacks, then for equal roots held `settleMs`. */
  async converge(): Promise<void> {
    const { options } = this.setup
    for (const n of this.cluster.nodes) if (n.node === undefined) await this.cluster.start(n.index)
    await Promise.allSettled(this.attacks)
    this.progress('converging')
    const quiet = await waitForEqualRoots(
      () => this.now(),
      () => ({
        distinct: traced(this.setup.tracer, this.distinctRoots()),
        lastChangeMs: this.lastChangeMs(),
      }),
      options.convergeTimeoutMs ?? 60_000,
      options.settleMs ?? 400,
    )
    this.convergedAtMs = quiet.equalSince
    this.convergedSeenAtMs = quiet.seenAt
    traceConverged(this.setup.tracer, this.convergedAtMs, this.writeMs, this.now())
    this.sample()
    clearInterval(this.sampler)
  }

  /** Stops the loop-delay measure and returns its figures in milliseconds. */
  stopLoopDelay(): SimReport['eventLoopDelayMs'] {
    // Measured up to quiescence: reading snapshots for the checker blocks the loop on purpose.
    this.loopDelay.disable()
    return {
      p50: this.loopDelay.percentile(50) / 1e6,
      p99: this.loopDelay.percentile(99) / 1e6,
      max: this.loopDelay.max / 1e6,
    }
  }

  // ---- checking and report ----------------------------------------------------------------

  check(): { check: CheckResult; equivocations: ReturnType<typeof equivocationEvidence> } {
    const { setup, cluster, byzantine } = this
    const knownKeys = [...cluster.nodes.map((n) => n.publicKey), ...byzantine.map((b) => b.publicKey)]
    const prefixes = historyPrefixes(this.earlier)
    const final = cluster.nodes.map((n) =>
      snapshotNode(n.node!.state, {
        name: n.name,
        peerId: n.peerId.toString(),
        atMs: this.now(),
        knownKeys,
        historyPrefix: prefixes.get(n.name) ?? 0,
      }),
    )
    const equivocations = equivocationEvidence(byzantine, cluster, this.fromByzantine)
    const check = checkInvariants({
      seed: setup.seed,
      equivocations: equivocations.map((e) => e.evidence),
      final,
      earlier: this.earlier,
      acknowledged: this.acknowledged,
      revocations: this.revocationIds,
      ...(setup.byzCount === 0
        ? {}
        : { byzantine: byzantineExpectation(byzantine, setup.behaviours), refusals: this.refusals }),
      ...(setup.options.forgeryReasons === undefined ? {} : { forgeryReasons: setup.options.forgeryReasons }),
    })
    return { check, equivocations }
  }

  report(
    check: CheckResult,
    equivocations: ReturnType<typeof equivocationEvidence>,
    loopDelay: SimReport['eventLoopDelayMs'],
  ): SimReport {
    const { setup, cluster } = this
    return buildReport({
      name: setup.name,
      seed: setup.seed,
      transport: setup.transport,
      honest: setup.honest,
      byzCount: setup.byzCount,
      ops: setup.ops.length,
      acknowledged: this.acknowledged.length,
      writeMs: this.writeMs,
      lastHeal: lastHealMs(setup.plan),
      convergedAtMs: this.convergedAtMs,
      convergedSeenAtMs: this.convergedSeenAtMs,
      durationMs: this.now(),
      nodes: reportNodes(cluster),
      stored: storedRecords(cluster),
      memory: this.memory,
      refusals: this.refusals,
      plan: setup.plan,
      events: this.events,
      samples: this.samples,
      check,
      loopDelay,
      equivocations: equivocationReport(equivocations, cluster),
      names: new Map(this.byzantine.map((b) => [b.peerId.toString(), b.name])),
    })
  }

  /** Stops everything the run started and, unless kept, removes its data. */
  async close(): Promise<void> {
    if (this.sampler !== undefined) clearInterval(this.sampler)
    this.loopDelay.disable()
    await Promise.allSettled(this.byzantine.map((b) => b.stop()))
    await this.cluster.stopAll()
    this.memory?.close()
    if (this.setup.options.keepData !== true) await rm(this.setup.baseDir, { recursive: true, force: true })
    forgetOnSignal(this.setup.baseDir)
  }
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const setup = await prepareRun(options)
  const items = timeline(options, setup.plan, setup.ops)
  const threads = options.threads ?? 1
  if (threads > 1) return runThreadedScenario(setup, items, threads)
  const partitions = createPartitions()
  const run = new ScenarioRun(setup, partitions, await createRunCluster(setup, partitions))
  try {
    run.progress('starting')
    await run.cluster.startAll()
    await run.startByzantine()
    run.startSampling()
    run.progress('running')
    await run.playTimeline(items)
    await run.converge()
    const loopDelay = run.stopLoopDelay()
    run.progress('checking')
    const { check, equivocations } = run.check()
    const report = run.report(check, equivocations, loopDelay)
    const files = await writeReportFiles(options.reportDir, setup.name, report)
    run.progress('done')
    return { report, check, files }
  } finally {
    await run.close()
  }
}
