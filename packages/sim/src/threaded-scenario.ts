/**
 * `runScenario({ threads: N })` with N > 1: the honest nodes run in N worker threads (node
 * index modulo N, node-thread.ts), while this thread keeps the timeline, the link plan, the
 * workload driver and the checker. Ops go to their node's thread and their acknowledgements come
 * back; up to {@link OPS_IN_FLIGHT} ops per thread are in flight, so the threads write at the same
 * time (a deployment's nodes do not wait for each other's writes) while each thread plays its ops,
 * and so each node's, in timeline order. Faults go to every thread, and the timeline moves on only
 * once every thread applied them (after the ops played before them).
 */
import { rm } from 'node:fs/promises'
import {
  type Acknowledgement,
  type CheckResult,
  checkInvariants,
  type HistorySnapshot,
  historyPrefixes,
} from './checker.js'
import { identitySeed, peerIdFromSeed } from './cluster.js'
import { type FaultEvent, lastHealMs } from './faults.js'
import { NodeThreads } from './node-threads.js'
import { sleep, waitForEqualRoots } from './quiescence.js'
import { type AppliedEvent, describeFault, type Sample, type SimReport } from './report.js'
import type { Progress, RunSetup, ScenarioResult, TimelineItem } from './scenario.js'
import { writeReportFiles } from './scenario.js'
import { forgetOnSignal, haltOnSignal } from './scratch.js'
import { buildReport, mergedNetwork } from './summary.js'
import type { ThreadCollect } from './thread-protocol.js'
import { threadOf } from './thread-protocol.js'
import { traceConverged, traced } from './trace.js'
import type { WorkloadOp } from './workload.js'

/**
 * Ops per thread sent and not yet acknowledged. A thread plays them one after another and yields
 * to its nodes' I/O every 10 ms, so the window only has to cover the round trip to a busy thread
 * (its event loop's delay, up to a second or two at 16 nodes per thread) at the write pace.
 */
export const OPS_IN_FLIGHT = 64

class ThreadedRun {
  private readonly acknowledged: Acknowledgement[] = []
  private readonly revocationIds: string[] = []
  private readonly earlier: HistorySnapshot[] = []
  private readonly samples: Sample[] = []
  private readonly events: AppliedEvent[] = []
  private readonly inFlight: Set<Promise<void>>[]
  private sampler: ReturnType<typeof setInterval> | undefined
  private started = performance.now()
  private opsDone = 0
  private writeMs = 0
  private convergedAtMs = -1
  private convergedSeenAtMs = -1
  /** When a node of any thread last changed its records (epoch ms), as the last roots answers said. */
  private lastChangeAt = 0
  private distinct = 0
  private bytesIn = 0
  private refreshing: Promise<void> | undefined

  constructor(
    private readonly setup: RunSetup,
    readonly threads: NodeThreads,
    private readonly knownKeys: Uint8Array[],
  ) {
    this.inFlight = Array.from({ length: threads.count }, () => new Set())
  }

  now(): number {
    return performance.now() - this.started
  }

  /** Distinct root sets and bytes received, asked of every thread (one question at a time). */
  private refresh(): Promise<void> {
    this.refreshing ??= this.threads
      .all<'roots'>({ type: 'roots' })
      .then((replies) => {
        this.distinct = new Set(replies.flatMap((r) => r.roots)).size
        this.lastChangeAt = Math.max(...replies.map((r) => r.lastChangeAt))
        this.bytesIn = replies.reduce((sum, r) => sum + r.bytesIn, 0)
      })
      .finally(() => {
        this.refreshing = undefined
      })
    return this.refreshing
  }

  progress(phase: Progress['phase'], event?: string): void {
    this.setup.options.onProgress?.({
      phase,
      tMs: this.now(),
      opsDone: this.opsDone,
      opsTotal: this.setup.ops.length,
      distinctRoots: this.distinct,
      bytesIn: this.bytesIn,
      ...(event === undefined ? {} : { event }),
    })
  }

