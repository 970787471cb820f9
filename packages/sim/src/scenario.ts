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
import { createRng } from './prng.js'
import {
  type AppliedEvent,
  describeFault,
  type EquivocationReport,
  renderChart,
  reportJson,
  type Sample,
  type SimReport,
} from './report.js'
import { rootTriple, snapshotHistory, snapshotNode } from './snapshot.js'
import { buildReport } from './summary.js'
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
  /** Reasons an honest peer must never be blamed for (default {@link DEFAULT_FORGERY_REASONS}). */
  readonly forgeryReasons?: readonly string[]
  readonly onProgress?: (progress: Progress) => void
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

type TimelineItem =
  | { readonly atMs: number; readonly kind: 'op'; readonly op: WorkloadOp }
  | { readonly atMs: number; readonly kind: 'fault'; readonly fault: FaultEvent }
  | { readonly atMs: number; readonly kind: 'byzantine'; readonly act: 'phase' | 'attack' | 'revoke' }

/**
 * Where node data lives by default: tmpfs when the machine has one, so tens of LMDB environments
 * in one process do not queue on the disk's fsyncs (the crash tests use real processes and disk).
 */
export function scratchDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

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
  const plan = resolvePlan(options)
  validateFaultPlan(plan, options.nodes)
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

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const plan = validateScenario(options)
  const seed = String(options.seed)
  const rng = createRng(seed)
  const name = options.name ?? `sim-${seed}`
  const transport = options.transport ?? 'memory'
  const honest = options.nodes
  const byzCount = options.byzantine === undefined ? 0 : (options.byzantine.count ?? 1)
  // One list for the peers and the checker, so defaulted behaviours are checked too.
  const behaviours = options.byzantine?.behaviours ?? DEFAULT_BYZANTINE_BEHAVIOURS
  const ops = planWorkload(
    { ...options.workload, nodes: honest, operators: options.operators ?? 1 },
    rng.fork('workload'),
  )
  const items = timeline(options, plan, ops)
  const baseDir = options.dir ?? (await mkdtemp(join(scratchDir(), 'provsync-sim-')))
  await mkdir(baseDir, { recursive: true })
  // Memory addresses are process-wide: the run id keeps concurrent runs (and replays) apart.
  const runId = `${name}-${randomBytes(4).toString('hex')}`
  const operators: Signer[] = Array.from({ length: options.operators ?? 1 }, (_, i) =>
    signerFromSeed(rng.fork(`operator-${i}`).bytes(32)),
  )

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
  const memory: MemoryNetwork | undefined =
    transport === 'memory'
      ? await createMemoryNetwork(`/memory/${runId}-`, table, rng.fork('links'))
      : undefined
  const refusals: Refusal[] = []
  // Records honest nodes pulled straight from a Byzantine peer: the evidence of whom it told what.
  const byzantineKeys = new Set<string>()
  const fromByzantine: Received[] = []
  const cluster: Cluster = await createCluster({
    runId,
    baseDir,
    networkId: `sim-${seed}`,
    nodes: honest,
    transport,
    operators,
    table,
    memory,
    rng: rng.fork('cluster'),
    ...(options.sync === undefined ? {} : { sync: options.sync }),
    onRefusal: (r) => refusals.push(r),
    onReceived: (r) => {
      if (byzantineKeys.has(r.from) && r.status !== 'refused') fromByzantine.push(r)
    },
  })
  for (const n of cluster.nodes) indexOf.set(n.peerId.toString(), n.index)
  for (const f of plan) if (f.type === 'skew' && f.atMs <= 0) cluster.nodes[f.node]!.skewMs = f.offsetMs

  const byzantine: ByzantineNode[] = []
  const acknowledged: Acknowledgement[] = []
  const revocationIds: string[] = []
  const earlier: HistorySnapshot[] = []
  const samples: Sample[] = []
  const events: AppliedEvent[] = []
  let opsDone = 0
  let started = performance.now()
  const now = (): number => performance.now() - started
  const running = () => cluster.nodes.filter((n) => n.node !== undefined)
  const bytesIn = (): number =>
    memory?.totalBytesReceived() ?? cluster.nodes.reduce((sum, n) => sum + n.stats.syncBytesIn, 0)
  const distinctRoots = (): number => new Set(running().map((n) => rootTriple(n.node!.state))).size
  const progress = (phase: Progress['phase'], event?: string): void =>
    options.onProgress?.({
      phase,
      tMs: now(),
      opsDone,
      opsTotal: ops.length,
      distinctRoots: distinctRoots(),
      bytesIn: bytesIn(),
      ...(event === undefined ? {} : { event }),
    })

  const firstRunning = (preferred: number): number | undefined => {
    for (let k = 0; k < honest; k++) {
      const i = (preferred + k) % honest
      if (cluster.nodes[i]!.node !== undefined) return i
    }
    return undefined
  }

  async function applyFaultEvent(fault: FaultEvent): Promise<void> {
    links = applyFault(links, fault)
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
      if (earlier.length < honest * 6)
        for (const n of running()) earlier.push(snapshotHistory(n.node!.state, { name: n.name, atMs: now() }))
    }
  }

  async function byzantineAct(act: 'phase' | 'attack' | 'revoke'): Promise<void> {
    if (act === 'phase') for (const b of byzantine) b.switchPhase()
    // Attacks run beside the timeline, as a real attacker's would.
    if (act === 'attack') attacks.push(...byzantine.map((b) => b.attack()))
    if (act === 'revoke') {
      const actor = firstRunning(0)
      if (actor === undefined) return
      for (const b of byzantine) {
        const entry = await cluster.nodes[actor]!.node!.state.revocations.revoke(
          { subject: b.publicKey, subjectKind: 'peer', reason: `revoke Byzantine ${b.name}` },
          operators[0]!,
        )
        revocationIds.push(toHex(entry.id))
        acknowledged.push({
          store: 'revocations',
          key: toHex(entry.id),
          signer: toHex(operators[0]!.publicKey),
          node: cluster.nodes[actor]!.name,
        })
      }
    }
  }

  const attacks: Promise<void>[] = []
  // Every node shares this thread: the loop's delay tells whether the harness itself was the limit.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 })
  loopDelay.enable()
  let sampler: ReturnType<typeof setInterval> | undefined
  let writeMs = 0
  let convergedAtMs = -1
  try {
    progress('starting')
    await cluster.startAll()
    const coordinates: Coordinate[] = ops.flatMap((op) => (op.type === 'verify' ? [op.coordinate] : []))
    // A seeded half of the honest nodes is told version B of each equivocated register, the rest A.
    const versionBPeers = rng
      .fork('equivocation')
      .shuffle(cluster.nodes.map((n) => n.peerId.toString()))
      .slice(0, Math.floor(honest / 2))
    for (let j = 0; j < byzCount; j++) {
      const b = await startByzantine({
        name: `byz${j}`,
        dataDir: join(baseDir, `byz${j}`),
        networkId: `sim-${seed}`,
        trust: cluster.trust,
        listen: transport === 'memory' ? `/memory/${runId}-byz${j}` : '/ip4/127.0.0.1/tcp/0',
        behaviours,
        victims: cluster.nodes.map((n) => n.publicKey),
        coordinates: [...new Map(coordinates.map((c) => [c.origin, c])).values()],
        versionBPeers,
        rng: rng.fork(`byzantine-${j}`),
      })
      byzantine.push(b)
      byzantineKeys.add(toHex(b.publicKey))
      await Promise.allSettled(cluster.nodes.map((n) => b.dial(cluster.addressOf(n.index))))
    }
    started = performance.now()
    sampler = setInterval(
      () =>
        samples.push({
          tMs: now(),
          distinctRoots: distinctRoots(),
          bytesIn: bytesIn(),
          records: acknowledged.length,
        }),
      options.sampleMs ?? 100,
    )
    sampler.unref()
    progress('running')
    let lastYield = performance.now()
    for (const item of items) {
      const wait = item.atMs - now()
      // Behind schedule, ops would run back to back on microtasks and starve every node's I/O:
      // yield to the loop after each 10 ms of writing, so writes and sync interleave.
      if (wait > 0) {
        await sleep(wait)
        lastYield = performance.now()
      } else if (performance.now() - lastYield > 10) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        lastYield = performance.now()
      }
      if (item.kind === 'fault') {
        events.push({
          tMs: now(),
          type: item.fault.type,
          label: describeFault(item.fault),
          distinctRoots: distinctRoots(),
        })
        await applyFaultEvent(item.fault)
        progress('running', `${item.fault.type} at ${item.atMs} ms`)
      } else if (item.kind === 'byzantine') {
        events.push({
          tMs: now(),
          type: 'byzantine',
          label: `byzantine ${item.act}`,
          distinctRoots: distinctRoots(),
        })
        await byzantineAct(item.act)
        progress('running', `byzantine ${item.act}`)
      } else {
        const op = item.op
        // Operator acts go through any running node; a crashed node's own writes are lost.
        const node = op.type === 'revoke' || op.type === 'reinstate' ? firstRunning(op.node) : op.node
        if (node !== undefined) {
          const ack = await cluster.execute({ ...op, node })
          if (ack !== undefined) {
            acknowledged.push(ack)
            if (ack.store === 'revocations') revocationIds.push(ack.key)
          }
        }
        opsDone++
        if (opsDone % 500 === 0) progress('running')
      }
      writeMs = now()
    }
    for (const n of cluster.nodes) if (n.node === undefined) await cluster.start(n.index)
    await Promise.allSettled(attacks)
    progress('converging')
    const deadline = now() + (options.convergeTimeoutMs ?? 60_000)
    const settle = options.settleMs ?? 400
    let equalSince = -1
    while (now() < deadline) {
      if (distinctRoots() === 1) {
        if (equalSince < 0) equalSince = now()
        if (now() - equalSince >= settle) break
      } else equalSince = -1
      await sleep(100)
    }
    convergedAtMs = equalSince >= 0 && now() - equalSince >= settle ? equalSince : -1
    samples.push({
      tMs: now(),
      distinctRoots: distinctRoots(),
      bytesIn: bytesIn(),
      records: acknowledged.length,
    })
    clearInterval(sampler)
    // Measured up to quiescence: reading snapshots for the checker blocks the loop on purpose.
    loopDelay.disable()
    const loopDelayMs = {
      p50: loopDelay.percentile(50) / 1e6,
      p99: loopDelay.percentile(99) / 1e6,
      max: loopDelay.max / 1e6,
    }
    progress('checking')
    const knownKeys = [...cluster.nodes.map((n) => n.publicKey), ...byzantine.map((b) => b.publicKey)]
    const final = cluster.nodes.map((n) =>
      snapshotNode(n.node!.state, { name: n.name, peerId: n.peerId.toString(), atMs: now(), knownKeys }),
    )
    const equivocations = equivocationEvidence(byzantine, cluster, fromByzantine)
    const check = checkInvariants({
      seed,
      equivocations: equivocations.map((e) => e.evidence),
      final,
      earlier,
      acknowledged,
      revocations: revocationIds,
      ...(byzCount === 0
        ? {}
        : {
            byzantine: {
              peerIds: byzantine.map((b) => b.peerId.toString()),
              forged: byzantine.flatMap((b) => b.forged) as ByzantineExpectation['forged'],
              behaviours: behaviours.flatMap((b) => {
                const reasons = CAUGHT_BY[b]
                return reasons === undefined ? [] : [{ name: b, reasons }]
              }),
            },
            refusals,
          }),
      ...(options.forgeryReasons === undefined ? {} : { forgeryReasons: options.forgeryReasons }),
    })
    const report = buildReport({
      name,
      seed,
      transport,
      honest,
      byzCount,
      ops: ops.length,
      acknowledged: acknowledged.length,
      writeMs,
      lastHeal: lastHealMs(plan),
      convergedAtMs,
      durationMs: now(),
      cluster,
      memory,
      refusals,
      plan,
      events,
      samples,
      check,
      loopDelay: loopDelayMs,
      equivocations: equivocationReport(equivocations, cluster),
      names: new Map(byzantine.map((b) => [b.peerId.toString(), b.name])),
    })
    const files: string[] = []
    if (options.reportDir !== undefined) {
      await mkdir(options.reportDir, { recursive: true })
      const json = join(options.reportDir, `${name}.json`)
      const svg = join(options.reportDir, `${name}.svg`)
      await writeFile(json, reportJson(report))
      await writeFile(svg, renderChart(report))
      files.push(json, svg)
    }
    progress('done')
    return { report, check, files }
  } finally {
    if (sampler !== undefined) clearInterval(sampler)
    loopDelay.disable()
    await Promise.allSettled(byzantine.map((b) => b.stop()))
    await cluster.stopAll()
    memory?.close()
    if (options.keepData !== true) await rm(baseDir, { recursive: true, force: true })
  }
}
