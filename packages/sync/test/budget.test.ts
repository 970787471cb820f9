import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPeerBudgets } from '../src/budget.js'
import { OFFENCE_REASONS } from '../src/errors.js'

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('per-peer budgets', () => {
  it('never grants more concurrent sessions than the limit, and releasing frees a slot', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.boolean(), { maxLength: 60 }), (max, ops) => {
        const budgets = createPeerBudgets({ maxSessionsPerPeer: max })
        const held: Array<() => void> = []
        for (const open of ops) {
          if (open) {
            const grant = budgets.openSession('p')
            expect(grant.ok).toBe(held.length < max)
            if (grant.ok) held.push(grant.release)
            else expect(grant.reason).toBe('too-many-sessions')
          } else {
            held.pop()?.()
          }
          expect(budgets.sessions('p')).toBe(held.length)
        }
      }),
    )
  })

  it('releasing twice frees one slot only', () => {
    const budgets = createPeerBudgets({ maxSessionsPerPeer: 2 })
    const a = budgets.openSession('p')
    budgets.openSession('p')
    if (!a.ok) throw new Error('expected a grant')
    a.release()
    a.release()
    expect(budgets.sessions('p')).toBe(1)
  })

  it('accepts at most burst + rate × elapsed requests (token bucket)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 200 }),
        (rate, burst, gaps) => {
          const c = clock()
          const budgets = createPeerBudgets({ requestsPerSecond: rate, requestBurst: burst }, c.now)
          let accepted = 0
          let elapsed = 0
          for (const gap of gaps) {
            c.advance(gap)
            elapsed += gap
            if (budgets.takeRequest('p') === 'ok') accepted++
          }
          expect(accepted).toBeLessThanOrEqual(burst + (rate * elapsed) / 1000 + 1e-9)
        },
      ),
    )
  })

  it('refills: a peer that backs off for the window after a refusal gets requests again', () => {
    const c = clock()
    const budgets = createPeerBudgets(
      { requestsPerSecond: 10, requestBurst: 2, rateLimitBackoffMs: 500 },
      c.now,
    )
    expect([budgets.takeRequest('p'), budgets.takeRequest('p'), budgets.takeRequest('p')]).toEqual([
      'ok',
      'ok',
      'refused',
    ])
    c.advance(100)
    expect(budgets.takeRequest('p')).toBe('refused')
    c.advance(400)
    expect(budgets.takeRequest('p')).toBe('ok')
  })

  it('counts an offence only for requests sent past a refusal beyond the in-flight allowance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 40 }), (allowance, extra) => {
        const c = clock()
        const limits = {
          requestsPerSecond: 1,
          requestBurst: 1,
          rateLimitBackoffMs: 1_000,
          requestsPastRefusal: allowance,
        }
        const budgets = createPeerBudgets(limits, c.now)
        expect(budgets.takeRequest('p')).toBe('ok')
        expect(budgets.takeRequest('p')).toBe('refused')
        const verdicts = Array.from({ length: allowance + extra }, () => budgets.takeRequest('p'))
        expect(verdicts.slice(0, allowance).every((v) => v === 'refused')).toBe(true)
        expect(verdicts[allowance]).toBe('offence')
      }),
    )
  })

  it('blocks a peer when its offences in the window reach the threshold, until blockMs passes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.constantFrom(...OFFENCE_REASONS), fc.integer({ min: 0, max: 30_000 })), {
          maxLength: 30,
        }),
        (threshold, offences) => {
          const c = clock()
          const windowMs = 60_000
          const budgets = createPeerBudgets(
            { offenceThreshold: threshold, offenceWindowMs: windowMs, blockMs: 1_000_000 },
            c.now,
          )
          const times: number[] = []
          let blocked = false
          for (const [reason, gap] of offences) {
            c.advance(gap)
            times.push(c.now())
            const outcome = budgets.offend('p', reason)
            const recent = times.filter((t) => t > c.now() - windowMs).length
            expect(outcome.recent).toBe(recent)
            if (!blocked && recent >= threshold) {
              expect(outcome.blocked).toBe(true)
              blocked = true
            }
            expect(budgets.isBlocked('p')).toBe(blocked)
          }
          const counted = Object.values(budgets.offences('p')).reduce((a, b) => a + b, 0)
          expect(counted).toBe(offences.length)
          expect(budgets.offences()).toEqual(budgets.offences('p'))
        },
      ),
    )
  })

  it('a blocked peer gets no session, and is admitted again after the block or an unblock', () => {
    const c = clock()
    const budgets = createPeerBudgets({ offenceThreshold: 1, blockMs: 5_000 }, c.now)
    expect(budgets.offend('p', 'malformed-frame').blocked).toBe(true)
    expect(budgets.openSession('p')).toEqual({ ok: false, reason: 'blocked' })
    expect(budgets.openSession('q').ok).toBe(true)
    c.advance(5_001)
    expect(budgets.isBlocked('p')).toBe(false)
    expect(budgets.openSession('p').ok).toBe(true)
    budgets.offend('p', 'timeout')
    expect(budgets.isBlocked('p')).toBe(true)
    budgets.unblock('p')
    expect(budgets.isBlocked('p')).toBe(false)
  })

  it('forgets idle peers beyond maxTrackedPeers but never a blocked one', () => {
    const budgets = createPeerBudgets({ maxTrackedPeers: 10, offenceThreshold: 1 })
    budgets.offend('bad', 'malformed-frame')
    for (let i = 0; i < 100; i++) budgets.takeRequest(`peer-${i}`)
    expect(budgets.trackedPeers).toBeLessThanOrEqual(11)
    expect(budgets.isBlocked('bad')).toBe(true)
  })
})