  startSampling(): void {
    this.started = performance.now()
    this.sampler = setInterval(() => {
      this.sample()
      this.refresh().catch(() => {}) // a failed thread fails the run through its next request
    }, this.setup.options.sampleMs ?? 100)
    this.sampler.unref()
  }

  private sample(): void {
    const { distinct: distinctRoots, bytesIn } = this
    this.samples.push({ tMs: this.now(), distinctRoots, bytesIn, records: this.acknowledged.length })
  }

  async playTimeline(items: readonly TimelineItem[]): Promise<void> {
    for (const item of items) {
      const wait = item.atMs - this.now()
      if (wait > 0) await sleep(wait)
      if (item.kind === 'op') await this.sendOp(item.op)
      else if (item.kind === 'fault') await this.applyFault(item.fault)
    }
    await Promise.all(this.inFlight.flatMap((set) => [...set]))
    this.writeMs = this.now()
  }

  /** Sends an op to its node's thread once that thread has a free slot in its window. */
  private async sendOp(op: WorkloadOp): Promise<void> {
    const thread = threadOf(op.node, this.threads.count)
    const window = this.inFlight[thread]!
    while (window.size >= OPS_IN_FLIGHT) await Promise.race(window)
    const done: Promise<void> = this.threads.request<'ack'>(thread, { type: 'op', op }).then(({ ack }) => {
      window.delete(done)
      this.acknowledge(ack)
    })
    done.catch(() => {}) // handled where it is awaited (the window, the end of the timeline)
    window.add(done)
  }

  private acknowledge(ack: Acknowledgement | undefined): void {
    if (ack !== undefined) {
      this.acknowledged.push(ack)
      if (ack.store === 'revocations') this.revocationIds.push(ack.key)
    }
    this.opsDone++
    if (this.opsDone % 500 === 0) this.progress('running')
  }

  private async applyFault(fault: FaultEvent): Promise<void> {
    this.events.push({
      tMs: this.now(),
      type: fault.type,
      label: describeFault(fault),
      distinctRoots: this.distinct,
    })
    // history-prefix reads only the history, so that is all these mid-run snapshots take.
    this.setup.tracer?.({ ev: 'fault', type: fault.type })
    const history = fault.type === 'partition' && this.earlier.length < this.setup.honest * 6
    const replies = await this.threads.all<'done'>({ type: 'fault', fault, atMs: this.now(), history })
    for (const r of replies) this.earlier.push(...r.earlier)
    this.progress('running', `${fault.type} at ${fault.atMs} ms`)
  }

  /** Waits for equal roots held `settleMs` (or the timeout). */
  async converge(): Promise<void> {
    const { options } = this.setup
    this.progress('converging')
    const quiet = await waitForEqualRoots(
      () => this.now(),
      async () => {
        await this.refresh()
        return {
          distinct: traced(this.setup.tracer, this.distinct),
          lastChangeMs: this.lastChangeAt - (performance.timeOrigin + this.started),
        }
      },
      options.convergeTimeoutMs ?? 60_000,
      options.settleMs ?? 400,
    )
    this.convergedAtMs = quiet.equalSince
    this.convergedSeenAtMs = quiet.seenAt
    traceConverged(this.setup.tracer, this.convergedAtMs, this.writeMs, this.now())
    this.sample()
    clearInterval(this.sampler)
  }

  async check(): Promise<CheckResult> {
    const { setup } = this
    const replies = await this.threads.all<'snapshot'>({
      type: 'snapshot',
      atMs: this.now(),
      knownKeys: this.knownKeys,
      historyPrefixes: historyPrefixes(this.earlier),
    })
    const final = replies.flatMap((r) => r.snapshots).sort((a, b) => a.index - b.index)
    return checkInvariants({
      seed: setup.seed,
      equivocations: [],
      final: final.map(({ index: _, ...snapshot }) => snapshot),
      earlier: this.earlier,
      acknowledged: this.acknowledged,
      revocations: this.revocationIds,
      ...(setup.options.forgeryReasons === undefined ? {} : { forgeryReasons: setup.options.forgeryReasons }),
    })
  }

