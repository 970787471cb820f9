import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { IdleWatch } from '../src/protocol/conversation.js'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
})
afterEach(() => {
  vi.useRealTimers()
})

describe('the idle deadline of a conversation (one timer for all its waits)', () => {
  it('never fires for waits that each end in time, however long the conversation lasts', () => {
    const watch = new IdleWatch(100)
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
    const watch = new IdleWatch(100)
    watch.begin()
    vi.advanceTimersByTime(60)
    watch.end()
    const signal = watch.begin() // the timer armed by the first wait fires 40 ms into this one
    vi.advanceTimersByTime(99)
    expect(signal.aborted).toBe(false)
    vi.advanceTimersByTime(1)
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBeInstanceOf(DOMException)
    expect((signal.reason as DOMException).name).toBe('TimeoutError')
  })

  it('follows its parent signal until disposed', () => {
    const parent = new AbortController()
    const watch = new IdleWatch(100, parent.signal)
    const signal = watch.begin()
    parent.abort(new Error('reader gone'))
    expect(signal.aborted).toBe(true)
    expect((signal.reason as Error).message).toBe('reader gone')

    const other = new AbortController()
    const released = new IdleWatch(100, other.signal)
    released.dispose()
    other.abort(new Error('later'))
    expect(released.begin().aborted).toBe(false)
  })

  it('starts aborted under an aborted parent, and never fires with no deadline', () => {
    expect(new IdleWatch(100, AbortSignal.abort(new Error('gone'))).begin().aborted).toBe(true)
    const endless = new IdleWatch(Number.POSITIVE_INFINITY)
    const signal = endless.begin()
    vi.advanceTimersByTime(10 ** 9)
    expect(signal.aborted).toBe(false)
  })
})
