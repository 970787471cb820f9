/**
 * What serving by tree key costs when the recent map misses (schema 3 scans the scope's version
 * keys once per request): `npx tsx packages/artifacts/bench/serve-scan.ts [artifacts]`. One scope
 * of `artifacts` (default 10,000), the store reopened (recent map empty), then requests of 1 and
 * 10 keys; median ms of 15 requests each.
 */
import { rmSync } from 'node:fs'
import { openArtifactStore } from '@provsync/artifacts'
import { tempDir } from '@provsync/testing'
import { artifacts, BATCH, grants, NET, nodeKey, operator, publisher } from './fixtures.js'

const total = Number(process.argv[2] ?? 10_000)
const dir = tempDir('provsync-artifacts-scan-')
const options = { networkId: NET, nodeKey, trust: [operator.publicKey], dataDir: dir, noSync: true }
let store = await openArtifactStore(options)
await store.apply(grants(), { from: nodeKey })
const keys: Uint8Array[] = []
for (let start = 0; start < total; start += BATCH) {
  const out = await store.apply(
    artifacts(publisher, 'cluster_snapshot', start, BATCH, { scope: 'bench/s0' }),
    {
      from: nodeKey,
    },
  )
  for (const o of out) keys.push(o.key!)
}
await store.close()
store = await openArtifactStore(options)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
for (const n of [1, 10]) {
  const ms: number[] = []
  for (let r = 0; r < 15; r++) {
    const ask = Array.from({ length: n }, (_, i) => keys[(r * 7919 + i * 104729) % keys.length]!)
    const t0 = performance.now()
    const got = store.getScopeRecords('bench/s0', ask)
    ms.push(performance.now() - t0)
    if (got.some((b) => b === undefined)) throw new Error('not served')
  }
  console.log(
    `${total} artifacts in the scope, ${n} key(s) per request: ${median(ms).toFixed(2)} ms (median of 15)`,
  )
}
await store.close()
rmSync(dir, { recursive: true, force: true })