  report(check: CheckResult, collects: readonly ThreadCollect[]): SimReport {
    const { setup } = this
    const nodes = collects.flatMap((c) => c.nodes).sort((a, b) => a.index - b.index)
    return buildReport({
      name: setup.name,
      seed: setup.seed,
      transport: setup.transport,
      honest: setup.honest,
      byzCount: 0,
      ops: setup.ops.length,
      acknowledged: this.acknowledged.length,
      writeMs: this.writeMs,
      lastHeal: lastHealMs(setup.plan),
      convergedAtMs: this.convergedAtMs,
      convergedSeenAtMs: this.convergedSeenAtMs,
      durationMs: this.now(),
      nodes: nodes.map(({ index: _, ...n }) => n),
      // Thread 0 hosts node 0, the first node.
      stored: collects[0]!.stored,
      memory: mergedNetwork(collects),
      refusals: collects.flatMap((c) => c.refusals),
      plan: setup.plan,
      events: this.events,
      samples: this.samples,
      check,
      // The nodes' loops are the threads': the worst thread's figures.
      loopDelay: {
        p50: Math.max(...collects.map((c) => c.loopDelay.p50)),
        p99: Math.max(...collects.map((c) => c.loopDelay.p99)),
        max: Math.max(...collects.map((c) => c.loopDelay.max)),
      },
    })
  }

  async close(): Promise<void> {
    if (this.sampler !== undefined) clearInterval(this.sampler)
    await this.threads.close()
    if (this.setup.options.keepData !== true) await rm(this.setup.baseDir, { recursive: true, force: true })
    forgetOnSignal(this.setup.baseDir)
  }
}

/** Starts the node threads of `setup`'s run: node i in thread i mod `count`. */
function startThreads(setup: RunSetup, count: number): NodeThreads {
  const { options } = setup
  return new NodeThreads(
    Array.from({ length: count }, (_, thread) => ({
      thread,
      threads: count,
      seed: setup.seed,
      runId: setup.runId,
      baseDir: setup.baseDir,
      networkId: `sim-${setup.seed}`,
      nodes: setup.honest,
      operators: setup.operators.length,
      sync: options.sync,
      verifyThreads: options.verifyThreads ?? 0,
      ...(options.tracePath === undefined ? {} : { tracePath: options.tracePath }),
    })),
  )
}

export async function runThreadedScenario(
  setup: RunSetup,
  items: readonly TimelineItem[],
  count: number,
): Promise<ScenarioResult> {
  const clusterRng = setup.rng.fork('cluster')
  const knownKeys: Uint8Array[] = []
  for (let i = 0; i < setup.honest; i++)
    knownKeys.push((await peerIdFromSeed(identitySeed(clusterRng, i))).publicKey!.raw)
  const run = new ThreadedRun(setup, startThreads(setup, count), knownKeys)
  // On SIGINT/SIGTERM the threads stop their nodes (LMDB closed) before the store directory goes
  // (scratch.ts). Not `terminate()` at once: terminating a worker inside a native call can abort
  // the whole process (a CI run of the signals test ended by SIGABRT; node-addon-api's fatal error
  // on a terminating environment); `close()` terminates only threads whose nodes have stopped.
  const unhalt = haltOnSignal(() => run.threads.close())
  try {
    run.progress('starting')
    await run.threads.started()
    run.startSampling()
    run.progress('running')
    await run.playTimeline(items)
    await run.converge()
    const collects = (await run.threads.all<'collect'>({ type: 'collect' })).map((r) => r.collect)
    run.progress('checking')
    const check = await run.check()
    const report = run.report(check, collects)
    const files = await writeReportFiles(setup.options.reportDir, setup.name, report)
    run.progress('done')
    return { report, check, files }
  } finally {
    unhalt()
    await run.close()
  }
}
