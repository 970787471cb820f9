import {
  compareTimestamps,
  decodeTimestamp,
  encodeTimestamp,
  HlcError,
  InvalidTimestampError,
  MAX_WALL_MS,
  TIMESTAMP_BYTES,
  TimestampDecodeError,
} from '@provsync/hlc'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { catchError, clusteredTimestampArb, nodeId, timestampArb } from './helpers.js'

const anyTimestamp = fc.oneof(timestampArb, clusteredTimestampArb)

describe('encodeTimestamp', () => {
  test('lays out 6 bytes wall, 2 bytes counter, 8 bytes node id, big-endian', () => {
    const bytes = encodeTimestamp({
      wallMs: 0x0a0b0c0d0e0f,
      counter: 0x1234,
      nodeId: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    })
    expect([...bytes]).toEqual([0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8])
  })

  test('encodes the largest wall time as six 0xff bytes', () => {
    const bytes = encodeTimestamp({ wallMs: MAX_WALL_MS, counter: 0, nodeId: nodeId(0) })
    expect([...bytes.subarray(0, 6)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
  })

  test('byte order equals timestamp order', () => {
    fc.assert(
      fc.property(anyTimestamp, anyTimestamp, (a, b) => {
        expect(Buffer.compare(encodeTimestamp(a), encodeTimestamp(b))).toBe(compareTimestamps(a, b))
      }),
      { numRuns: 1000 },
    )
  })

  test.each([
    ['wallMs', { wallMs: -1, counter: 0, nodeId: nodeId(0) }],
    ['wallMs', { wallMs: 2 ** 48, counter: 0, nodeId: nodeId(0) }],
    ['counter', { wallMs: 0, counter: 65536, nodeId: nodeId(0) }],
    ['nodeId', { wallMs: 0, counter: 0, nodeId: new Uint8Array(32) }],
  ])('refuses a timestamp with a bad %s', (field, ts) => {
    const error = catchError(() => encodeTimestamp(ts))
    expect(error).toBeInstanceOf(InvalidTimestampError)
    expect(error).toMatchObject({ field })
  })
})

describe('decodeTimestamp', () => {
  test('round-trips every timestamp', () => {
    fc.assert(
      fc.property(anyTimestamp, (ts) => {
        expect(decodeTimestamp(encodeTimestamp(ts))).toEqual(ts)
      }),
      { numRuns: 1000 },
    )
  })

  test('every 16-byte string decodes and re-encodes to itself', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: TIMESTAMP_BYTES, maxLength: TIMESTAMP_BYTES }), (bytes) => {
        expect(encodeTimestamp(decodeTimestamp(bytes))).toEqual(bytes)
      }),
    )
  })

  test('reads a Buffer, as lmdb returns, into a node id that does not alias it', () => {
    const buffer = Buffer.from(encodeTimestamp({ wallMs: 42, counter: 7, nodeId: nodeId(9) }))
    const ts = decodeTimestamp(buffer)
    buffer.fill(0)
    expect(ts).toEqual({ wallMs: 42, counter: 7, nodeId: nodeId(9) })
  })

  test('rejects any other length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }).filter((b) => b.length !== TIMESTAMP_BYTES),
        (bytes) => {
          const error = catchError(() => decodeTimestamp(bytes))
          expect(error).toBeInstanceOf(TimestampDecodeError)
          expect(error).toBeInstanceOf(HlcError)
          expect((error as TimestampDecodeError).reason).toContain(`got ${bytes.length}`)
        },
      ),
    )
  })

  test.each([
    null,
    undefined,
    '0000000000000000',
    new Array(16).fill(0),
    new Uint16Array(16),
  ])('rejects %o, which is not a Uint8Array', (value) => {
    expect(() => decodeTimestamp(value as unknown as Uint8Array)).toThrow(TimestampDecodeError)
  })
})
