import { encodeSupersession, signSupersession } from '@provsync/crdt'
import { afterEach, describe, expect, it } from 'vitest'
import { BASE_MS, hash32, hlc, NETWORK, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const A = signerN(1)

/** A supersession by A at (wallMs, counter), with A's node id: a real HLC inside that millisecond. */
function at(target: number, wallMs: number, counter: number): Uint8Array {
  const record = signSupersession(
    { target: hash32(target), kind: 'invalidate', reason: 'test', hlc: hlc(wallMs, counter, A) },
    A,
    NETWORK,
  )
  return encodeSupersession(record, NETWORK)
}

// Bug 8: `byAgent(agent, { to })` with `to` a wall time dropped the records of that millisecond
// (the bound was the millisecond's first timestamp). A wall-time bound covers the whole millisecond.
describe('byAgent with wall-time bounds', () => {
  it('includes every record of the `to` and `from` milliseconds and nothing outside', async () => {
    const state = await temp.open()
    await state.supersessions.put(at(1, BASE_MS + 4, 7))
    await state.supersessions.put(at(2, BASE_MS + 5, 0))
    await state.supersessions.put(at(3, BASE_MS + 5, 9))
    await state.supersessions.put(at(4, BASE_MS + 6, 1))
    const got = state.supersessions.byAgent(A.publicKey, { from: BASE_MS + 5, to: BASE_MS + 5 })
    expect(got.map((s) => s.record.hlc.counter)).toEqual([9, 0])
    const upTo = state.supersessions.byAgent(A.publicKey, { to: BASE_MS + 5 })
    expect(upTo.map((s) => s.record.hlc.wallMs - BASE_MS)).toEqual([5, 5, 4])
    const from = state.supersessions.byAgent(A.publicKey, { from: BASE_MS + 5 })
    expect(from.map((s) => s.record.hlc.wallMs - BASE_MS)).toEqual([6, 5, 5])
  })

  it('refuses a wall time that is not a non-negative integer', async () => {
    const state = await temp.open()
    expect(() => state.supersessions.byAgent(A.publicKey, { to: -1 })).toThrow(/wall time/)
    expect(() => state.supersessions.byAgent(A.publicKey, { from: 1.5 })).toThrow(/wall time/)
  })
})
