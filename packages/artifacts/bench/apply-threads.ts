/**
 * Where the wall time of an applied artifact goes between threads: per batch of the bench's
 * workload (1,000 new artifacts in 4 scopes, durable commits), wall time, the main thread's CPU
 * (`process.threadCpuUsage`) and the other threads' (process CPU less the main thread's: the
 * verification worker, V8's collector and compiler threads), then single-thread verification of
 * as many signatures; means per artifact:
 * `npx tsx packages/artifacts/bench/apply-threads.ts [batches] [dist]`, `dist` a built
 * `packages/artifacts/dist` to take the store from (default: this package's).
 * `THREADS=n` sets the store's verification workers, `NOSYNC=1` skips the fsync of each commit.
 */
import { rmSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { getHeapStatistics } from 'node:v8'
import type { ArtifactStore } from '@provsync/artifacts'
import { tempDir } from '@provsync/testing'
import { applyBatches, BATCH, grants, NET, nodeKey, operator, verifyBaseline } from './fixtures.js'

const batches = Number(process.argv[2] ?? 20)
const dist = process.argv[3]
const mod = (
  dist === undefined
    ? await import('@provsync/artifacts')
    : await import(pathToFileURL(`${dist}/index.js`).href)
) as typeof import('@provsync/artifacts')
const pending = applyBatches(batches)
const dir = tempDir('provsync-artifacts-threads-')
const store: ArtifactStore = await mod.openArtifactStore({
  networkId: NET,
  nodeKey,
  trust: [operator.publicKey],
  dataDir: dir,
  noSync: process.env.NOSYNC === '1',
  ...(process.env.THREADS === undefined ? {} : { verifyThreads: Number(process.env.THREADS) }),
})
await store.apply(grants(), { from: nodeKey })
await store.apply(pending[0]!, { from: nodeKey })
const verify = verifyBaseline(pending[0]![0]!)
// Main-thread collector pauses while applying (gc entries: scavenges, mark-compacts).
// (Entries arrive later, so each is matched to the apply windows by its start time.)
const windows: [number, number][] = []
const pauses: { start: number; ms: number }[] = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push({ start: e.startTime, ms: e.duration })
}).observe({ entryTypes: ['gc'] })
const heap0 = getHeapStatistics()
const rows: { wall: number; main: number; other: number; verify: number }[] = []
const cpu = (u: NodeJS.CpuUsage) => u.user + u.system
for (const batch of pending.slice(1)) {
  const p0 = process.cpuUsage()
  const m0 = process.threadCpuUsage()
  const t0 = performance.now()
  const out = await store.apply(batch, { from: nodeKey })
  windows.push([t0, performance.now()])
  const wall = (performance.now() - t0) * 1000
  const main = cpu(process.threadCpuUsage(m0))
  const all = cpu(process.cpuUsage(p0))
  if (out.some((o) => o.status !== 'applied')) throw new Error('not applied')
  const v0 = performance.now()
  verify(BATCH)
  rows.push({ wall, main, other: all - main, verify: (performance.now() - v0) * 1000 })
}
// Means: garbage collection comes in a few batches, which a median would leave out.
const m = (f: (r: (typeof rows)[number]) => number) =>
  (rows.reduce((sum, r) => sum + f(r), 0) / rows.length / BATCH).toFixed(1)
const ratio = rows.reduce((s, r) => s + r.verify, 0) / rows.reduce((s, r) => s + r.wall, 0)
console.log(
  `${dist ?? 'this build'}: per artifact (mean of ${batches} batches) wall ${m((r) => r.wall)} µs, main thread CPU ${m((r) => r.main)} µs, other threads ${m((r) => r.other)} µs; single-thread verify wall ${m((r) => r.verify)} µs; ratio ${ratio.toFixed(3)}`,
)
const heap1 = getHeapStatistics()
await new Promise((r) => setTimeout(r, 20))
const inApply = pauses.filter((p) => windows.some(([a, b]) => p.start >= a && p.start < b))
const gcMs = inApply.reduce((s, p) => s + p.ms, 0)
const gcCount = inApply.length
const n = batches * BATCH
console.log(
  `  collector: ${gcCount} pauses, ${((gcMs * 1000) / n).toFixed(1)} µs per artifact; heap used +${((heap1.used_heap_size - heap0.used_heap_size) / n).toFixed(0)} B, malloced +${((heap1.malloced_memory - heap0.malloced_memory) / n).toFixed(0)} B, external +${((heap1.external_memory - heap0.external_memory) / n).toFixed(0)} B per artifact`,
)
await store.close()
rmSync(dir, { recursive: true, force: true })
process.exit(0)
