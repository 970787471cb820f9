/**
 * CPU per applied artifact, for profiling the apply path alone:
 * `node --import tsx [--cpu-prof] packages/artifacts/bench/apply-profile.ts [batches]`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openArtifactStore, signArtifact, signGrant, verifyItem } from '@provsync/artifacts'
import { generateSigner, verifySignature } from '@provsync/crdt'

const NET = 'bench-net'
const BATCH = 1000
const batches = Number(process.argv[2] ?? 20)
const operator = generateSigner()
const publisher = generateSigner()
const nodeKey = generateSigner().publicKey
let tick = 0
const at = () => ({ wallMs: Date.now(), counter: tick++ % 60_000 })
const content = (i: number) => new TextEncoder().encode(`{"config":${i},"pad":"${'x'.repeat(200)}"}`)
const pending = Array.from({ length: batches + 1 }, (_, b) =>
  Array.from({ length: BATCH }, (_, k) => {
    const i = b * BATCH + k
    const input = {
      scope: `bench/s${i % 4}`,
      family: 'cluster_snapshot',
      name: `item-${i}`,
      version: 1n,
      epoch: 1n,
      content: content(i),
    }
    return signArtifact(input, publisher, NET, at()).bytes
  }),
)
const dir = mkdtempSync(join(tmpdir(), 'provsync-artifacts-prof-'))
const store = await openArtifactStore({ networkId: NET, nodeKey, trust: [operator.publicKey], dataDir: dir })
await store.apply(
  [
    signGrant({ subject: nodeKey, right: 'hold', scopes: ['bench'], epoch: 1n }, operator, NET, at()).bytes,
    signGrant(
      { subject: publisher.publicKey, right: 'publish', scopes: ['bench'], epoch: 1n },
      operator,
      NET,
      at(),
    ).bytes,
  ],
  { from: nodeKey },
)
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
const v0 = process.cpuUsage()
for (let i = 0; i < n; i++) verifySignature(sample.publicKey, sample.message, sample.signature)
const v = process.cpuUsage(v0)
console.log(
  `apply: ${((used.user + used.system) / n).toFixed(1)} µs CPU/artifact (user ${(used.user / n).toFixed(1)}, sys ${(used.system / n).toFixed(1)}), ${((n * 1000) / wall).toFixed(0)}/s wall; verify ${((v.user + v.system) / n).toFixed(1)} µs CPU`,
)
await store.close()
rmSync(dir, { recursive: true, force: true })
