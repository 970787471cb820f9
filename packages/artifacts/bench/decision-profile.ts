/** Decision-cache hits against raw lmdb-js gets: `node --import tsx packages/artifacts/bench/decision-profile.ts`. */
import { rmSync } from 'node:fs'
import { createDecisionCache, DECISION_FAMILY } from '@provsync/artifacts'
import { cpuMicrosSince } from '@provsync/testing'
import { artifacts, nodeKey, openBenchStore, publisher, rawDecisionCopy } from './fixtures.js'

const { store, dir } = await openBenchStore(true, 'provsync-decision-prof-')
const keys = 4000
const expiresAt = Date.now() + 3_600_000
const names = Array.from({ length: keys }, (_, i) => `item-${i}`)
const batch = artifacts(publisher, DECISION_FAMILY, 0, keys, { expiresAt, scope: 'bench/s0' })
await store.apply(batch, { from: nodeKey })
const cache = createDecisionCache({ store, signer: publisher, scope: 'bench/s0' })
const { raw, rawKeys } = await rawDecisionCopy(dir, store, names)
const N = 400_000
let i = 0
let c0 = process.cpuUsage()
for (let n = 0; n < N; n++)
  if (cache.get(names[(i = (i + 7919) % keys)]!).status !== 'hit') throw new Error('miss')
const hit = cpuMicrosSince(c0) / N
c0 = process.cpuUsage()
for (let n = 0; n < N; n++)
  if (raw.get(rawKeys[(i = (i + 7919) % keys)]!) === undefined) throw new Error('missing')
const rawUs = cpuMicrosSince(c0) / N
console.log(
  `decision get ${hit.toFixed(2)} µs CPU, raw get ${rawUs.toFixed(2)} µs CPU, ratio (rate) ${(rawUs / hit).toFixed(2)}`,
)
await raw.close()
await store.close()
rmSync(dir, { recursive: true, force: true })
