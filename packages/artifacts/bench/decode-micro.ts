/**
 * CPU of the apply path's strict decoding alone, per record, on the bench's artifacts, for one
 * or more builds alternated round by round in one process (load changes hit them alike):
 * `npx tsx packages/artifacts/bench/decode-micro.ts <dist> [<dist> ...]` (each a built
 * `packages/artifacts/dist`; the decoder its apply path calls); median of 21 rounds of 5,000 records per build.
 */
import { pathToFileURL } from 'node:url'
import { networkTag } from '@provsync/crdt'
import { artifacts, NET, publisher } from './fixtures.js'

const dists = process.argv.slice(2)
if (dists.length === 0) throw new Error('usage: decode-micro.ts <dist> [<dist> ...]')
const n = 5000
const records = artifacts(publisher, 'cluster_snapshot', 0, n)
const tag = networkTag(NET)
type Decode = (bytes: Uint8Array, networkId: string, tag: Uint8Array, canonical: boolean) => unknown
/** What the build's apply path decodes with: `decodePrivate` where it exists, else decodeRecord. */
async function decoderOf(dist: string): Promise<{ name: string; decode: Decode }> {
  const signed = await import(pathToFileURL(`${dist}/codec/signed.js`).href)
  if (typeof signed.decodePrivate === 'function')
    return {
      name: 'decodePrivate',
      decode: (bytes, networkId, tag) => signed.decodePrivate(bytes, networkId, tag),
    }
  return { name: 'decodeRecord', decode: signed.decodeRecord as Decode }
}
const builds = await Promise.all(
  dists.map(async (dist) => ({ dist, ...(await decoderOf(dist)), rounds: [] as number[] })),
)
for (let round = 0; round < 21; round++) {
  for (const b of builds) {
    const t0 = performance.now()
    for (const bytes of records) b.decode(bytes, NET, tag, false)
    b.rounds.push(((performance.now() - t0) * 1000) / n)
  }
}
for (const b of builds) {
  b.rounds.sort((x, y) => x - y)
  console.log(`${b.dist}: ${b.name} ${b.rounds[10]!.toFixed(2)} µs per record (median of 21 rounds of ${n})`)
}
