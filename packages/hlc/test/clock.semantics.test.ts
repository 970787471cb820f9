import {
  ClockDriftError,
  ClockExhaustedError,
  ClockOptionsError,
  compareTimestamps,
  createClock,
  decodeTimestamp,
  InvalidTimestampError,
  MAX_COUNTER,
  MAX_WALL_MS,
  parseTimestamp,
  type Timestamp,
  type TimestampDecodeError,
  WallClockError,
} from '@provsync/hlc'
import { describe, expect, test } from 'vitest'
import { catchError, manualWall, nodeId, recordingStore } from './helpers.js'

const messageOf = (fn: () => unknown): string => (catchError(fn) as Error).message

const T = Date.UTC(2026, 10, 22)
const me = nodeId(1)

describe('clock: the saved high-water mark', () => {
  test('the first timestamp saves a mark reserveMs past it, before it is handed out', () => {
    const store = recordingStore()
    const clock = createClock({ nodeId: me, wallClock: () => T, store, reserveMs: 250 })
    expect(clock.now()).toMatchObject({ wallMs: T, counter: 0 })
    expect(store.saved.map((m) => [m.wallMs, m.counter])).toEqual([[T + 250, 0]])
  })

  test('counting on in a loaded millisecond measures the mark from the wall clock', () => {
    const store = recordingStore({ wallMs: T + 500, counter: 0, nodeId: me })
    const clock = createClock({ nodeId: me, wallClock: () => T, store, reserveMs: 1000 })
    expect(clock.now()).toMatchObject({ wallMs: T + 500, counter: 1 })
    expect(store.saved.at(-1)).toMatchObject({ wallMs: T + 1000, counter: 0 })
  })

  test('a mark that reaches exactly the largest wall time is saved as it is', () => {
    const store = recordingStore()
    const clock = createClock({ nodeId: me, wallClock: () => MAX_WALL_MS - 1000, store, reserveMs: 1000 })
    clock.now()
    expect(store.saved.at(-1)).toMatchObject({ wallMs: MAX_WALL_MS, counter: 0 })
    const end = recordingStore()
    createClock({ nodeId: me, wallClock: () => MAX_WALL_MS - 999, store: end, reserveMs: 1000 }).now()
    expect(end.saved.at(-1)).toMatchObject({ wallMs: MAX_WALL_MS, counter: MAX_COUNTER })
  })
})

describe('timestamps: order and validation', () => {
  test('node ids of different lengths order by their common bytes, then the shorter first', () => {
    const at = (id: number[]) => ({ wallMs: 1, counter: 0, nodeId: Uint8Array.from(id) })
    expect(compareTimestamps(at([1]), at([1, 0]))).toBe(-1)
    expect(compareTimestamps(at([1, 0]), at([1]))).toBe(1)
    expect(compareTimestamps(at([2]), at([1, 9]))).toBe(1)
    expect(compareTimestamps(at([1, 2]), at([1, 2]))).toBe(0)
  })

  test('refusals name the field and what was wrong', () => {
    const cases: [unknown, string, string][] = [
      [null, 'timestamp', 'timestamp must be an object'],
      [
        { wallMs: -1, counter: 0, nodeId: me },
        'wallMs',
        `wallMs must be an integer in [0, ${MAX_WALL_MS}], got -1`,
      ],
      [
        { wallMs: 1, counter: 1.5, nodeId: me },
        'counter',
        `counter must be an integer in [0, ${MAX_COUNTER}], got 1.5`,
      ],
      [{ wallMs: 1, counter: 0, nodeId: new Uint8Array(3) }, 'nodeId', 'nodeId must be 8 bytes, got 3 bytes'],
      [{ wallMs: 1, counter: 0, nodeId: 'ab' }, 'nodeId', 'nodeId must be 8 bytes, got string'],
    ]
    const clock = createClock({ nodeId: me, wallClock: () => T })
    for (const [value, field, message] of cases) {
      const error = catchError(() => clock.update(value as Timestamp))
      expect(error).toBeInstanceOf(InvalidTimestampError)
      expect(error).toMatchObject({ field, message: expect.stringContaining(message) })
    }
  })
})

describe('errors: messages that say what happened', () => {
  test('decode and parse name what they were given', () => {
    expect(catchError(() => decodeTimestamp(null as unknown as Uint8Array))).toMatchObject({
      message: 'cannot decode timestamp: expected a Uint8Array, got null',
      reason: 'expected a Uint8Array, got null',
    })
    expect(messageOf(() => decodeTimestamp(5 as unknown as Uint8Array))).toBe(
      'cannot decode timestamp: expected a Uint8Array, got number',
    )
    expect(messageOf(() => parseTimestamp(null as unknown as string))).toBe(
      'cannot decode timestamp: expected a string, got null',
    )
    expect(messageOf(() => parseTimestamp(7 as unknown as string))).toBe(
      'cannot decode timestamp: expected a string, got number',
    )
    const long = `x${'y'.repeat(100)}`
    const error = catchError(() => parseTimestamp(long)) as TimestampDecodeError
    expect(error.reason).toBe(
      `expected <ISO-8601 UTC time>/<4 hex counter>/<16 hex node id>, got ${JSON.stringify(long.slice(0, 80))}`,
    )
    expect(messageOf(() => parseTimestamp('2026-02-30T00:00:00.000Z/0000/0000000000000001'))).toBe(
      'cannot decode timestamp: not a valid UTC time: 2026-02-30T00:00:00.000Z',
    )
    expect(messageOf(() => parseTimestamp('+010890-01-01T00:00:00.000Z/0000/0000000000000001'))).toBe(
      'cannot decode timestamp: time +010890-01-01T00:00:00.000Z is outside the encodable range [1970, 10889]',
    )
  })

  test('clock errors carry their figures in fields and message', () => {
    const drift = new ClockDriftError({ wallMs: T + 70, counter: 0, nodeId: me }, T, 50)
    expect(drift).toMatchObject({ driftMs: 70, wallMs: T, maxDriftMs: 50 })
    expect(drift.message).toBe('remote timestamp is 70 ms ahead of the local wall clock (limit 50 ms)')
    const exhausted = new ClockExhaustedError(T, T + 61, 60)
    expect(exhausted).toMatchObject({ wallMs: T, logicalMs: T + 61, maxDriftMs: 60 })
    expect(exhausted.message).toBe(
      `issuing would move logical time to ${T + 61}, 61 ms ahead of the wall clock (limit 60 ms); wait for the wall clock to catch up`,
    )
    expect(new WallClockError(Number.NaN).message).toBe(
      'wall clock returned NaN, expected milliseconds in [0, 2^48)',
    )
    expect(new ClockOptionsError('reserveMs', 'too big').message).toBe('reserveMs: too big')
  })

  test('option errors name the option and the value', () => {
    const wall = manualWall(T)
    expect(messageOf(() => createClock({ nodeId: me, wallClock: wall.read, maxDriftMs: -1 }))).toBe(
      'maxDriftMs: must be a non-negative integer, got -1',
    )
    expect(
      messageOf(() => createClock({ nodeId: me, wallClock: wall.read, maxDriftMs: 10, reserveMs: 11 })),
    ).toBe('reserveMs: must be an integer in [1, maxDriftMs], got 11')
  })
})
