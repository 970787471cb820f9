import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createPeerBudgets, DEFAULT_BUDGET_LIMITS, emptyOffenceCounts } from '../src/budget.js'
import { OFFENCE_REASONS } from '../src/errors.js'

// The accounting rules of per-peer budgets at their edges: where a window, a block or a back-off
// starts and ends, what an offence while blocked does, what idle means when peers are forgotten.

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms), set: (at: number) => (t = at) }
}

describe('defaults', () => {
  it('are the ones the README documents for the `budgets` option', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const row = readme.split('\n').find((line) => line.startsWith('| `budgets` |'))
    expect(row).toBeDefined()
    const units: Record<string, number> = { MiB: 1024 * 1024, s: 1000, min: 60_000, '': 1 }
    // "`name` (value unit" pairs, and "`a` within `b` (x in y s)" for the offence threshold.
    const documented: Record<string, number> = {}
    for (const [, name, value, unit] of row!.matchAll(/`(\w+)` \(([\d,]+) ?(MiB|s|min)?[:)]/g))
      documented[name!] = Number(value!.replaceAll(',', '')) * units[unit ?? '']!
    const threshold = /`offenceThreshold` within `offenceWindowMs` \((\d+) in (\d+) s\)/.exec(row!)
    documented.offenceThreshold = Number(threshold![1])
    documented.offenceWindowMs = Number(threshold![2]) * 1000
    expect(documented).toEqual({ ...DEFAULT_BUDGET_LIMITS })
    expect(createPeerBudgets().limits).toEqual(DEFAULT_BUDGET_LIMITS)
    expect(createPeerBudgets({ blockMs: 5 }).limits).toEqual({ ...DEFAULT_BUDGET_LIMITS, blockMs: 5 })
  })

  it('run on the wall clock when no clock is given', () => {
    const budgets = createPeerBudgets({ offenceThreshold: 1, blockMs: 60_000 })
    const before = Date.now()
    budgets.offend('p', 'timeout')
    const until = budgets.blockedUntil('p')!
    expect(until).toBeGreaterThanOrEqual(before + 60_000)
    expect(until).toBeLessThanOrEqual(Date.now() + 60_000)
  })
})

describe('token bucket and back-off', () => {
  it('a new peer has exactly `requestBurst` requests before the first refusal', () => {
    for (const burst of [1, 2, 7]) {
      const c = clock()
      const budgets = createPeerBudgets({ requestBurst: burst, requestsPerSecond: 1 }, c.now)
      const verdicts = Array.from({ length: burst + 1 }, () => budgets.takeRequest('p'))
      expect(verdicts).toEqual([...Array(burst).fill('ok'), 'refused'])
    }
  })

  it('refills at requestsPerSecond, capped at the burst however long the peer was idle', () => {
    const c = clock()
    const budgets = createPeerBudgets(
      { requestBurst: 3, requestsPerSecond: 10, rateLimitBackoffMs: 1 },
      c.now,
    )
    for (let i = 0; i < 3; i++) expect(budgets.takeRequest('p')).toBe('ok')
    // 250 ms at 10/s is 2.5 tokens: two requests, then a refusal.
    c.advance(250)
    expect([budgets.takeRequest('p'), budgets.takeRequest('p'), budgets.takeRequest('p')]).toEqual([
      'ok',
      'ok',
      'refused',
    ])
    // An hour idle still gives only the burst.
    c.advance(3_600_000)
    const verdicts = Array.from({ length: 4 }, () => budgets.takeRequest('p'))
    expect(verdicts).toEqual(['ok', 'ok', 'ok', 'refused'])
  })

  it('the back-off window ends exactly rateLimitBackoffMs after the refusal', () => {
    const c = clock()
    const budgets = createPeerBudgets(
      { requestBurst: 1, requestsPerSecond: 1000, rateLimitBackoffMs: 100, requestsPastRefusal: 1000 },
      c.now,
    )
    expect(budgets.takeRequest('p')).toBe('ok')
    expect(budgets.takeRequest('p')).toBe('refused')
    c.advance(99)
    // Tokens are back, but the peer was told to hold off.
    expect(budgets.takeRequest('p')).toBe('refused')
    c.advance(1)
    expect(budgets.takeRequest('p')).toBe('ok')
  })

  it('an offence past the refusal restarts the window and the allowance', () => {
    const c = clock()
    const budgets = createPeerBudgets(
      { requestBurst: 1, requestsPerSecond: 1000, rateLimitBackoffMs: 100, requestsPastRefusal: 2 },
      c.now,
    )
    budgets.takeRequest('p')
    expect(budgets.takeRequest('p')).toBe('refused') // window [t, t + 100)
    c.advance(50)
    expect([budgets.takeRequest('p'), budgets.takeRequest('p'), budgets.takeRequest('p')]).toEqual([
      'refused',
      'refused',
      'offence', // window now [t + 50, t + 150), allowance counted afresh
    ])
    c.advance(99)
    expect([budgets.takeRequest('p'), budgets.takeRequest('p'), budgets.takeRequest('p')]).toEqual([
      'refused',
      'refused',
      'offence',
    ])
    c.advance(100)
    expect(budgets.takeRequest('p')).toBe('ok')
  })

  it('a refusal that opens a window counts the allowance from zero', () => {
    const c = clock()
    const budgets = createPeerBudgets(
      { requestBurst: 1, requestsPerSecond: 1, rateLimitBackoffMs: 100, requestsPastRefusal: 1 },
      c.now,
    )
    budgets.takeRequest('p')
    budgets.takeRequest('p') // refused, window 1
    expect(budgets.takeRequest('p')).toBe('refused') // 1 past the refusal: allowed
    c.advance(100) // window over, no token yet (1/s)
    expect(budgets.takeRequest('p')).toBe('refused') // window 2, allowance restarts
    expect(budgets.takeRequest('p')).toBe('refused')
    expect(budgets.takeRequest('p')).toBe('offence')
  })

  it('peers have separate buckets', () => {
    const c = clock()
    const budgets = createPeerBudgets({ requestBurst: 1, requestsPerSecond: 1 }, c.now)
    expect(budgets.takeRequest('p')).toBe('ok')
    expect(budgets.takeRequest('p')).toBe('refused')
    expect(budgets.takeRequest('q')).toBe('ok')
  })
})

