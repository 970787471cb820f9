import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDecisionCache, openArtifactStore, signArtifact, signGrant } from '@provsync/artifacts'
import { generateSigner } from '@provsync/crdt'
const NET = 'n'
const op = generateSigner(), pub = generateSigner(), node = generateSigner().publicKey
let tick = 0
const at = () => ({ wallMs: Date.now(), counter: tick++ % 60000 })
const store = await openArtifactStore({ networkId: NET, nodeKey: node, trust: [op.publicKey], dataDir: mkdtempSync(join(tmpdir(), 'ap-')), noSync: true })
await store.apply([signGrant({ subject: node, right: 'hold', scopes: ['bench'], epoch: 1n }, op, NET, at()).bytes, signGrant({ subject: pub.publicKey, right: 'publish', scopes: ['bench'], epoch: 1n }, op, NET, at()).bytes], { from: node })
const N = Number(process.argv[2])
const recs = Array.from({ length: N }, (_, i) => signArtifact({ scope: `bench/s${i % 4}`, family: 'decision', name: `item-${i}`, version: 1n, epoch: 1n, content: new Uint8Array(200), expiresAt: Date.now() + 1e7 }, pub, NET, at()).bytes)
await store.apply(recs, { from: node })
let t = performance.now()
for (let r = 0; r < 20; r++) for (let i = 0; i < N; i += 4) store.history('bench/s0', 'decision', `item-${i}`)
console.log('history us', (performance.now() - t) / (5 * N) * 1000)
t = performance.now()
for (let r = 0; r < 20; r++) for (let i = 0; i < N; i += 4) store.current('bench/s0', 'decision', `item-${i}`)
console.log('current us', (performance.now() - t) / (5 * N) * 1000)
process.exit(0)
