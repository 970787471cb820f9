/**
 * Peak memory of a sequence of reconciliation sessions with both sides in this process (issue #13:
 * why the one-process peak rose with protocol 2). Build the bench's trees first:
 *
 *   B=packages/merkle/bench/merkle.bench.ts
 *   npx tsx $B --phase build /tmp/probe/a 100000 2500
 *   npx tsx $B --phase build /tmp/probe/b 100000 2500
 *   npx tsx $B --phase apply /tmp/probe 10000 0
 *   npx tsx packages/merkle/bench/session-rss-probe.ts /tmp/probe 1u,2u,1u,2u,1f,2f
 *   GC=1 node --expose-gc --import tsx packages/merkle/bench/session-rss-probe.ts /tmp/probe 1u,2u
 *
 * Each item is a protocol (1 or 2) and frames (u unlimited, f 64 KiB). Prints the peaks of
 * `process.memoryUsage()` and /proc RssAnon / RssFile sampled at every frame, and with GC=1 the
 * heap, ArrayBuffers and RssAnon after a forced GC at the end of each session.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { open, type RootDatabase } from 'lmdb'
import { createReconciler, createResponder, openMerkleTree } from '../src/index.js'

const [dir, sequence] = process.argv.slice(2) as [string, string]
const openEnv = (path: string): RootDatabase =>
  open({ path, mapSize: 2 ** 34, maxDbs: 4, noReadAhead: true } as Parameters<typeof open>[0])
const envA = openEnv(join(dir, 'a'))
const envB = openEnv(join(dir, 'b'))
const a = openMerkleTree(envA, { name: 'bench', keysAreHashes: true })
const b = openMerkleTree(envB, { name: 'bench', keysAreHashes: true })

const statusMiB = (field: string): number =>
  Number(readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))![1]) / 1024
const MiB = 2 ** 20
const peak = { rss: 0, heapUsed: 0, arrayBuffers: 0, anon: 0, file: 0 }
function sample(): void {
  const m = process.memoryUsage()
  peak.rss = Math.max(peak.rss, m.rss / MiB)
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed / MiB)
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers / MiB)
  peak.anon = Math.max(peak.anon, statusMiB('RssAnon'))
  peak.file = Math.max(peak.file, statusMiB('RssFile'))
}

const afterGc: number[][] = []
for (const item of sequence.split(',')) {
  const options = { version: Number(item[0]) as 1 | 2, ...(item[1] === 'f' ? { maxFrameBytes: 65536 } : {}) }
  const reconciler = createReconciler(a, options)
  const responder = createResponder(b, options)
  for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
    sample()
    const response = responder.respond(request)
    sample()
    reconciler.receive(response)
    sample()
  }
  reconciler.result()
  sample()
  responder.close()
  const gc = (globalThis as { gc?: () => void }).gc
  if (process.env.GC && gc !== undefined) {
    gc()
    const m = process.memoryUsage()
    afterGc.push([m.heapUsed / MiB, m.arrayBuffers / MiB, statusMiB('RssAnon')].map(Math.round))
  }
}
const rounded = Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, Math.round(v)]))
console.log(
  JSON.stringify({
    sequence,
    peakMiB: rounded,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    afterGc,
  }),
)
await envA.close()
await envB.close()
