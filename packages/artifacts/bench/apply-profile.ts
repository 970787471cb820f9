/**
 * CPU per applied artifact, for profiling the apply path alone:
 * `node --import tsx [--cpu-prof] packages/artifacts/bench/apply-profile.ts [batches]`.
 */
import { rmSync } from 'node:fs'
import { verifyItem } from '@provsync/artifacts'
import { verifySignature } from '@provsync/crdt'
import { cpuMicrosSince } from '@provsync/testing'
import { artifacts, BATCH, NET, nodeKey, openBenchStore, publisher } from './fixtures.js'

const batches = Number(process.argv[2] ?? 20)
const pending = Array.from({ length: batches + 1 }, (_, b) =>
  artifacts(publisher, 'cluster_snapshot', b * BATCH, BATCH),
)
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
const sample = verifyItem(pending[0]![0]!, NET)
// The whole signed message (prefix ‖ body), built once: the baseline is one verification, no copy.
const message = Buffer.concat([sample.prefix ?? new Uint8Array(0), sample.message])
const v0 = process.cpuUsage()
for (let i = 0; i < n; i++) verifySignature(sample.publicKey, message, sample.signature)
const verifyUs = cpuMicrosSince(v0)
console.log(
  `apply: ${((used.user + used.system) / n).toFixed(1)} µs CPU/artifact (user ${(used.user / n).toFixed(1)}, sys ${(used.system / n).toFixed(1)}), ${((n * 1000) / wall).toFixed(0)}/s wall; verify ${(verifyUs / n).toFixed(1)} µs CPU`,
)
await store.close()
rmSync(dir, { recursive: true, force: true })
