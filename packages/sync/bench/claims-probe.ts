/**
 * What a full sync's claim costs (issue #16, session 16): one claim of 10,000 sorted random 32-byte
 * keys of one store, as a fresh node's pull makes before its first fetch, then its release.
 * `npx tsx packages/sync/bench/claims-probe.ts [path to a build's claims.js]` (default this
 * checkout's `packages/sync/dist/claims.js`; give base's to compare builds). Prints the wall time
 * of each of five claim/release pairs on the calling thread.
 */
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'

type ClaimsModule = typeof import('../src/claims.js')

const target = process.argv[2] ?? fileURLToPath(new URL('../dist/claims.js', import.meta.url))
const { createPullClaims } = (await import(target)) as ClaimsModule
const keys = Array.from({ length: 10_000 }, () => new Uint8Array(randomBytes(32))).sort(Buffer.compare)
for (let round = 1; round <= 5; round++) {
  const claims = createPullClaims()
  const t0 = performance.now()
  const claim = claims.claim('assertions', [...keys])
  const t1 = performance.now()
  claim.release(claim.mine)
  const t2 = performance.now()
  console.log(`round ${round}: claim ${(t1 - t0).toFixed(2)} ms, release ${(t2 - t1).toFixed(2)} ms`)
}
