/** Decision-cache hits against raw lmdb-js gets: `node --import tsx packages/artifacts/bench/decision-profile.ts`. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createDecisionCache,
  DECISION_FAMILY,
  openArtifactStore,
  signArtifact,
  signGrant,
} from '@provsync/artifacts'
import { generateSigner } from '@provsync/crdt'
import { open } from 'lmdb'

const NET = 'bench-net'
const operator = generateSigner()
const publisher = generateSigner()
const nodeKey = generateSigner().publicKey
let tick = 0
const at = () => ({ wallMs: Date.now(), counter: tick++ % 60_000 })
const dir = mkdtempSync(join(tmpdir(), 'provsync-decision-prof-'))
const store = await openArtifactStore({
  networkId: NET,
  nodeKey,
  trust: [operator.publicKey],
  dataDir: dir,
  noSync: true,
})
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
const keys = 4000
const expiresAt = Date.now() + 3_600_000
const names = Array.from({ length: keys }, (_, i) => `item-${i}`)
const batch = names.map((name, i) => {
  const content = new TextEncoder().encode(`{"config":${i},"pad":"${'x'.repeat(200)}"}`)
  return signArtifact(
    { scope: 'bench/s0', family: DECISION_FAMILY, name, version: 1n, epoch: 1n, content, expiresAt },
    publisher,
    NET,
    at(),
  ).bytes
})
await store.apply(batch, { from: nodeKey })
const cache = createDecisionCache({ store, signer: publisher, scope: 'bench/s0' })
const raw = open({ path: join(dir, 'raw'), noSubdir: false, keyEncoding: 'binary', encoding: 'binary' })
const rawKeys = names.map((n) => new TextEncoder().encode(`bench/s0\u0000${DECISION_FAMILY}\u0000${n}`))
await raw.transaction(() => {
  for (const [i, k] of rawKeys.entries())
    raw.put(k, store.history('bench/s0', DECISION_FAMILY, names[i]!)[0]!.version.bytes)
})
const N = 400_000
let i = 0
let c0 = process.cpuUsage()
for (let n = 0; n < N; n++)
  if (cache.get(names[(i = (i + 7919) % keys)]!).status !== 'hit') throw new Error('miss')
let c = process.cpuUsage(c0)
const hit = (c.user + c.system) / N
c0 = process.cpuUsage()
for (let n = 0; n < N; n++)
  if (raw.get(rawKeys[(i = (i + 7919) % keys)]!) === undefined) throw new Error('missing')
c = process.cpuUsage(c0)
const rawUs = (c.user + c.system) / N
console.log(
  `decision get ${hit.toFixed(2)} µs CPU, raw get ${rawUs.toFixed(2)} µs CPU, ratio (rate) ${(rawUs / hit).toFixed(2)}`,
)
await raw.close()
await store.close()
rmSync(dir, { recursive: true, force: true })
