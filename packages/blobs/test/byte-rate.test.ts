import { ByteRate } from '@provsync/blobs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

describe('bytes per peer per second', () => {
  it('lets a second of rate through at once, then makes the sender wait for what it overdraws', () => {
    let now = 0
    const rate = new ByteRate(1000, () => now)
    expect(rate.delayFor('a', 1000)).toBe(0)
    expect(rate.delayFor('a', 500)).toBe(500)
    expect(rate.delayFor('b', 800)).toBe(0) // peers have buckets of their own
    now = 1500
    expect(rate.delayFor('a', 500)).toBe(0)
  })

  it('never lets more than one second of burst plus the elapsed rate through without waiting', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ advance: fc.integer({ min: 0, max: 2000 }), bytes: fc.integer({ min: 1, max: 3000 }) }),
          {
            minLength: 1,
            maxLength: 40,
          },
        ),
        (steps) => {
          let now = 0
          const rate = new ByteRate(1000, () => now)
          let sent = 0
          for (const { advance, bytes } of steps) {
            now += advance
            const wait = rate.delayFor('p', bytes)
            now += wait // the sender waits as told before sending
            sent += bytes
            expect(sent).toBeLessThanOrEqual(1000 + now + 1)
          }
        },
      ),
    )
  })

  it('an infinite rate never waits', () => {
    expect(new ByteRate(Number.POSITIVE_INFINITY).delayFor('a', 1e12)).toBe(0)
  })
})
