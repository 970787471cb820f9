import {
  ClockDriftError,
  ClockExhaustedError,
  ClockOptionsError,
  compareTimestamps,
  createClock,
  HlcError,
  InvalidTimestampError,
  MAX_COUNTER,
  MAX_WALL_MS,
  type Timestamp,
  WallClockError,
} from '@provsync/hlc'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { DEFAULT_MAX_DRIFT_MS } from '../src/clock.js'
import { catchError, manualWall, nodeId } from './helpers.js'

const T = Date.UTC(2026, 10, 22)
const me = nodeId(1)
const peer = nodeId(2)

function clockAt(startMs: number, maxDriftMs?: number) {
  const wall = manualWall(startMs)
  const clock = createClock({
    nodeId: me,
    wallClock: wall.read,
    ...(maxDriftMs === undefined ? {} : { maxDriftMs }),
  })
  return { wall, clock }
}

function ts(wallMs: number, counter: number, id: Uint8Array = peer): Timestamp {
  return { wallMs, counter, nodeId: id }
}

function fields(t: Timestamp | undefined): [number, number] | undefined {
  return t === undefined ? undefined : [t.wallMs, t.counter]
}

describe('now()', () => {
  test('starts at the wall clock with counter 0 and carries the node id', () => {
    const { clock } = clockAt(T)
    expect(clock.last()).toBeUndefined()
    const first = clock.now()
    expect(first).toEqual(ts(T, 0, me))
    expect(clock.last()).toBe(first)
  })

  test('counts within a millisecond and resets when the wall clock moves on', () => {
    const { wall, clock } = clockAt(T)
    expect([clock.now(), clock.now(), clock.now()].map(fields)).toEqual([
      [T, 0],
      [T, 1],
      [T, 2],
    ])
    wall.set(T + 5)
    expect(fields(clock.now())).toEqual([T + 5, 0])
  })

  test('stays monotone when the wall clock steps back', () => {
    const { wall, clock } = clockAt(T)
    clock.now()
    wall.set(T - 10_000)
    expect(fields(clock.now())).toEqual([T, 1])
    wall.set(T + 1)
    expect(fields(clock.now())).toEqual([T + 1, 0])
  })

  test('moves to the next millisecond when the counter is full', () => {
    const { clock } = clockAt(T)
    for (let i = 0; i <= MAX_COUNTER; i++) clock.now()
    expect(fields(clock.last())).toEqual([T, MAX_COUNTER])
    expect(fields(clock.now())).toEqual([T + 1, 0])
  })

  test('floors a fractional wall clock and works from time zero', () => {
    expect(fields(clockAt(1234.9).clock.now())).toEqual([1234, 0])
    expect(fields(clockAt(0).clock.now())).toEqual([0, 0])
  })

  test('uses Date.now by default', () => {
    const clock = createClock({ nodeId: me })
    const before = Date.now()
    const issued = clock.now()
    expect(issued.wallMs).toBeGreaterThanOrEqual(before)
    expect(issued.wallMs).toBeLessThanOrEqual(Date.now())
  })
})

