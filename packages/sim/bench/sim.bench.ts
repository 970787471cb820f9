/**
 * Suite `sim`: 32 nodes on the memory transport, 10k records written while the network goes
 * through two partitions (halves, then two halves joined by one bridge node), then healed.
 *   converge_ms_after_heal     time from the last heal (or last write, if later) to equal roots everywhere:
 *                              the last change of any node before a count found the roots equal
 *   converge_seen_ms_after_heal  the same up to that count (it adds the harness's and threads' lateness)
 *   bytes_per_record_per_node  bytes all nodes received / (records x (nodes - 1)); ideal: one record's size
 *   check_violations           the checker's verdict on the run (0 = every invariant holds)
 *   <protocol>_bytes_per_record_per_node  the same bytes split by libp2p protocol (reconcile, fetch,
 *                              pubsub) and the rest (framing: the muxer, noise, negotiation)
 *   push_bytes_per_record_per_node  the same for eager push (`/provsync/push/`)
 *   sim_write_efficiency       records written per second over the run's verification bound:
 *                              cores / (nodes x one thread's verify time per record), the rate at
 *                              which every node could verify every record if that were all it did;
 *                              the verify time is measured before and after the scenario (mean)
 * Eager push is on (`push: {}`); `--push=off` runs the pull-only baseline with the same figures.
 * Verification runs as a deployment's node runs it: on crdt's shared pool, one worker per core but
 * one (at most 3), shared by all the nodes of the process; `--verify-threads=0` verifies on the
 * harness thread (the figures before session 9).
 * `--threads=N` runs the nodes in N worker threads (`ScenarioOptions.threads`; default: one per
 * core, at most 2: they won both quiet pairs, see the README), each with its own verifier pool of `--verify-threads` workers
 * (default 0 when threaded: the node threads already fill the cores). `threads` and
 * `process_cpu_us_per_record_per_node` (every thread of the process, from /proc/self/stat) are
 * recorded beside the harness thread's CPU.
 * `--quick`: 8 nodes, 1k records, same figure names; `--nodes=N --records=M` to explore;
 * `--seed=S` another workload and fault schedule; `--faults=none` the same writes without partitions;
 * `--trace=FILE` appends the run's trace (a probe: connections, sessions, batches, root counts) to FILE.
 */
import { readFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  decodeAssertion,
  defaultVerifyThreads,
  generateSigner,
  signedMessage,
  verifySignature,
} from '@provsync/crdt'
import { DEFAULT_SIM_SYNC, formatCheck, runScenario } from '@provsync/sim'
import * as testing from '@provsync/testing'
import { rate, runSuite } from '../../../bench/lib.js'
import { bridged, halves } from '../src/faults.js'

/** One thread's sodium verification time per record (µs), over 512 signed assertions. */
function verifyMicros(): number {
  const network = 'provsync-sim-bench'
  const items = testing.signedAssertions(generateSigner(), 512, { networkId: network }).map((bytes) => ({
    publicKey: decodeAssertion(bytes, network).asserter,
    message: signedMessage('assertion', network, bytes),
    signature: bytes.subarray(bytes.length - 64),
  }))
  let next = 0
  const perSecond = rate(
    () => {
      const item = items[next++ % items.length]!
      if (!verifySignature(item.publicKey, item.message, item.signature)) throw new Error('bad signature')
    },
    { minMs: 1000 },
  )
  return 1e6 / perSecond
}

/**
 * CPU time (ms) of this process's main thread so far, from Linux's /proc (the clock-tick counters
 * utime + stime of the thread whose id is the process id); undefined elsewhere. Unlike wall time it
 * hardly moves with the machine's load, so it compares per-record work across runs on a shared machine.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 (utime, stime) of proc(5), counted from the state field (3).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S
  } catch {
    return undefined
  }
}
/** CPU time (ms) of the whole process so far, all threads (utime + stime of /proc/self/stat). */
function processCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S
  } catch {
    return undefined
  }
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_S = 100

const arg = (args: readonly string[], name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)

