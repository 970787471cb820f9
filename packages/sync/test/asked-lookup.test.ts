import { hex } from '@provsync/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { askedLookup } from '../src/protocol/fetch.js'

const key = (n: number) => Uint8Array.of(n >> 8, n & 0xff)

describe('askedLookup (which pulled records were asked for)', () => {
  it('answers exactly set membership, whatever order the keys are looked up in', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 60 }),
        (asked, looked) => {
          const wasAsked = askedLookup(asked.map(key))
          const set = new Set(asked.map((n) => hex(key(n))))
          for (const n of looked) expect(wasAsked(key(n))).toBe(set.has(hex(key(n))))
        },
      ),
    )
  })

  it('finds keys looked up in the order asked, some skipped, and a key again after its turn', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        (asked, skip) => {
          const keys = asked.map(key)
          const wasAsked = askedLookup(keys)
          // An honest answer: the order asked, withheld ones left out.
          const answered = keys.filter((_, i) => skip[i] !== true)
          for (const k of answered) expect(wasAsked(k)).toBe(true)
          // Looked up again (out of order now): still asked, and a stranger still not.
          if (answered.length > 0) expect(wasAsked(answered[0]!)).toBe(true)
          expect(wasAsked(key(1000))).toBe(false)
        },
      ),
    )
  })
})
