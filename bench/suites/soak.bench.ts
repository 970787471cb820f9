/**
 * `npm run bench -- soak [--quick]`: native memory of a node that reconciles for months, in one
 * process. Two LMDB trees of 3,000 keys that differ in a few keys run whole reconciliation sessions
 * against each other (no transport); after a warm-up, the Anonymous memory of
 * /proc/self/smaps_rollup is read every 1,000 sessions. The figure is the slope of a least-squares
 * line through those samples, in KiB per 1,000 sessions (so a one-off allocation does not count).
 * Bounded in count (50,000 sessions; 5,000 with --quick) and in time (10 minutes; 2 with --quick).
 *
 * The suite's other figures come from their own modules: `read_flood_rss_gain_mib` (a read flood
 * against a node in its own process over TCP, packages/sync/bench/read-flood.ts) and
 * `soak_hours_equivalent` (the 8-node soak simulation, packages/sim/src/soak.ts).
 * `--only=sessions|flood|sim` runs one part (figures of the others are not written).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createReconciler,
  createResponder,
  type MerkleTree,
  openMerkleTree,
  type TreeChange,
} from '@provsync/merkle'
import { runSoak } from '@provsync/sim'
import { open, type RootDatabase } from 'lmdb'
import { runReadFlood } from '../../packages/sync/bench/read-flood.js'
import { runSuite, type SuiteContext } from '../lib.js'

const KEYS = 3000
/** Keys only one side holds, per side: enough that every session reads leaves of many buckets. */
const DIFFS = 300

function anonKiB(): number {
  const match = readFileSync('/proc/self/smaps_rollup', 'utf8').match(/Anonymous:\s+(\d+)/)
  if (match === null) throw new Error('no Anonymous: line in /proc/self/smaps_rollup')
  return Number(match[1])
}

function keyOf(i: number, side: number): Uint8Array {
  const key = new Uint8Array(32)
  const view = new DataView(key.buffer)
  view.setUint32(0, Math.imul(i + 1, 2654435761) >>> 0)
  view.setUint32(4, i)
  view.setUint32(8, side)
  return key
}

function build(env: RootDatabase, side: number, onlyShared: boolean): MerkleTree {
  const tree = openMerkleTree(env, { name: 'soak' })
  const changes: TreeChange[] = []
  for (let i = 0; i < KEYS; i++) {
    const own = i < DIFFS
    if (own && onlyShared) continue
    changes.push({ key: keyOf(i, own ? side : 0), valueHash: keyOf(i, 7) })
  }
  env.transactionSync(() => tree.update(changes))
  return tree
}

/**
 * One change committed on the initiator before each session, as a node applies records between
 * sessions: the commit renews lmdb-js's read transaction, which is when range reads kept native
 * memory (without a write in between the same loop plateaus).
 */
let version = 0
function change(env: RootDatabase, tree: MerkleTree): void {
  const valueHash = new Uint8Array(32)
  new DataView(valueHash.buffer).setUint32(0, ++version)
  env.transactionSync(() => tree.update([{ key: keyOf(DIFFS, 1), valueHash }]))
}

function session(initiator: MerkleTree, responder: MerkleTree): number {
  const reconciler = createReconciler(initiator)
  const peer = createResponder(responder)
  for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
    reconciler.receive(peer.respond(request))
  }
  const result = reconciler.result()
  return result.localOnly.length + result.remoteOnly.length + result.differing.length
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

interface Plan {
  sessions: number
  warmup: number
  sampleEvery: number
  budgetMs: number
}

async function soak(env: RootDatabase, a: MerkleTree, b: MerkleTree, plan: Plan) {
  const { sessions, warmup, sampleEvery, budgetMs } = plan
  // Warm-up: JIT, lmdb-js's buffers and the trees' pages mapped.
  for (let i = 0; i < warmup; i++) {
    change(env, a)
    session(a, b)
  }
  const xs: number[] = []
  const ys: number[] = []
  const native: number[] = []
  const start = performance.now()
  let done = 0
  while (done < sessions && performance.now() - start < budgetMs) {
    for (let i = 0; i < sampleEvery; i++) {
      change(env, a)
      session(a, b)
      // The event loop turns as it would between sessions of a node (finalizers run there).
      if (i % 50 === 0) await tick()
    }
    done += sampleEvery
    globalThis.gc?.()
    xs.push(done / 1000)
    ys.push(anonKiB())
    console.error(`  soak: ${done} sessions, Anonymous ${ys.at(-1)} KiB`)
    // Anonymous memory outside V8's heap: what lmdb-js and other native code hold.
    native.push(ys.at(-1)! - process.memoryUsage().heapTotal / 1024)
    if (process.env.SOAK_VERBOSE) console.error(done, ys.at(-1), Math.round(native.at(-1)!))
  }
  return {
    done,
    kibPer1k: slope(xs, ys),
    nativePer1k: slope(xs, native),
    grown: ys.at(-1)! - ys[0]!,
    seconds: (performance.now() - start) / 1000,
  }
}