describe('offences and blocks', () => {
  it('an offence exactly offenceWindowMs old no longer counts', () => {
    const c = clock()
    const budgets = createPeerBudgets({ offenceThreshold: 3, offenceWindowMs: 1000 }, c.now)
    expect(budgets.offend('p', 'timeout')).toEqual({ recent: 1, blocked: false })
    c.advance(999)
    expect(budgets.offend('p', 'timeout')).toEqual({ recent: 2, blocked: false })
    c.advance(1) // the first is now 1000 ms old
    expect(budgets.offend('p', 'timeout')).toEqual({ recent: 2, blocked: false })
    expect(budgets.isBlocked('p')).toBe(false)
  })

  it('blocks for exactly blockMs; an offence while blocked neither re-blocks nor extends it', () => {
    const c = clock()
    const budgets = createPeerBudgets({ offenceThreshold: 2, offenceWindowMs: 10_000, blockMs: 500 }, c.now)
    expect(budgets.blockedUntil('p')).toBeUndefined()
    budgets.offend('p', 'timeout')
    expect(budgets.offend('p', 'malformed-frame')).toEqual({ recent: 2, blocked: true })
    const until = c.now() + 500
    expect(budgets.blockedUntil('p')).toBe(until)
    c.advance(100)
    expect(budgets.offend('p', 'timeout')).toEqual({ recent: 3, blocked: false })
    expect(budgets.blockedUntil('p')).toBe(until)
    c.set(until - 1)
    expect(budgets.isBlocked('p')).toBe(true)
    expect(budgets.openSession('p')).toEqual({ ok: false, reason: 'blocked' })
    c.set(until)
    expect(budgets.isBlocked('p')).toBe(false)
    expect(budgets.blockedUntil('p')).toBeUndefined()
    expect(budgets.openSession('p').ok).toBe(true)
    // Still three offences in the window: the next one blocks again, from now.
    expect(budgets.offend('p', 'timeout')).toEqual({ recent: 4, blocked: true })
    expect(budgets.blockedUntil('p')).toBe(until + 500)
  })

  it('unblock forgets the recent offences: the count starts over', () => {
    const c = clock()
    const budgets = createPeerBudgets({ offenceThreshold: 2, blockMs: 500 }, c.now)
    budgets.offend('p', 'timeout')
    budgets.offend('p', 'timeout')
    budgets.unblock('p')
    expect(budgets.isBlocked('p')).toBe(false)
    expect(budgets.blockedUntil('p')).toBeUndefined()
    expect(budgets.offend('p', 'timeout')).toEqual({ recent: 1, blocked: false })
    // Unblocking a peer never seen does nothing (and tracks nothing).
    budgets.unblock('stranger')
    expect(budgets.trackedPeers).toBe(1)
  })

  it('an unblocked peer with no session is idle: forgotten like any idle peer', () => {
    const c = clock()
    const budgets = createPeerBudgets({ maxTrackedPeers: 1, offenceThreshold: 1, blockMs: 500 }, c.now)
    budgets.offend('p', 'timeout')
    budgets.unblock('p')
    budgets.takeRequest('q')
    expect(budgets.trackedPeers).toBe(1)
    expect(budgets.offences('p').timeout).toBe(0)
  })

  it('offences are counted by reason, per peer and in total, and handed out as copies', () => {
    const budgets = createPeerBudgets({ offenceThreshold: 100 })
    budgets.offend('p', 'timeout')
    budgets.offend('p', 'timeout')
    budgets.offend('q', 'malformed-frame')
    const zero = emptyOffenceCounts()
    expect(Object.keys(zero).sort()).toEqual([...OFFENCE_REASONS].sort())
    expect(Object.values(zero).every((n) => n === 0)).toBe(true)
    expect(budgets.offences('p')).toEqual({ ...zero, timeout: 2 })
    expect(budgets.offences('q')).toEqual({ ...zero, 'malformed-frame': 1 })
    expect(budgets.offences()).toEqual({ ...zero, timeout: 2, 'malformed-frame': 1 })
    expect(budgets.offences('nobody')).toEqual(zero)
    const copy = budgets.offences()
    copy.timeout = 99
    budgets.offences('p').timeout = 99
    expect(budgets.offences().timeout).toBe(2)
    expect(budgets.offences('p').timeout).toBe(2)
  })
})

