import {
  compareTimestamps,
  HlcError,
  InvalidTimestampError,
  MAX_COUNTER,
  MAX_WALL_MS,
  type Timestamp,
} from '@provsync/hlc'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { assertTimestamp } from '../src/timestamp.js'
import { catchError, clusteredTimestampArb, nodeId, timestampArb } from './helpers.js'

const anyTimestamp = fc.oneof(timestampArb, clusteredTimestampArb)

describe('compareTimestamps', () => {
  test('orders by wall, then counter, then node id', () => {
    const base = { wallMs: 1000, counter: 5, nodeId: nodeId(5) }
    expect(compareTimestamps(base, { ...base, wallMs: 1001, counter: 0, nodeId: nodeId(0) })).toBe(-1)
    expect(compareTimestamps(base, { ...base, counter: 6, nodeId: nodeId(0) })).toBe(-1)
    expect(compareTimestamps(base, { ...base, nodeId: nodeId(6) })).toBe(-1)
    expect(compareTimestamps(base, { ...base, nodeId: nodeId(4) })).toBe(1)
    expect(compareTimestamps(base, { ...base, nodeId: nodeId(5) })).toBe(0)
  })

  test('node ids compare as unsigned bytes', () => {
    const low = {
      wallMs: 1,
      counter: 1,
      nodeId: Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    }
    const high = { wallMs: 1, counter: 1, nodeId: Uint8Array.of(0x80, 0, 0, 0, 0, 0, 0, 0) }
    expect(compareTimestamps(low, high)).toBe(-1)
  })

  test('is antisymmetric and zero exactly on equal fields', () => {
    fc.assert(
      fc.property(anyTimestamp, anyTimestamp, (a, b) => {
        expect(compareTimestamps(a, b)).toBe(-compareTimestamps(b, a) || 0)
        const same = a.wallMs === b.wallMs && a.counter === b.counter && equalBytes(a.nodeId, b.nodeId)
        expect(compareTimestamps(a, b) === 0).toBe(same)
      }),
    )
  })

  test('is transitive', () => {
    fc.assert(
      fc.property(anyTimestamp, anyTimestamp, anyTimestamp, (a, b, c) => {
        const sorted = [a, b, c].sort(compareTimestamps) as [Timestamp, Timestamp, Timestamp]
        expect(compareTimestamps(sorted[0], sorted[1])).toBeLessThanOrEqual(0)
        expect(compareTimestamps(sorted[1], sorted[2])).toBeLessThanOrEqual(0)
        expect(compareTimestamps(sorted[0], sorted[2])).toBeLessThanOrEqual(0)
      }),
    )
  })
})

describe('assertTimestamp', () => {
  test('accepts every field at its limits', () => {
    expect(() => assertTimestamp({ wallMs: 0, counter: 0, nodeId: nodeId(0) })).not.toThrow()
    expect(() =>
      assertTimestamp({ wallMs: MAX_WALL_MS, counter: MAX_COUNTER, nodeId: nodeId(1) }),
    ).not.toThrow()
  })

  test.each([
    ['timestamp', null],
    ['timestamp', 'x'],
    ['wallMs', { wallMs: -1, counter: 0, nodeId: nodeId(0) }],
    ['wallMs', { wallMs: 1.5, counter: 0, nodeId: nodeId(0) }],
    ['wallMs', { wallMs: MAX_WALL_MS + 1, counter: 0, nodeId: nodeId(0) }],
    ['wallMs', { wallMs: Number.NaN, counter: 0, nodeId: nodeId(0) }],
    ['wallMs', { wallMs: '5', counter: 0, nodeId: nodeId(0) }],
    ['counter', { wallMs: 0, counter: MAX_COUNTER + 1, nodeId: nodeId(0) }],
    ['counter', { wallMs: 0, counter: -1, nodeId: nodeId(0) }],
    ['counter', { wallMs: 0, counter: 0.5, nodeId: nodeId(0) }],
    ['nodeId', { wallMs: 0, counter: 0, nodeId: new Uint8Array(7) }],
    ['nodeId', { wallMs: 0, counter: 0, nodeId: new Uint8Array(9) }],
    ['nodeId', { wallMs: 0, counter: 0, nodeId: [0, 0, 0, 0, 0, 0, 0, 0] }],
  ])('rejects a bad %s', (field, value) => {
    const error = catchError(() => assertTimestamp(value))
    expect(error).toBeInstanceOf(InvalidTimestampError)
    expect(error).toBeInstanceOf(HlcError)
    expect(error).toMatchObject({ name: 'InvalidTimestampError', field })
  })
})

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
