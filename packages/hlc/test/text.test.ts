import {
  compareTimestamps,
  formatTimestamp,
  InvalidTimestampError,
  MAX_WALL_MS,
  parseTimestamp,
  TimestampDecodeError,
} from '@provsync/hlc'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { catchError, clusteredTimestampArb, nodeIdArb, timestampArb } from './helpers.js'

const anyTimestamp = fc.oneof(timestampArb, clusteredTimestampArb)
const YEAR_10000_MS = Date.UTC(10000, 0, 1)

describe('formatTimestamp', () => {
  test('writes ISO UTC time / 4 hex counter / 16 hex node id', () => {
    const ts = {
      wallMs: Date.UTC(2026, 10, 22, 14, 3, 22, 123),
      counter: 0x1f,
      nodeId: Uint8Array.of(0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71),
    }
    expect(formatTimestamp(ts)).toBe('2026-11-22T14:03:22.123Z/001f/0a1b2c3d4e5f6071')
  })

  test('writes years past 9999 in the expanded ISO form', () => {
    const ts = { wallMs: MAX_WALL_MS, counter: 0xffff, nodeId: new Uint8Array(8).fill(0xff) }
    expect(formatTimestamp(ts)).toBe('+010889-08-02T05:31:50.655Z/ffff/ffffffffffffffff')
  })

  test('string order equals timestamp order up to the year 9999', () => {
    const before10000 = fc.record({
      wallMs: fc.integer({ min: 0, max: YEAR_10000_MS - 1 }),
      counter: fc.integer({ min: 0, max: 0xffff }),
      nodeId: nodeIdArb,
    })
    fc.assert(
      fc.property(before10000, before10000, (a, b) => {
        const textA = formatTimestamp(a)
        const textB = formatTimestamp(b)
        const textOrder = textA < textB ? -1 : textA > textB ? 1 : 0
        expect(textOrder).toBe(compareTimestamps(a, b))
      }),
    )
  })

  test('refuses an invalid timestamp', () => {
    expect(() => formatTimestamp({ wallMs: -5, counter: 0, nodeId: new Uint8Array(8) })).toThrow(
      InvalidTimestampError,
    )
  })
})

describe('parseTimestamp', () => {
  test('round-trips every timestamp, both ways', () => {
    fc.assert(
      fc.property(anyTimestamp, (ts) => {
        const text = formatTimestamp(ts)
        const parsed = parseTimestamp(text)
        expect(parsed).toEqual(ts)
        expect(formatTimestamp(parsed)).toBe(text)
      }),
      { numRuns: 1000 },
    )
  })

  test.each([
    ['empty', ''],
    ['no separators', '2026-11-22T14:03:22.123Z0001a1b2c3d4e5f60718'],
    ['uppercase hex', '2026-11-22T14:03:22.123Z/000A/0a1b2c3d4e5f6071'],
    ['short counter', '2026-11-22T14:03:22.123Z/001/0a1b2c3d4e5f6071'],
    ['long node id', '2026-11-22T14:03:22.123Z/0001/0a1b2c3d4e5f607182'],
    ['short node id', '2026-11-22T14:03:22.123Z/0001/0a1b2c3d4e5f60'],
    ['non-hex node id', '2026-11-22T14:03:22.123Z/0001/0a1b2c3d4e5f607g'],
    ['no milliseconds', '2026-11-22T14:03:22Z/0001/0a1b2c3d4e5f6071'],
    ['a time zone offset', '2026-11-22T14:03:22.123+01:00/0001/0a1b2c3d4e5f6071'],
    ['February 30th', '2026-02-30T00:00:00.000Z/0000/0000000000000000'],
    ['hour 24', '2026-01-01T24:00:00.000Z/0000/0000000000000000'],
    ['month 13', '2026-13-01T00:00:00.000Z/0000/0000000000000000'],
    ['an expanded year below 10000', '+002026-11-22T14:03:22.123Z/0001/0a1b2c3d4e5f6071'],
    ['a time before 1970', '1969-12-31T23:59:59.999Z/0000/0000000000000000'],
    ['a time past 2^48 ms', '+010889-08-02T05:31:50.656Z/0000/0000000000000000'],
    ['surrounding space', ' 2026-11-22T14:03:22.123Z/0001/0a1b2c3d4e5f6071'],
    ['a trailing newline', '2026-11-22T14:03:22.123Z/0001/0a1b2c3d4e5f6071\n'],
  ])('rejects %s', (_, text) => {
    const error = catchError(() => parseTimestamp(text))
    expect(error).toBeInstanceOf(TimestampDecodeError)
    expect(error).toMatchObject({ name: 'TimestampDecodeError' })
  })

  test('rejects input that is not a string', () => {
    expect(() => parseTimestamp(42 as unknown as string)).toThrow(TimestampDecodeError)
    expect(() => parseTimestamp(null as unknown as string)).toThrow(TimestampDecodeError)
  })

  test('never throws anything but TimestampDecodeError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        try {
          formatTimestamp(parseTimestamp(text))
        } catch (error) {
          expect(error).toBeInstanceOf(TimestampDecodeError)
        }
      }),
    )
  })
})
