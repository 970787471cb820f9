import {
  ClockExhaustedError,
  compareTimestamps,
  createClock,
  type HighWaterMarkStore,
  InvalidTimestampError,
  MAX_COUNTER,
  MAX_WALL_MS,
  memoryHighWaterMarkStore,
  type Timestamp,
} from '@provsync/hlc'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { catchError, manualWall, nodeId } from './helpers.js'

const T = Date.UTC(2026, 10, 22)
const me = nodeId(1)
const HOUR = 3_600_000

/** Wraps a store to record every mark saved through it. */
function recording(store: HighWaterMarkStore): HighWaterMarkStore & { saved: Timestamp[] } {
  const saved: Timestamp[] = []
  return {
    saved,
    load: () => store.load(),
    save: (ts) => {
      saved.push(ts)
      store.save(ts)
    },
  }
}

function start(store: HighWaterMarkStore, wall: () => number, reserveMs = 1000) {
  return createClock({ nodeId: me, wallClock: wall, store, reserveMs })
}

describe('high-water mark', () => {
  test('a restarted clock issues above everything issued before, at the same wall time', () => {
    const store = memoryHighWaterMarkStore()
    const wall = manualWall(T)
    const first = start(store, wall.read)
    const issued = [first.now(), first.now(), first.now()]
    const second = start(store, wall.read)
    const next = second.now()
    for (const earlier of issued) expect(compareTimestamps(next, earlier)).toBe(1)
    expect(second.last()).toBe(next)
  })

  test('a restarted clock issues above everything issued before, after the wall clock went back an hour', () => {
    const store = memoryHighWaterMarkStore()
    const wall = manualWall(T)
    const first = start(store, wall.read)
    first.now()
    wall.set(T + 500)
    const latest = first.update({ wallMs: T + 30_000, counter: 12, nodeId: nodeId(9) })
    wall.set(T - HOUR)
    const second = start(store, wall.read)
    expect(compareTimestamps(second.now(), latest)).toBe(1)
    expect(compareTimestamps(second.now(), latest)).toBe(1)
  })

  test('writes about once per reserveMs of logical time, not on every timestamp', () => {
    const store = recording(memoryHighWaterMarkStore())
    const wall = manualWall(T)
    const clock = start(store, wall.read, 100)
    for (let ms = 0; ms < 1000; ms++) {
      wall.set(T + ms)
      for (let i = 0; i < 10; i++) clock.now()
    }
    expect(store.saved.map((mark) => mark.wallMs)).toEqual(
      Array.from({ length: 10 }, (_, i) => T + 100 * (i + 1)),
    )
  })

  test('every mark is at or above every timestamp issued before it was replaced', () => {
    const store = recording(memoryHighWaterMarkStore())
    const wall = manualWall(T)
    const clock = start(store, wall.read, 10)
    const issued: Timestamp[] = []
    for (let ms = 0; ms < 100; ms += 3) {
      wall.set(T + ms)
      issued.push(clock.now(), clock.update({ wallMs: T + ms + 7, counter: 3, nodeId: nodeId(2) }))
    }
    const mark = store.load()!
    for (const ts of issued) expect(compareTimestamps(mark, ts)).toBe(1)
  })

  test('a crash loop does not walk the clock into the future', () => {
    const store = memoryHighWaterMarkStore()
    const wall = () => T
    let last: Timestamp | undefined
    for (let restart = 0; restart < 200; restart++) last = start(store, wall).now()
    expect(last!.wallMs - T).toBeLessThanOrEqual(1000 + 200)
  })

  test('a failing save leaves the clock unchanged and is retried', () => {
    const inner = memoryHighWaterMarkStore()
    let failNext = false
    const store: HighWaterMarkStore = {
      load: () => inner.load(),
      save: (ts) => {
        if (failNext) throw new Error('disk full')
        inner.save(ts)
      },
    }
    const wall = manualWall(T)
    const clock = start(store, wall.read)
    const before = clock.now()
    wall.set(T + 5000)
    failNext = true
    expect(() => clock.now()).toThrow('disk full')
    expect(clock.last()).toBe(before)
    failNext = false
    expect(clock.now().wallMs).toBe(T + 5000)
    expect(inner.load()!.wallMs).toBe(T + 6000)
  })

  test('refuses a malformed mark at start', () => {
    const store: HighWaterMarkStore = { load: () => ({ wallMs: -1, counter: 0, nodeId: me }), save: () => {} }
    expect(catchError(() => start(store, () => T))).toBeInstanceOf(InvalidTimestampError)
  })

  test('near the end of encodable time the mark is the largest timestamp, and a restart refuses', () => {
    const store = memoryHighWaterMarkStore()
    const first = start(store, () => MAX_WALL_MS - 1)
    first.now()
    expect(store.load()).toMatchObject({ wallMs: MAX_WALL_MS, counter: MAX_COUNTER })
    const second = start(store, () => MAX_WALL_MS)
    expect(() => second.now()).toThrow(ClockExhaustedError)
  })

  test('the memory store keeps a copy, not the caller object', () => {
    const store = memoryHighWaterMarkStore()
    expect(store.load()).toBeUndefined()
    const id = nodeId(3)
    store.save({ wallMs: 10, counter: 2, nodeId: id })
    id.fill(9)
    const loaded = store.load()!
    loaded.nodeId.fill(7)
    expect(store.load()).toEqual({ wallMs: 10, counter: 2, nodeId: nodeId(3) })
  })
})

type Step = { kind: 'now' } | { kind: 'update'; offset: number; counter: number } | { kind: 'restart' }

describe('properties', () => {
  const stepArb: fc.Arbitrary<{ step: Step; wallStep: number }> = fc.record({
    step: fc.oneof(
      { weight: 4, arbitrary: fc.constant<Step>({ kind: 'now' }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('update' as const),
          offset: fc.integer({ min: -500, max: 500 }),
          counter: fc.integer({ min: 0, max: MAX_COUNTER }),
        }),
      },
      { weight: 1, arbitrary: fc.constant<Step>({ kind: 'restart' }) },
    ),
    wallStep: fc.integer({ min: -2000, max: 300 }),
  })

  test('across restarts and wall clock steps back, every timestamp is above all earlier ones', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 80 }),
        fc.integer({ min: 1, max: 500 }),
        (steps, reserveMs) => {
          const store = memoryHighWaterMarkStore()
          const wall = manualWall(T)
          let clock = start(store, wall.read, reserveMs)
          let highest: Timestamp | undefined
          for (const { step, wallStep } of steps) {
            wall.set(wall.read() + wallStep)
            if (step.kind === 'restart') {
              clock = start(store, wall.read, reserveMs)
              continue
            }
            let issued: Timestamp
            try {
              issued =
                step.kind === 'now'
                  ? clock.now()
                  : clock.update({
                      wallMs: wall.read() + step.offset,
                      counter: step.counter,
                      nodeId: nodeId(2),
                    })
            } catch (error) {
              // Steps back can leave the clock beyond the drift bound; then it may only refuse.
              expect(error).toBeInstanceOf(ClockExhaustedError)
              continue
            }
            if (highest !== undefined) expect(compareTimestamps(issued, highest)).toBe(1)
            expect(compareTimestamps(store.load()!, issued)).toBeGreaterThanOrEqual(0)
            highest = issued
          }
        },
      ),
    )
  })
})
