import type { PeerId } from '@libp2p/interface'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { COVERED_INTERVAL_FACTOR, pickPeer } from '../src/anti-entropy.js'

const NOW = 1_000_000
const INTERVAL = 1_000

interface Case {
  peer: PeerId
  lastSyncMs: number | undefined
  covered: boolean
}

/** Stands in for a peer id: the picker only hands peers back. */
const peerNamed = (name: string): PeerId => ({ toString: () => name }) as unknown as PeerId

/** Which peers are due, from the rule as the README states it (not from the code under test). */
function dueByRule(cases: readonly Case[], coveredIntervalMs: number): Set<PeerId> {
  return new Set(
    cases
      .filter((c) => (c.lastSyncMs ?? 0) <= NOW - (c.covered ? coveredIntervalMs : INTERVAL))
      .map((c) => c.peer),
  )
}

const cases = fc
  .array(
    fc.record({
      lastSyncMs: fc.option(fc.integer({ min: NOW - 30 * INTERVAL, max: NOW }), { nil: undefined }),
      covered: fc.boolean(),
    }),
    { maxLength: 12 },
  )
  .map((list) => list.map((c, i) => ({ ...c, peer: peerNamed(`p${i}`) })))

describe('anti-entropy picks', () => {
  it('only a due peer, and one whenever any is due (property)', () => {
    fc.assert(
      fc.property(cases, fc.integer({ min: INTERVAL, max: 20 * INTERVAL }), (list, coveredIntervalMs) => {
        const covered = new Set(list.filter((c) => c.covered).map((c) => c.peer))
        const due = dueByRule(list, coveredIntervalMs)
        for (let i = 0; i < 5; i++) {
          const picked = pickPeer(list, NOW, {
            intervalMs: INTERVAL,
            coveredIntervalMs,
            covered: (p) => covered.has(p),
          })
          if (due.size === 0) expect(picked).toBeUndefined()
          else expect(due.has(picked!)).toBe(true)
        }
      }),
    )
  })

  it('waits the covered interval (10 intervals by default) for a peer push keeps us in step with', () => {
    const list = [
      { peer: peerNamed('a'), lastSyncMs: NOW - INTERVAL / 2 },
      { peer: peerNamed('b'), lastSyncMs: NOW - 3 * INTERVAL },
      { peer: peerNamed('c'), lastSyncMs: undefined },
    ]
    const all = { intervalMs: INTERVAL, covered: () => true }
    // Covered: only c, never exchanged with, is due; b's 3 intervals are not enough.
    const picked = new Set(Array.from({ length: 60 }, () => pickPeer(list, NOW, all)?.toString()))
    expect(picked).toEqual(new Set(['c']))
    // Once the covered interval has passed since b, b is due too; a is not.
    const later = NOW - 3 * INTERVAL + COVERED_INTERVAL_FACTOR * INTERVAL
    const due = new Set(Array.from({ length: 60 }, () => pickPeer(list, later, all)?.toString()))
    expect(due).toEqual(new Set(['b', 'c']))
    // Without push covering them, each is due after one interval: b and c now.
    const uncovered = new Set(
      Array.from({ length: 60 }, () => pickPeer(list, NOW, { intervalMs: INTERVAL })?.toString()),
    )
    expect(uncovered).toEqual(new Set(['b', 'c']))
  })

  it('a covered peer does not hold back one push does not cover', () => {
    const list = [
      { peer: peerNamed('pushing'), lastSyncMs: NOW - 2 * INTERVAL },
      { peer: peerNamed('plain'), lastSyncMs: NOW - 2 * INTERVAL },
    ]
    const covered = (p: PeerId) => p.toString() === 'pushing'
    expect(pickPeer(list, NOW, { intervalMs: INTERVAL, covered })?.toString()).toBe('plain')
  })
})
