import { createStallClock, IdleDeadline, type StallClock } from '@provsync/sync/stream'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

// The idle deadline blobs' conversations use (sync's `IdleDeadline`, one per conversation) under
// fake timers. Its stall clock is injected, started after the fakes: its ticker runs on the fake
// interval and reads the fake `performance`, so fake time makes no stall (session 15: the thread's
// clock ticked on a real interval under a faked `performance`, and fake time counted as stalls).
let clock: StallClock
beforeEach(() => {
  vi.useFakeTimers({
    toFake: [
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'setImmediate',
      'clearImmediate',
      'performance',
    ],
  })
  clock = createStallClock()
})
afterEach(() => {
  clock.stop()
  vi.useRealTimers()
})

/**
 * The rest of the loop turn after its timers: the I/O poll, then the immediates. The fake timers
 * run an immediate queued by a timer callback 1 fake ms later, so this advances 1 ms.
 */
function afterIo(): void {
  vi.advanceTimersByTime(1)
}

describe('the idle deadline of a conversation (one timer for all its waits)', () => {
  it('never fires for waits that each end in time, however long the conversation lasts', () => {
    const watch = new IdleDeadline(100, undefined, clock)
    for (let i = 0; i < 20; i++) {
      const signal = watch.begin()
      vi.advanceTimersByTime(90)
      expect(signal.aborted).toBe(false)
      watch.end()
      vi.advanceTimersByTime(50) // between waits no deadline runs
    }
    watch.dispose()
  })

  it('fails a wait once it lasted the deadline, counted from that wait, not from the timer', () => {
    const watch = new IdleDeadline(100, undefined, clock)
    watch.begin()
    vi.advanceTimersByTime(60)
    watch.end()
    const signal = watch.begin() // the timer armed by the first wait fires 40 ms into this one
    vi.advanceTimersByTime(99)
    expect(signal.aborted).toBe(false)
    vi.advanceTimersByTime(1)
    afterIo()
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBeInstanceOf(DOMException)
    expect((signal.reason as DOMException).name).toBe('TimeoutError')
  })

  it('fails a wait only after the turn it expired in: a frame read in that turn ends the wait first', () => {
    const watch = new IdleDeadline(100, undefined, clock)
    const signal = watch.begin()
    vi.advanceTimersByTime(100) // the timer fired; the abort waits for the turn's I/O
    expect(signal.aborted).toBe(false)
    watch.end() // the frame that had arrived was read in that turn
    afterIo()
    expect(signal.aborted).toBe(false)
    const next = watch.begin()
    vi.advanceTimersByTime(100)
    afterIo() // no frame this time
    expect(next.aborted).toBe(true)
  })

  it('does not count time its clock says this thread was stalled', () => {
    let stalled = 0
    const stalls: StallClock = { ...clock, now: () => performance.now() - stalled, stalledMs: () => stalled }
    const watch = new IdleDeadline(100, undefined, stalls)
    const signal = watch.begin()
    vi.advanceTimersByTime(80)
    stalled = 500 // this thread cannot run for the next 500 ms
    vi.advanceTimersByTime(500)
    afterIo()
    expect(signal.aborted).toBe(false)
    vi.advanceTimersByTime(17)
    afterIo() // 99 ms counted
    expect(signal.aborted).toBe(false)
    vi.advanceTimersByTime(1)
    afterIo()
    expect(signal.aborted).toBe(true)
  })

  it('follows its parent signal until disposed', () => {
    const parent = new AbortController()
    const watch = new IdleDeadline(100, parent.signal, clock)
    const signal = watch.begin()
    parent.abort(new Error('reader gone'))
    expect(signal.aborted).toBe(true)
    expect((signal.reason as Error).message).toBe('reader gone')

    const other = new AbortController()
    const released = new IdleDeadline(100, other.signal, clock)
    released.dispose()
    other.abort(new Error('later'))
    expect(released.begin().aborted).toBe(false)
  })

  it('starts aborted under an aborted parent, and never fires with no deadline', () => {
    expect(new IdleDeadline(100, AbortSignal.abort(new Error('gone')), clock).begin().aborted).toBe(true)
    const endless = new IdleDeadline(Number.POSITIVE_INFINITY, undefined, clock)
    const signal = endless.begin()
    vi.advanceTimersByTime(10 ** 9)
    expect(signal.aborted).toBe(false)
  })
})
