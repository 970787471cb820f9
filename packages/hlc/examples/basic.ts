/**
 * Two nodes exchange a message, one refuses a far-future timestamp, and a node restarts
 * without going back in time. Run it with `npx tsx packages/hlc/examples/basic.ts`.
 */
import { fileURLToPath } from 'node:url'
import {
  ClockDriftError,
  compareTimestamps,
  createClock,
  decodeTimestamp,
  encodeTimestamp,
  formatTimestamp,
  memoryHighWaterMarkStore,
  type Timestamp,
} from '@provsync/hlc'

export interface ExampleResult {
  sent: Timestamp
  received: Timestamp
  refusedDriftMs: number
  afterRestart: Timestamp
}

export function main(log: (line: string) => void = console.log): ExampleResult {
  const aliceId = Uint8Array.of(0xa1, 0x1c, 0xe0, 0, 0, 0, 0, 1)
  const bobId = Uint8Array.of(0xb0, 0xb0, 0, 0, 0, 0, 0, 2)
  const aliceStore = memoryHighWaterMarkStore() // use an LMDB-backed store in a real node
  const alice = createClock({ nodeId: aliceId, store: aliceStore })
  // Bob's wall clock runs five seconds slow.
  const bob = createClock({ nodeId: bobId, wallClock: () => Date.now() - 5_000 })

  const sent = alice.now()
  const key = encodeTimestamp(sent) // 16 bytes whose byte order is timestamp order: an LMDB key
  const received = bob.update(decodeTimestamp(key))
  log(`alice sends   ${formatTimestamp(sent)}`)
  log(`bob receives  ${formatTimestamp(received)} (after alice's, although bob's wall clock is slow)`)

  let refusedDriftMs = 0
  try {
    bob.update({
      wallMs: Date.now() + 3_600_000,
      counter: 0,
      nodeId: Uint8Array.of(0xba, 0xd, 0, 0, 0, 0, 0, 3),
    })
  } catch (error) {
    if (!(error instanceof ClockDriftError)) throw error
    refusedDriftMs = error.driftMs
    log(`bob refuses a timestamp ${error.driftMs} ms ahead of his wall clock; his clock is unchanged`)
  }

  // A restart: a new clock on the same store resumes above everything the old one issued.
  const restarted = createClock({ nodeId: aliceId, store: aliceStore, wallClock: () => sent.wallMs - 60_000 })
  const afterRestart = restarted.now()
  log(`alice, restarted with her wall clock a minute back, issues ${formatTimestamp(afterRestart)}`)
  log(`still after what she sent before: ${compareTimestamps(afterRestart, sent) > 0}`)
  return { sent, received, refusedDriftMs, afterRestart }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main()