describe('update()', () => {
  test('takes the wall clock when it is ahead of both', () => {
    const { wall, clock } = clockAt(T)
    clock.now()
    wall.set(T + 100)
    expect(fields(clock.update(ts(T + 50, 9)))).toEqual([T + 100, 0])
  })

  test('takes the remote time and counts past it when the remote is ahead', () => {
    const { clock } = clockAt(T)
    clock.now()
    expect(fields(clock.update(ts(T + 500, 7)))).toEqual([T + 500, 8])
  })

  test('counts past the larger counter when local and remote share a millisecond', () => {
    const { clock } = clockAt(T)
    clock.now()
    expect(fields(clock.update(ts(T, 40)))).toEqual([T, 41])
    expect(fields(clock.update(ts(T, 3)))).toEqual([T, 42])
  })

  test('counts on locally when the local clock is ahead of the remote', () => {
    const { wall, clock } = clockAt(T)
    clock.update(ts(T + 900, 0))
    wall.set(T + 10)
    expect(fields(clock.update(ts(T + 5, 60)))).toEqual([T + 900, 2])
  })

  test('is above the remote even when node ids would order the remote first', () => {
    const { clock } = clockAt(T)
    const remote = ts(T, 5, new Uint8Array(8).fill(0xff))
    expect(compareTimestamps(clock.update(remote), remote)).toBe(1)
  })

  test('moves to the next millisecond past a remote with a full counter', () => {
    const { clock } = clockAt(T)
    expect(fields(clock.update(ts(T + 10, MAX_COUNTER)))).toEqual([T + 11, 0])
  })

  test('refuses a malformed remote and stays unchanged', () => {
    const { clock } = clockAt(T)
    const before = clock.now()
    const error = catchError(() => clock.update({ wallMs: T, counter: 70_000, nodeId: peer }))
    expect(error).toBeInstanceOf(InvalidTimestampError)
    expect(clock.last()).toBe(before)
    expect(fields(clock.now())).toEqual([T, 1])
  })
})

describe('drift guard', () => {
  test('defaults to 60 s', () => {
    expect(DEFAULT_MAX_DRIFT_MS).toBe(60_000)
    const { clock } = clockAt(T)
    expect(() => clock.check(ts(T + 60_000, 0))).not.toThrow()
    expect(() => clock.check(ts(T + 60_001, 0))).toThrow(ClockDriftError)
  })

  test('update() refuses a remote too far ahead with the drift, and leaves the clock unchanged', () => {
    const { clock } = clockAt(T, 1000)
    const before = clock.now()
    const remote = ts(T + 1001, 0)
    const error = catchError(() => clock.update(remote))
    expect(error).toBeInstanceOf(ClockDriftError)
    expect(error).toBeInstanceOf(HlcError)
    expect(error).toMatchObject({
      name: 'ClockDriftError',
      driftMs: 1001,
      maxDriftMs: 1000,
      wallMs: T,
      remote,
    })
    expect(clock.last()).toBe(before)
    expect(fields(clock.now())).toEqual([T, 1])
    expect(fields(clock.update(ts(T + 1000, 0)))).toEqual([T + 1000, 1])
  })

  test('check() is the guard alone: it never moves the clock', () => {
    const { clock } = clockAt(T, 1000)
    clock.check(ts(T + 1000, 500))
    expect(clock.last()).toBeUndefined()
    expect(fields(clock.now())).toEqual([T, 0])
    expect(() => clock.check(ts(T + 5000, 0))).toThrow(ClockDriftError)
    expect(() => clock.check(ts(T, 0, new Uint8Array(3)))).toThrow(InvalidTimestampError)
    expect(fields(clock.now())).toEqual([T, 1])
  })

  test('measures drift against the wall clock at the time of the check', () => {
    const { wall, clock } = clockAt(T, 1000)
    const remote = ts(T + 5000, 0)
    expect(() => clock.check(remote)).toThrow(ClockDriftError)
    wall.set(T + 4000)
    expect(() => clock.check(remote)).not.toThrow()
  })
})

