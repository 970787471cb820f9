import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createDebouncer, jittered, type Timers } from '../src/debounce.js'

/** Deterministic timers: time only moves when the test says so. */
function manualTimers() {
  let now = 0
  let nextId = 0
  const pending = new Map<number, { at: number; fn: () => void }>()
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => {
      pending.set(++nextId, { at: now + ms, fn })
      return nextId
    },
    clearTimeout: (id) => {
      pending.delete(id as number)
    },
  }
  const advanceTo = (t: number): void => {
    while (true) {
      const due = [...pending.entries()].filter(([, p]) => p.at <= t).sort((a, b) => a[1].at - b[1].at)[0]
      if (due === undefined) break
      pending.delete(due[0])
      now = due[1].at
      due[1].fn()
    }
    now = t
  }
  return { timers, advanceTo }
}

describe('debounced announcements', () => {
  it('fires once per burst, no later than maxWait after its first change, never without a change', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }),
        (waitMs, factor, gaps) => {
          const maxWaitMs = waitMs * factor
          const { timers, advanceTo } = manualTimers()
          const fired: number[] = []
          const debouncer = createDebouncer(() => fired.push(timers.now()), { waitMs, maxWaitMs }, timers)
          let t = 0
          const triggers: number[] = []
          for (const gap of gaps) {
            t += gap
            advanceTo(t)
            debouncer.trigger()
            triggers.push(t)
          }
          advanceTo(t + maxWaitMs + 1)
          expect(fired.length).toBeLessThanOrEqual(triggers.length)
          if (triggers.length > 0) expect(fired.length).toBeGreaterThan(0)
          // Every change is followed by a firing within maxWait.
          for (const at of triggers) expect(fired.some((f) => f >= at && f <= at + maxWaitMs)).toBe(true)
          // Every firing answers a change no more than maxWait earlier.
          for (const f of fired) expect(triggers.some((at) => at <= f && f - at <= maxWaitMs)).toBe(true)
          expect(debouncer.pending).toBe(false)
        },
      ),
    )
  })

  it('cancel drops a pending firing', () => {
    const { timers, advanceTo } = manualTimers()
    let fired = 0
    const debouncer = createDebouncer(() => fired++, { waitMs: 10 }, timers)
    debouncer.trigger()
    debouncer.cancel()
    advanceTo(1000)
    expect(fired).toBe(0)
  })

  it('jitter stays within ±jitter of the base interval', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (base, jitter, r) => {
          const d = jittered(base, jitter, () => r)
          expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)))
          expect(d).toBeLessThanOrEqual(Math.ceil(base * (1 + jitter)))
        },
      ),
    )
  })
})
