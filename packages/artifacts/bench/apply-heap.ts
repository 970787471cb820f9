/**
 * Bytes allocated on the main thread's JS heap per applied artifact, by function, from V8's
 * sampling heap profiler with collected objects kept (so it counts what was allocated, not what
 * survived): `node --import tsx packages/artifacts/bench/apply-heap.ts [batches]`. The bench's
 * workload (batches of 1,000 new artifacts in 4 scopes, durable commits). Off-heap backing
 * stores of typed arrays over 64 bytes are not in these samples (their JS objects are).
 */
import { rmSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { applyBatches, BATCH, nodeKey, openBenchStore } from './fixtures.js'

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: SampleNode[]
}

const batches = Number(process.argv[2] ?? 10)
const pending = applyBatches(batches)
const { store, dir } = await openBenchStore(false, 'provsync-artifacts-heap-')
await store.apply(pending[0]!, { from: nodeKey })
const session = new Session()
session.connect()
await session.post('HeapProfiler.enable')
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 512,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
})
for (const batch of pending.slice(1)) await store.apply(batch, { from: nodeKey })
const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: SampleNode } }
const n = batches * BATCH
// Bytes under applyBatch, attributed to the innermost frame of this package or its dependencies.
const byFrame = new Map<string, number>()
let total = 0
const walk = (node: SampleNode, inApply: boolean, label: string) => {
  const f = node.callFrame
  const here = inApply || f.functionName === 'applyBatch'
  const name = f.functionName === '' ? '(anonymous)' : f.functionName
  const at = `${name} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`
  // A builtin (no url: subarray, slice, set) is named with its caller.
  const next = !here ? label : f.url === '' ? `${name} ← ${label}` : at
  if (here && node.selfSize > 0) {
    total += node.selfSize
    byFrame.set(next, (byFrame.get(next) ?? 0) + node.selfSize)
  }
  const own = f.url === '' ? label : next
  for (const c of node.children) walk(c, here, own)
}
walk(profile.head, false, '')
console.log(
  `applyBatch: ${(total / n).toFixed(0)} bytes allocated per artifact (${batches} batches of ${BATCH})`,
)
for (const [frame, bytes] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, 24)) {
  console.log(`${(bytes / n).toFixed(0).padStart(6)} B  ${frame}`)
}
await store.close()
rmSync(dir, { recursive: true, force: true })
process.exit(0)