describe('exhaustion', () => {
  test('refuses to run logical time past the drift bound, then recovers with the wall clock', () => {
    const { wall, clock } = clockAt(T, 0)
    for (let i = 0; i <= MAX_COUNTER; i++) clock.now()
    const full = clock.last()
    const error = catchError(() => clock.now())
    expect(error).toBeInstanceOf(ClockExhaustedError)
    expect(error).toMatchObject({ name: 'ClockExhaustedError', wallMs: T, logicalMs: T + 1, maxDriftMs: 0 })
    expect(clock.last()).toBe(full)
    wall.set(T + 1)
    expect(fields(clock.now())).toEqual([T + 1, 0])
  })

  test('after the wall clock steps back past the bound, counts on but does not advance', () => {
    const { wall, clock } = clockAt(T)
    clock.now()
    wall.set(T - 2 * 3_600_000)
    let countedOn = 0
    for (let i = 1; i <= MAX_COUNTER; i++) if (clock.now().wallMs === T) countedOn++
    expect(countedOn).toBe(MAX_COUNTER)
    expect(() => clock.now()).toThrow(ClockExhaustedError)
    expect(() => clock.update(ts(T - 2 * 3_600_000, 0))).toThrow(ClockExhaustedError)
    expect(fields(clock.last())).toEqual([T, MAX_COUNTER])
  })

  test('update() refuses a remote at the bound with a full counter', () => {
    const { clock } = clockAt(T, 1000)
    clock.now()
    expect(() => clock.update(ts(T + 1000, MAX_COUNTER))).toThrow(ClockExhaustedError)
    expect(fields(clock.last())).toEqual([T, 0])
  })

  test('refuses to go past the largest encodable wall time', () => {
    const { clock } = clockAt(MAX_WALL_MS)
    clock.update(ts(MAX_WALL_MS, MAX_COUNTER - 1))
    expect(() => clock.now()).toThrow(ClockExhaustedError)
  })
})

describe('options', () => {
  test.each([
    ['nodeId', { nodeId: new Uint8Array(7) }],
    ['nodeId', { nodeId: 'node-1' }],
    ['maxDriftMs', { nodeId: me, maxDriftMs: -1 }],
    ['maxDriftMs', { nodeId: me, maxDriftMs: 0.5 }],
    ['maxDriftMs', { nodeId: me, maxDriftMs: Number.POSITIVE_INFINITY }],
    ['reserveMs', { nodeId: me, reserveMs: 0 }],
    ['reserveMs', { nodeId: me, maxDriftMs: 1000, reserveMs: 1001 }],
  ])('refuses a bad %s', (option, options) => {
    const error = catchError(() => createClock(options as Parameters<typeof createClock>[0]))
    expect(error).toBeInstanceOf(ClockOptionsError)
    expect(error).toMatchObject({ name: 'ClockOptionsError', option })
  })

  test('keeps its own copy of the node id', () => {
    const id = nodeId(7)
    const clock = createClock({ nodeId: id, wallClock: () => T })
    id.fill(0)
    expect(clock.nodeId).toEqual(nodeId(7))
    expect(clock.now().nodeId).toEqual(nodeId(7))
  })

  test.each([
    Number.NaN,
    -1,
    2 ** 48,
    Number.POSITIVE_INFINITY,
    undefined,
  ])('refuses a wall clock reading of %s', (reading) => {
    const clock = createClock({ nodeId: me, wallClock: () => reading as number })
    const error = catchError(() => clock.now())
    expect(error).toBeInstanceOf(WallClockError)
    expect(clock.last()).toBeUndefined()
  })
})

type Event =
  | { kind: 'now'; step: number }
  | { kind: 'update'; step: number; fromLogical: boolean; remoteOffset: number; remoteCounter: number }

const MAX_DRIFT = 50
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('now' as const), step: fc.integer({ min: -100, max: 100 }) }),
  fc.record({
    kind: fc.constant('update' as const),
    step: fc.integer({ min: -100, max: 100 }),
    // Offsets from the clock's own logical time hit the shared-millisecond rules often.
    fromLogical: fc.boolean(),
    remoteOffset: fc.oneof(fc.integer({ min: -200, max: MAX_DRIFT + 20 }), fc.integer({ min: -2, max: 2 })),
    remoteCounter: fc.oneof(fc.integer({ min: 0, max: MAX_COUNTER }), fc.constant(MAX_COUNTER)),
  }),
)

interface Outcome {
  wallMs: number
  maxWallSeen: number
  remote?: Timestamp
  issued?: Timestamp
  error?: unknown
}

