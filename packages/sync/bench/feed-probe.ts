/**
 * What the push change feed's look at a store costs (session 16): `take` of a store that did not
 * change renews its mark (a tree snapshot: a merkle responder, one LMDB read transaction), which
 * push does for every store at every flush (every 25 ms while pushing). `npx tsx
 * packages/sync/bench/feed-probe.ts [looks]` opens a state with 5,000 assertions, then times, per
 * look at the four stores: `take` of unchanged stores (the renewal), the renewal's parts alone
 * (`createResponder` + `close`; `tree.root()`), and, for scale, `take` after one write
 * (observed keys, no diff) and one write transaction.
 */
import { generateSigner, openNodeState } from '@provsync/crdt'
import { createResponder } from '@provsync/merkle'
import { coordinate, load, signedAssertions, TempDirs } from '@provsync/testing'
import { createChangeFeed } from '../src/push-feed.js'
import { SYNC_ORDER as STORE_NAMES } from '../src/state.js'

const looks = Number(process.argv[2] ?? 20_000)
const temp = new TempDirs('provsync-feed-probe-')
const networkId = 'probe'
const state = await openNodeState({ dataDir: temp.dir(), networkId, noSync: true })
const signer = generateSigner()
await load(state, signedAssertions(signer, 5_000, { networkId }), signer.publicKey, { batch: 1_000 })
const feed = createChangeFeed(state, STORE_NAMES)

function time(label: string, n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 1_000); i++) fn(i)
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn(i)
  const us = Number(process.hrtime.bigint() - start) / 1_000 / n
  console.log(`${label}: ${us.toFixed(2)} us`)
  return us
}

time('take_unchanged_4_stores_us', looks, () => {
  for (const store of STORE_NAMES) feed.take(store)
})
time('responder_open_close_4_us', looks, () => {
  for (const store of STORE_NAMES) createResponder(state.tree(store)).close()
})
time('root_4_us', looks, () => {
  for (const store of STORE_NAMES) state.tree(store).root()
})
const writes = Math.min(looks, 2_000)
time('write_then_take_4_us', writes, (i) => {
  state.advanceVerified(coordinate(i % 50), BigInt(10_000 + i))
  for (const store of STORE_NAMES) feed.take(store)
})
time('write_only_us', writes, (i) => {
  state.advanceVerified(coordinate(i % 50), BigInt(20_000 + i))
})
feed.close()
await state.close()
await temp.cleanup()