describe('sessions and tracked peers', () => {
  it('a peer never seen has no sessions and is not blocked', () => {
    const budgets = createPeerBudgets()
    expect(budgets.sessions('p')).toBe(0)
    expect(budgets.isBlocked('p')).toBe(false)
    expect(budgets.trackedPeers).toBe(0)
  })

  it('forgets only idle peers once maxTrackedPeers is reached', () => {
    const c = clock()
    const budgets = createPeerBudgets(
      { maxTrackedPeers: 4, offenceThreshold: 5, offenceWindowMs: 1000, blockMs: 1000 },
      c.now,
    )
    const held = budgets.openSession('busy') // a session open: not idle
    expect(held.ok).toBe(true)
    budgets.offend('recent', 'timeout') // an offence inside the window: not idle
    budgets.takeRequest('idle-1')
    budgets.takeRequest('idle-2')
    expect(budgets.trackedPeers).toBe(4)
    budgets.takeRequest('new') // at the bound: the idle ones go
    expect(budgets.trackedPeers).toBe(3)
    expect(budgets.sessions('busy')).toBe(1)
    expect(budgets.offences('recent').timeout).toBe(1)
    expect(budgets.offences('new')).toEqual(emptyOffenceCounts())
  })

  it('a peer whose offences all left the window, with no session and no block, is idle', () => {
    const c = clock()
    const budgets = createPeerBudgets(
      { maxTrackedPeers: 2, offenceThreshold: 5, offenceWindowMs: 1000 },
      c.now,
    )
    budgets.offend('old', 'timeout')
    budgets.takeRequest('other')
    c.advance(999)
    budgets.takeRequest('third') // 'old' offended 999 ms ago: kept; 'other' idle: forgotten
    expect(budgets.offences('old').timeout).toBe(1)
    expect(budgets.trackedPeers).toBe(2)
    c.advance(1)
    budgets.takeRequest('fourth') // now exactly 1000 ms: 'old' is idle too
    expect(budgets.offences('old').timeout).toBe(0)
  })

  it('a blocked peer is kept until its block expires', () => {
    const c = clock()
    const budgets = createPeerBudgets(
      { maxTrackedPeers: 1, offenceThreshold: 1, offenceWindowMs: 10, blockMs: 1000 },
      c.now,
    )
    budgets.offend('bad', 'timeout')
    c.advance(999)
    budgets.takeRequest('x')
    expect(budgets.isBlocked('bad')).toBe(true)
    c.advance(1)
    budgets.takeRequest('y')
    expect(budgets.offences('bad').timeout).toBe(0)
  })

  it('the peer that reaches the bound is tracked; the limit applies per peer', () => {
    const budgets = createPeerBudgets({ maxSessionsPerPeer: 1 })
    expect(budgets.openSession('a').ok).toBe(true)
    expect(budgets.openSession('a')).toEqual({ ok: false, reason: 'too-many-sessions' })
    expect(budgets.openSession('b').ok).toBe(true)
    expect(budgets.sessions('a')).toBe(1)
    expect(budgets.trackedPeers).toBe(2)
  })
})
