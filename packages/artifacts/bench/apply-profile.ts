/**
 * CPU per applied artifact, for profiling the apply path alone:
 * `node --import tsx [--cpu-prof] packages/artifacts/bench/apply-profile.ts [batches]`.
 */
import { rmSync } from 'node:fs'
import { cpuMicrosSince } from '@provsync/testing'
import { applyBatches, BATCH, nodeKey, openBenchStore, verifyBaseline } from './fixtures.js'

const batches = Number(process.argv[2] ?? 20)
const pending = applyBatches(batches)
const { store, dir } = await openBenchStore(false, 'provsync-artifacts-prof-')
await store.apply(pending[0]!, { from: nodeKey })
const cpu0 = process.cpuUsage()
const t0 = performance.now()
for (const batch of pending.slice(1)) {
  const out = await store.apply(batch, { from: nodeKey })
  const bad = out.find((o) => o.status !== 'applied')
  if (bad !== undefined) throw new Error(`not applied: ${bad.status} ${bad.reason} ${bad.detail}`)
}
const wall = performance.now() - t0
const used = process.cpuUsage(cpu0)
const n = batches * BATCH
const verify = verifyBaseline(pending[0]![0]!)
const v0 = process.cpuUsage()
verify(n)
const verifyUs = cpuMicrosSince(v0)
console.log(
  `apply: ${((used.user + used.system) / n).toFixed(1)} µs CPU/artifact (user ${(used.user / n).toFixed(1)}, sys ${(used.system / n).toFixed(1)}), ${((n * 1000) / wall).toFixed(0)}/s wall; verify ${(verifyUs / n).toFixed(1)} µs CPU`,
)
await store.close()
rmSync(dir, { recursive: true, force: true })
