/**
 * `npm run bench -- hlc`: timestamps issued and received per second, and binary encode/decode
 * per second. Alongside each, the cost of its bare floor in the same run (a `Date.now()` call,
 * a 16-byte allocation and copy) so the figures can be read as ratios on any machine.
 */
import {
  createClock,
  decodeTimestamp,
  encodeTimestamp,
  memoryHighWaterMarkStore,
  type Timestamp,
} from '@provsync/hlc'
import { rate, runSuite } from '../../../bench/lib.js'

const BATCH = 1000

await runSuite('hlc', async (ctx) => {
  const minMs = ctx.quick ? 100 : 1000
  const nodeId = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)

  let sink = 0
  const dateNowPerS = rate(
    () => {
      for (let i = 0; i < BATCH; i++) sink += Date.now()
    },
    { minMs, batch: BATCH },
  )
  ctx.record('date_now_per_s', dateNowPerS, 'calls/s')

  const clock = createClock({ nodeId })
  const nowPerS = rate(
    () => {
      for (let i = 0; i < BATCH; i++) sink += clock.now().counter
    },
    { minMs, batch: BATCH },
  )
  ctx.record('hlc_now_per_s', nowPerS, 'ops/s')
  ctx.record('hlc_now_vs_date_now', nowPerS / dateNowPerS, 'ratio')

  const persisted = createClock({ nodeId, store: memoryHighWaterMarkStore() })
  ctx.record(
    'hlc_now_persisted_per_s',
    rate(
      () => {
        for (let i = 0; i < BATCH; i++) sink += persisted.now().counter
      },
      { minMs, batch: BATCH },
    ),
    'ops/s',
  )

  // Remotes from a peer a few milliseconds behind: the common receive path.
  const receiver = createClock({ nodeId: Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9) })
  const peer = createClock({ nodeId, wallClock: () => Date.now() - 5 })
  const remotes: Timestamp[] = Array.from({ length: BATCH }, () => peer.now())
  const updatePerS = rate(
    () => {
      for (const remote of remotes) sink += receiver.update(remote).counter
    },
    { minMs, batch: BATCH },
  )
  ctx.record('hlc_update_per_s', updatePerS, 'ops/s')

  const copyPerS = rate(
    () => {
      for (let i = 0; i < BATCH; i++) {
        const bytes = new Uint8Array(16)
        bytes.set(nodeId, 8)
        sink += bytes[8]!
      }
    },
    { minMs, batch: BATCH },
  )
  ctx.record('alloc16_per_s', copyPerS, 'ops/s')

  const encodePerS = rate(
    () => {
      for (const remote of remotes) sink += encodeTimestamp(remote)[15]!
    },
    { minMs, batch: BATCH },
  )
  ctx.record('hlc_encode_per_s', encodePerS, 'ops/s')
  ctx.record('hlc_encode_vs_alloc16', encodePerS / copyPerS, 'ratio')

  const encoded = remotes.map(encodeTimestamp)
  const decodePerS = rate(
    () => {
      for (const bytes of encoded) sink += decodeTimestamp(bytes).counter
    },
    { minMs, batch: BATCH },
  )
  ctx.record('hlc_decode_per_s', decodePerS, 'ops/s')
  ctx.record('hlc_decode_vs_alloc16', decodePerS / copyPerS, 'ratio')

  if (sink === 0.5) console.log('unreachable: keeps the loops from being optimised away')
})