await runSuite('sim', async (ctx) => {
  const nodes = Number(arg(ctx.args, 'nodes') ?? (ctx.quick ? 8 : 32))
  const operations = Number(arg(ctx.args, 'records') ?? (ctx.quick ? 1_000 : 10_000))
  const push = arg(ctx.args, 'push') !== 'off'
  const pushDelay = arg(ctx.args, 'push-delay')
  const pushDelayMs = pushDelay === undefined ? undefined : Number(pushDelay)
  const durationMs = ctx.quick ? 3_000 : 8_000
  // One node thread per core, at most 2: on a quiet machine two threads wrote 111 and 134 records/s
  // against one thread's 88 and 102 in alternated pairs (README, "Session 12, quiet re-measure").
  const threads = Number(arg(ctx.args, 'threads') ?? Math.min(2, availableParallelism()))
  const verifyThreads = Number(arg(ctx.args, 'verify-threads') ?? (threads > 1 ? 0 : defaultVerifyThreads()))
  const loadBefore = loadavg()[0]!
  const verifyBefore = verifyMicros()
  console.error(
    `  push ${push ? 'on' : 'off'}; threads ${threads}; verify threads ${verifyThreads}; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  )
  const cpuBefore = mainThreadCpuMs()
  const processCpuBefore = processCpuMs()
  const { report, check, files } = await runScenario({
    name: 'bench',
    seed: arg(ctx.args, 'seed') ?? 'bench-1',
    nodes,
    workload: { operations, durationMs, mix: { verify: 0.7, supersede: 0.3 }, coordinates: 2_000 },
    faults:
      arg(ctx.args, 'faults') === 'none'
        ? []
        : [
            { type: 'partition', atMs: durationMs * 0.1, groups: halves(nodes) },
            { type: 'heal', atMs: durationMs * 0.4 },
            { type: 'partition', atMs: durationMs * 0.5, groups: bridged(nodes, 0) },
            { type: 'heal', atMs: durationMs },
          ],
    convergeTimeoutMs: 120_000,
    // Announcements at deployment pace: at the sim's 50 ms debounce every apply re-announces and
    // 32 nodes spend the run in an announcement storm (see the package README).
    sync: {
      ...DEFAULT_SIM_SYNC,
      // With push, announcements are the lazy path: a push neighbour's start no pull while pushes
      // arrive, so they are sent at a quarter of the pace (every 2 s, at most 8 s under writes).
      announce: push ? { debounceMs: 2_000, maxWaitMs: 8_000 } : { debounceMs: 500, maxWaitMs: 2_000 },
      ...(push ? { push: pushDelayMs === undefined ? {} : { delayMs: pushDelayMs } } : {}),
    },
    sampleMs: 250,
    verifyThreads,
    threads,
    reportDir: join(tmpdir(), 'provsync-sim-bench'),
    ...(arg(ctx.args, 'trace') === undefined ? {} : { tracePath: arg(ctx.args, 'trace')! }),
    onProgress: (p) => {
      if (p.event !== undefined || p.phase !== 'running')
        console.error(
          `  [${(p.tMs / 1000).toFixed(1)} s] ${p.phase} ops ${p.opsDone}/${p.opsTotal} root sets ${p.distinctRoots} ${p.event ?? ''}`,
        )
    },
  })
  const cpuAfter = mainThreadCpuMs()
  const processCpuAfter = processCpuMs()
  const verifyUs = (verifyBefore + verifyMicros()) / 2
  const loadAfter = loadavg()[0]!
  console.error(`  report: ${files.join(', ')}; blamed honest peers: ${JSON.stringify(report.blamedHonest)}`)
  console.error(`  failed sessions: ${JSON.stringify(report.sessions.errors)}`)
  // A failed check is a result too: it is printed, counted, and the figures stay comparable.
  if (!check.ok) console.error(formatCheck(check).split('\n').slice(0, 6).join('\n'))
  ctx.record('check_violations', check.violations.length, 'violations')
  const b = report.bytes
  ctx.record('converge_ms_after_heal', Math.round(report.convergeMsAfterHeal), 'ms')
  // When the harness's count first saw the roots equal (the measure before session 13).
  ctx.record('converge_seen_ms_after_heal', Math.round(report.convergeSeenMsAfterHeal), 'ms')
  ctx.record('bytes_per_record_per_node', Math.round(b.perRecordPerNode), 'B')
  ctx.record('bytes_per_record_per_node_vs_record_size', b.perRecordPerNode / b.meanRecordBytes, 'x')
  ctx.record('sync_bytes_per_record_per_node', Math.round(b.syncPerRecordPerNode), 'B')
  ctx.record('sync_bytes_per_record_per_node_vs_record_size', b.syncPerRecordPerNode / b.meanRecordBytes, 'x')
  ctx.record('pulls_per_record_per_node', report.pulls.perRecordPerNode, 'pulls')
  // Where the bytes per record per node go, by protocol; the remainder is framing and encryption.
  const perRecordPerNode = (bytes: number) => (b.totalIn > 0 ? (bytes / b.totalIn) * b.perRecordPerNode : 0)
  const ofProtocol = (prefix: string) =>
    Object.entries(b.byProtocol)
      .filter(([protocol]) => protocol.startsWith(prefix))
      .reduce((sum, [, n]) => sum + n, 0)
  ctx.record(
    'reconcile_bytes_per_record_per_node',
    Math.round(perRecordPerNode(ofProtocol('/provsync/reconcile/'))),
    'B',
  )
  ctx.record(
    'fetch_bytes_per_record_per_node',
    Math.round(perRecordPerNode(ofProtocol('/provsync/fetch/'))),
    'B',
  )
  ctx.record(
    'push_bytes_per_record_per_node',
    Math.round(perRecordPerNode(ofProtocol('/provsync/push/'))),
    'B',
  )
  ctx.record('pubsub_bytes_per_record_per_node', Math.round(perRecordPerNode(ofProtocol('/meshsub/'))), 'B')
  ctx.record(
    'framing_bytes_per_record_per_node',
    Math.round(perRecordPerNode(b.totalIn - Object.values(b.byProtocol).reduce((x, y) => x + y, 0))),
    'B',
  )
  // Push batching: records per frame sent, and frames all nodes received per record per node.
  const p = report.push
  ctx.record('push_records_per_frame', p.framesSent > 0 ? p.recordsSent / p.framesSent : 0, 'records')
  ctx.record('push_duplicate_frames', p.duplicateFrames, 'frames')
  ctx.record(
    'push_records_received_per_record_per_node',
    p.recordsReceived / Math.max(1, report.workload.acknowledged * (nodes - 1)),
    'records',
  )
  ctx.record('mean_record_bytes', Math.round(b.meanRecordBytes), 'B')
  ctx.record('records_acknowledged', report.workload.acknowledged, 'records')
  ctx.record('records_per_second_written', Math.round(report.workload.recordsPerSecond), 'records/s')
  // The verification bound: every node verifies every record, on all cores, and does nothing else.
  const boundPerSecond = availableParallelism() / (nodes * verifyUs * 1e-6)
  ctx.record('verify_us_per_record', verifyUs, 'µs (one thread)')
  ctx.record('verify_bound_records_per_s', Math.round(boundPerSecond), 'records/s')
  ctx.record(
    'sim_write_efficiency',
    report.workload.recordsPerSecond / boundPerSecond,
    'x bound (target >= 0.3)',
  )
  // The harness thread's CPU per record per node over the whole scenario (start, writes, converge,
  // checker): the per-record work every in-process node adds to that one thread.
  if (cpuBefore !== undefined && cpuAfter !== undefined)
    ctx.record(
      'harness_thread_cpu_us_per_record_per_node',
      ((cpuAfter - cpuBefore) * 1000) / Math.max(1, report.workload.acknowledged * nodes),
      'µs',
    )
  // Every thread of the process: node threads, verifier pools, the harness.
  if (processCpuBefore !== undefined && processCpuAfter !== undefined)
    ctx.record(
      'process_cpu_us_per_record_per_node',
      ((processCpuAfter - processCpuBefore) * 1000) / Math.max(1, report.workload.acknowledged * nodes),
      'µs',
    )
  ctx.record('threads', threads, 'threads')
  ctx.record('verify_threads', verifyThreads, 'threads')
  ctx.record('load_average_1m_before', loadBefore, 'load')
  ctx.record('load_average_1m_after', loadAfter, 'load')
  ctx.record('sync_rounds', report.rounds, 'rounds')
  ctx.record('sync_sessions_ok', report.sessions.ok, 'sessions')
  ctx.record('event_loop_delay_p99', Math.round(report.eventLoopDelayMs.p99), 'ms')
})
