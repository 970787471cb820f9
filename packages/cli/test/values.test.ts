import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../src/errors.js'
import { parseChoice, parseCoordinatePart, parseHexKey, parseInteger, parseRun } from '../src/values.js'

const cmd = 'provsync gate'

describe('parseRun', () => {
  it('round-trips every run id in [0, 2^64)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (run) => {
        expect(parseRun(cmd, '<run>', run.toString())).toBe(run)
      }),
    )
  })

  it('refuses 2^64 and above, negatives, and non-digits with a usage error', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n ** 64n, max: 10n ** 20n - 1n }), (run) => {
        expect(() => parseRun(cmd, '<run>', run.toString())).toThrow(UsageError)
      }),
    )
    for (const bad of ['-1', '', '1.5', '0x10', ' 1', '1e3', '123456789012345678901']) {
      expect(() => parseRun(cmd, '<run>', bad)).toThrow(/<run> must be/)
    }
  })
})

describe('parseInteger', () => {
  it('accepts exactly the integers within bounds', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), fc.nat(100_000), (a, b, n) => {
        const [min, max] = a <= b ? [a, b] : [b, a]
        const inside = n >= min && n <= max
        if (inside) expect(parseInteger(cmd, '--k', String(n), min, max)).toBe(n)
        else expect(() => parseInteger(cmd, '--k', String(n), min, max)).toThrow(UsageError)
      }),
    )
    expect(() => parseInteger(cmd, '--k', 'two', 0, 9)).toThrow("--k must be an integer, got 'two'")
  })
})

describe('parseHexKey', () => {
  it('round-trips any 32-byte key, in either case', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), (key, upper) => {
        const hex = Buffer.from(key).toString('hex')
        expect(parseHexKey(cmd, '--signer', upper ? hex.toUpperCase() : hex)).toEqual(key)
      }),
    )
  })

  it('refuses other lengths and non-hex', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }).filter((k) => k.length !== 32),
        (key) => {
          expect(() => parseHexKey(cmd, '--signer', Buffer.from(key).toString('hex'))).toThrow(UsageError)
        },
      ),
    )
    expect(() => parseHexKey(cmd, '--signer', 'z'.repeat(64))).toThrow(/32-byte public key/)
  })
})

describe('parseChoice and parseCoordinatePart', () => {
  it('accepts listed choices only', () => {
    expect(parseChoice(cmd, '--kind', 'peer', ['peer', 'signer'])).toBe('peer')
    expect(() => parseChoice(cmd, '--kind', 'agent', ['peer', 'signer'])).toThrow(
      'must be one of peer, signer',
    )
  })

  it('bounds coordinate parts at 256 UTF-8 bytes, not characters', () => {
    expect(parseCoordinatePart(cmd, '<volume>', 'é'.repeat(128))).toBe('é'.repeat(128))
    expect(() => parseCoordinatePart(cmd, '<volume>', 'é'.repeat(129))).toThrow('longer than 256 bytes')
    expect(() => parseCoordinatePart(cmd, '<volume>', '')).toThrow('must not be empty')
  })
})