/** The read flood of issue #17: 8 streams × 300 unread fetch requests, 8 rounds, one identity. */
async function readFlood(ctx: SuiteContext): Promise<void> {
  const result = await runReadFlood({
    rounds: 8,
    streams: 8,
    requests: 300,
    roundMs: ctx.quick ? 5_000 : 15_000,
  })
  console.error(`  read flood: ${JSON.stringify(result)}`)
  ctx.record('read_flood_rss_gain_mib', result.gainMiB, 'MiB')
  ctx.record('read_flood_target_baseline_rss_mib', result.baselineRssMiB, 'MiB')
  ctx.record('read_flood_blocked_in_round', result.blockedInRound ?? 0, 'round (0: never)')
  ctx.record('read_flood_blocked_after_ms', result.blockedAfterMs ?? 0, 'ms')
  ctx.record(
    'read_flood_streams_accepted_after_block',
    result.rounds.filter((r) => r.round > (result.blockedInRound ?? 99)).reduce((a, r) => a + r.accepted, 0),
    'streams',
  )
}

/**
 * Production nodes run anti-entropy every 30 s (DEFAULT_ANTI_ENTROPY_INTERVAL_MS), the simulation's
 * every 1 s (DEFAULT_SIM_SYNC): one simulated minute holds the exchanges of 30 real ones.
 */
const SOAK_COMPRESSION = 30

/** The 8-node soak simulation: 20 minutes (2 with --quick), RSS of every node at start and end. */
async function soakSimulation(ctx: SuiteContext): Promise<void> {
  const durationMs = ctx.quick ? 120_000 : 1_200_000
  const result = await runSoak({
    seed: 'soak-17',
    durationMs,
    progress: (line) => console.error(`  ${line}`),
  })
  console.error(
    `  soak: ${JSON.stringify({ ...result, check: { ok: result.check.ok, violations: result.check.violations } })}`,
  )
  ctx.record('soak_hours_equivalent', Math.round((durationMs / 3_600_000) * SOAK_COMPRESSION * 10) / 10, 'h')
  ctx.record('soak_checker_violations', result.check.violations.length, 'violations')
  ctx.record('soak_converge_ms', Math.round(result.convergeMs), 'ms')
  ctx.record('soak_acknowledged_writes', result.acknowledged, 'writes')
  ctx.record('soak_crashes', result.crashes, 'SIGKILLs')
  for (const node of result.memory) {
    ctx.record(`soak_rss_${node.name}_start_mib`, node.startMaxRssMiB, 'MiB')
    ctx.record(`soak_rss_${node.name}_end_mib`, node.endMaxRssMiB, 'MiB')
  }
  const disk = result.fullDisk
  ctx.record('soak_full_disk_suspended', disk.suspendedAtMs === undefined ? 0 : 1, 'yes/no')
  ctx.record('soak_full_disk_resumed', disk.resumedAtMs === undefined ? 0 : 1, 'yes/no')
  ctx.record(
    'soak_full_disk_resume_after_free_ms',
    disk.resumedAtMs === undefined || disk.freedAtMs === undefined
      ? -1
      : Math.round(disk.resumedAtMs - disk.freedAtMs),
    'ms',
  )
  ctx.record('soak_full_disk_refused_writes', disk.refusedWrites, 'writes')
  ctx.record('soak_hostile_blocked_by', result.hostile.blockedBy, 'nodes')
  ctx.record('soak_hostile_offences', result.hostile.offences, 'offences')
}

async function sessions(ctx: SuiteContext): Promise<void> {
  // --quick fits a loaded 2-core machine in a few minutes; the full run is the 50,000 of the target.
  const plan: Plan = ctx.quick
    ? { sessions: 3000, warmup: 500, sampleEvery: 250, budgetMs: 4 * 60_000 }
    : { sessions: 50_000, warmup: 2000, sampleEvery: 1000, budgetMs: 20 * 60_000 }
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'provsync-soak-')))
  const envs = dirs.map((path) => open({ path, mapSize: 2 ** 28, noSync: true }))
  try {
    const a = build(envs[0]!, 1, false)
    const b = build(envs[1]!, 2, false)
    const empty = openMerkleTree(envs[2]!, { name: 'soak' })
    if (process.env.SOAK_ONLY === 'empty') {
      const e = await soak(envs[0]!, a, empty, plan)
      console.log(e)
      return
    }
    const both = await soak(envs[0]!, a, b, plan)
    ctx.record('session_native_growth_kib_per_1k', Math.round(both.kibPer1k * 10) / 10, 'KiB/1k sessions')
    ctx.record(
      'session_native_outside_v8_kib_per_1k',
      Math.round(both.nativePer1k * 10) / 10,
      'KiB/1k sessions',
    )
    ctx.record('soak_sessions', both.done, 'sessions')
    ctx.record('soak_sessions_per_s', Math.round(both.done / both.seconds), 'sessions/s')
    ctx.record('soak_anon_grown_kib', both.grown, 'KiB')
    const oneEmpty = await soak(envs[0]!, a, empty, {
      ...plan,
      sessions: Math.min(plan.sessions, 10_000),
      budgetMs: plan.budgetMs / 4,
    })
    ctx.record(
      'session_native_growth_empty_side_kib_per_1k',
      Math.round(oneEmpty.kibPer1k * 10) / 10,
      'KiB/1k sessions',
    )
  } finally {
    for (const env of envs) await env.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
}

await runSuite('soak', async (ctx) => {
  const only = ctx.args.find((a) => a.startsWith('--only='))?.slice('--only='.length)
  if (only === undefined || only === 'sessions') await sessions(ctx)
  if (only === undefined || only === 'flood') await readFlood(ctx)
  if (only === undefined || only === 'sim') await soakSimulation(ctx)
})
