/**
 * `npm run bench -- soak [--quick]`: native memory of a node that reconciles for months, in one
 * process. Two LMDB trees of 3,000 keys that differ in a few keys run whole reconciliation sessions
 * against each other (no transport); after a warm-up, the Anonymous memory of
 * /proc/self/smaps_rollup is read every 1,000 sessions. The figure is the slope of a least-squares
 * line through those samples, in KiB per 1,000 sessions (so a one-off allocation does not count).
 * Bounded in count (50,000 sessions; 5,000 with --quick) and in time (10 minutes; 2 with --quick).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open, type RootDatabase } from 'lmdb'
import { runSuite } from '../../../bench/lib.js'
import {
  createReconciler,
  createResponder,
  type MerkleTree,
  openMerkleTree,
  type TreeChange,
} from '../src/index.js'

const KEYS = 3000
/** Keys only one side holds, per side: enough that every session reads leaves of many buckets. */
const DIFFS = 300
const SAMPLE_EVERY = 1000

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

async function soak(a: MerkleTree, b: MerkleTree, sessions: number, budgetMs: number) {
  // Warm-up: JIT, lmdb-js's buffers and the trees' pages mapped.
  for (let i = 0; i < 2000; i++) session(a, b)
  const xs: number[] = []
  const ys: number[] = []
  const native: number[] = []
  const start = performance.now()
  let done = 0
  while (done < sessions && performance.now() - start < budgetMs) {
    for (let i = 0; i < SAMPLE_EVERY; i++) {
      session(a, b)
      // The event loop turns as it would between sessions of a node (finalizers run there).
      if (i % 50 === 0) await tick()
    }
    done += SAMPLE_EVERY
    globalThis.gc?.()
    xs.push(done / 1000)
    ys.push(anonKiB())
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

await runSuite('soak', async (ctx) => {
  const sessions = ctx.quick ? 5000 : 50_000
  const budgetMs = (ctx.quick ? 2 : 10) * 60_000
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'provsync-soak-')))
  const envs = dirs.map((path) => open({ path, mapSize: 2 ** 28 }))
  try {
    const a = build(envs[0]!, 1, false)
    const b = build(envs[1]!, 2, false)
    const empty = openMerkleTree(envs[2]!, { name: 'soak' })
    if (process.env.SOAK_ONLY === 'empty') {
      const e = await soak(a, empty, sessions, budgetMs)
      console.log(e)
      return
    }
    const both = await soak(a, b, sessions, budgetMs)
    ctx.record('session_native_growth_kib_per_1k', Math.round(both.kibPer1k * 10) / 10, 'KiB/1k sessions')
    ctx.record('soak_sessions', both.done, 'sessions')
    ctx.record('soak_sessions_per_s', Math.round(both.done / both.seconds), 'sessions/s')
    ctx.record('soak_anon_grown_kib', both.grown, 'KiB')
    const oneEmpty = await soak(a, empty, Math.min(sessions, 10_000), budgetMs / 5)
    ctx.record(
      'session_native_growth_empty_side_kib_per_1k',
      Math.round(oneEmpty.kibPer1k * 10) / 10,
      'KiB/1k sessions',
    )
  } finally {
    for (const env of envs) await env.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
})