/** Runs events against a clock whose wall moves by each event's step (only forward if `monotone`). */
function run(events: Event[], monotone: boolean): Outcome[] {
  const { wall, clock } = clockAt(T, MAX_DRIFT)
  let wallMs = T
  let maxWallSeen = T
  const outcomes: Outcome[] = []
  for (const event of events) {
    wallMs = Math.max(0, monotone ? wallMs + Math.abs(event.step) : wallMs + event.step)
    maxWallSeen = Math.max(maxWallSeen, wallMs)
    wall.set(wallMs)
    const base = event.kind === 'update' && event.fromLogical ? (clock.last()?.wallMs ?? wallMs) : wallMs
    const remote =
      event.kind === 'update' ? ts(Math.max(0, base + event.remoteOffset), event.remoteCounter) : undefined
    const before = clock.last()
    try {
      const issued = remote === undefined ? clock.now() : clock.update(remote)
      outcomes.push({ wallMs, maxWallSeen, issued, ...(remote ? { remote } : {}) })
    } catch (error) {
      expect(error).toBeInstanceOf(HlcError)
      expect(clock.last()).toBe(before)
      outcomes.push({ wallMs, maxWallSeen, error, ...(remote ? { remote } : {}) })
    }
  }
  return outcomes
}

describe('properties', () => {
  const eventsArb = fc.array(eventArb, { minLength: 1, maxLength: 60 })

  test('every issued timestamp is above the previous one, and update(r) is above r', () => {
    fc.assert(
      fc.property(eventsArb, fc.boolean(), (events, monotone) => {
        let previous: Timestamp | undefined
        for (const outcome of run(events, monotone)) {
          if (outcome.issued === undefined) continue
          if (previous !== undefined) expect(compareTimestamps(outcome.issued, previous)).toBe(1)
          if (outcome.remote !== undefined) expect(compareTimestamps(outcome.issued, outcome.remote)).toBe(1)
          previous = outcome.issued
        }
      }),
    )
  })

  test('logical time never falls behind the wall clock nor runs past the drift bound', () => {
    fc.assert(
      fc.property(eventsArb, fc.boolean(), (events, monotone) => {
        for (const outcome of run(events, monotone)) {
          if (outcome.issued === undefined) continue
          expect(outcome.issued.wallMs).toBeGreaterThanOrEqual(outcome.wallMs)
          expect(outcome.issued.wallMs).toBeLessThanOrEqual(outcome.maxWallSeen + MAX_DRIFT)
          if (monotone) expect(outcome.issued.wallMs - outcome.wallMs).toBeLessThanOrEqual(MAX_DRIFT)
        }
      }),
    )
  })

  test('a refusal is a far-future remote or an exhausted clock, never anything else', () => {
    fc.assert(
      fc.property(eventsArb, fc.boolean(), (events, monotone) => {
        for (const outcome of run(events, monotone)) {
          if (outcome.error === undefined) continue
          if (outcome.error instanceof ClockDriftError) {
            expect(outcome.remote!.wallMs - outcome.wallMs).toBeGreaterThan(MAX_DRIFT)
          } else {
            expect(outcome.error).toBeInstanceOf(ClockExhaustedError)
            expect((outcome.error as ClockExhaustedError).logicalMs).toBeGreaterThan(
              outcome.wallMs + MAX_DRIFT,
            )
          }
        }
      }),
    )
  })

  test('now() is monotone under any sequence of wall clock readings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 200 }),
        (readings) => {
          const wall = manualWall(0)
          const clock = createClock({ nodeId: me, wallClock: wall.read, maxDriftMs: 20_000 })
          let previous: Timestamp | undefined
          for (const reading of readings) {
            wall.set(reading)
            const issued = clock.now()
            if (previous !== undefined) expect(compareTimestamps(issued, previous)).toBe(1)
            previous = issued
          }
        },
      ),
    )
  })
})
