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
import type { ThreadCollect, ThreadReply } from './thread-protocol.js'
import { threadOf } from './thread-protocol.js'
import { traceConverged, traced } from './trace.js'
import type { WorkloadOp } from './workload.js'

/**
 * Ops per thread sent and not yet acknowledged. A thread plays them one after another and yields
 * to its nodes' I/O every 10 ms, so the window only has to cover the round trip to a busy thread
 * (its event loop's delay, up to a second or two at 16 nodes per thread) at the write pace.
 */
export const OPS_IN_FLIGHT = 64

/**
 * The harness's ops, one queue and one window of {@link OPS_IN_FLIGHT} per thread. The timeline
 * hands every op over at once (`enqueue`); each thread's queue goes out as its own window frees,
 * so a thread that falls behind holds back only its own ops. With one window shared by the
 * timeline (before session 17), an op for a thread whose window was full stopped the timeline,
 * and the other thread, once through its window, idled until the slow one acknowledged one: the
 * node threads of a push-7 profile were idle 3-6 % of the write window. Ops of one thread still go
 * out in timeline order (so each node's ops do), and `sent` lets a fault wait until every op
 * before it is in its thread's hands (the thread plays the fault after them).
 */
export class OpDispatcher<Ack> {
  /** Per thread: the ops not yet sent, from `heads[thread]` on (no `shift`: queues hold thousands). */
  private readonly queues: WorkloadOp[][]
  private readonly heads: number[]
  private readonly inFlight: number[]
  private readonly waiters: (() => void)[] = []
  private failure: unknown
  private hasFailed = false

  constructor(
    private readonly threads: number,
    private readonly send: (thread: number, op: WorkloadOp) => Promise<Ack>,
    private readonly onAck: (ack: Ack) => void,
    private readonly window = OPS_IN_FLIGHT,
  ) {
    this.queues = Array.from({ length: threads }, () => [])
    this.heads = Array.from({ length: threads }, () => 0)
    this.inFlight = Array.from({ length: threads }, () => 0)
  }

  enqueue(op: WorkloadOp): void {
    const thread = threadOf(op.node, this.threads)
    this.queues[thread]!.push(op)
    this.pump(thread)
  }

  /** Ops queued and not yet sent, and sent and not yet acknowledged, of `thread`. */
  pending(thread: number): { queued: number; inFlight: number } {
    return { queued: this.queued(thread), inFlight: this.inFlight[thread]! }
  }

  /** Resolves once every op enqueued so far went out to its thread; rejects on a failed op. */
  sent(): Promise<void> {
    return this.until(() => this.queues.every((_, t) => this.queued(t) === 0))
  }

  /** Resolves once every op enqueued so far was acknowledged; rejects on a failed op. */
  settled(): Promise<void> {
    return this.until(() => this.queues.every((_, t) => this.queued(t) === 0 && this.inFlight[t] === 0))
  }

  private queued(thread: number): number {
    return this.queues[thread]!.length - this.heads[thread]!
  }

  private until(done: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.hasFailed) reject(this.failure)
        else if (done()) resolve()
        else this.waiters.push(check)
      }
      check()
    })
  }

  private pump(thread: number): void {
    const queue = this.queues[thread]!
    while (!this.hasFailed && this.queued(thread) > 0 && this.inFlight[thread]! < this.window) {
      const op = queue[this.heads[thread]!]!
      this.heads[thread]!++
      if (this.heads[thread] === queue.length) {
        queue.length = 0
        this.heads[thread] = 0
      }
      this.inFlight[thread]!++
      this.send(thread, op).then(
        (ack) => {
          this.inFlight[thread]!--
          this.onAck(ack)
          this.pump(thread)
          this.wake()
        },
        (error: unknown) => {
          this.hasFailed = true
          this.failure = error
          this.wake()
        },
      )
    }
    this.wake()
  }

  private wake(): void {
    for (const check of this.waiters.splice(0)) check()
  }
}

class ThreadedRun {
  private readonly acknowledged: Acknowledgement[] = []
  private readonly revocationIds: string[] = []
  private readonly earlier: HistorySnapshot[] = []
  /** The mid-run history snapshots asked of the threads, one `all` per partition (at most 6). */
  private readonly histories: Promise<Extract<ThreadReply, { type: 'history' }>[]>[] = []
  private readonly samples: Sample[] = []
  private readonly events: AppliedEvent[] = []
  private readonly ops: OpDispatcher<Acknowledgement | undefined>
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
    this.ops = new OpDispatcher(
      threads.count,
      (thread, op) => threads.request<'ack'>(thread, { type: 'op', op }).then((r) => r.ack),
      (ack) => this.acknowledge(ack),
    )
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
      if (item.kind === 'op') this.ops.enqueue(item.op)
      else if (item.kind === 'fault') {
        // Every op before the fault in its thread's hands: each thread plays the fault after them.
        await this.ops.sent()
        await this.applyFault(item.fault)
      }
    }
    await this.ops.settled()
    this.writeMs = this.now()
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
    this.setup.tracer?.({ ev: 'fault', type: fault.type })
    const atMs = this.now()
    const applied = this.threads.all<'done'>({ type: 'fault', fault, atMs })
    // history-prefix reads only the history, so that is all these mid-run snapshots take. Asked
    // right behind the fault, so each thread takes them before its later ops; not waited for here:
    // the second one took 1.8 s per thread in a push-7 profile (5,000 entries per node), and a
    // thread done with its own went idle until the other's was done too (README, "Session 17").
    if (fault.type === 'partition' && this.histories.length < 6) {
      const taken = this.threads.all<'history'>({ type: 'history', atMs })
      taken.catch(() => {}) // awaited in `check`; a failed thread fails the run through its requests
      this.histories.push(taken)
    }
    await applied
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
    for (const replies of await Promise.all(this.histories))
      for (const r of replies) this.earlier.push(...r.earlier)
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
