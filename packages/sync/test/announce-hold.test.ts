import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { announcementHoldMs, type HoldInput, type PushLinkState } from '../src/announce-hold.js'

// When a debounced head announcement is held back while eager push does its work (session 18):
// the pure rule, without a network. The TCP tests are in push.test.ts.

const WINDOW = 2_000
const MAX_HOLD = 8_000

function input(over: Partial<HoldInput> & { links?: Record<string, PushLinkState> } = {}): HoldInput {
  const links = over.links ?? { a: 'eager', b: 'eager' }
  return {
    nowMs: 10_000,
    subscribers: Object.keys(links),
    link: (id) => links[id],
    lastPushMs: 9_500,
    lazyWindowMs: WINDOW,
    lastAnnouncedMs: 5_000,
    linksChangedMs: 1_000,
    maxHoldMs: MAX_HOLD,
    ...over,
  }
}

const linkState = fc.constantFrom<PushLinkState>('eager', 'lazy', undefined)
const arbitraryInput = fc
  .record({
    links: fc.array(linkState, { maxLength: 6 }),
    nowMs: fc.integer({ min: 0, max: 100_000 }),
    sincePush: fc.oneof(fc.integer({ min: 0, max: 3 * WINDOW }), fc.constant(Number.POSITIVE_INFINITY)),
    sinceAnnounced: fc.oneof(
      fc.integer({ min: 0, max: 3 * MAX_HOLD }),
      fc.constant(Number.POSITIVE_INFINITY),
    ),
    sinceLinksChanged: fc.oneof(
      fc.integer({ min: 0, max: 3 * MAX_HOLD }),
      fc.constant(Number.POSITIVE_INFINITY),
    ),
    maxHoldMs: fc.integer({ min: 1, max: 2 * MAX_HOLD }),
  })
  .map(({ links, nowMs, sincePush, sinceAnnounced, sinceLinksChanged, maxHoldMs }) => {
    const byId = Object.fromEntries(links.map((state, i) => [`p${i}`, state]))
    return {
      nowMs,
      subscribers: Object.keys(byId),
      link: (id: string) => byId[id],
      lastPushMs: nowMs - sincePush,
      lazyWindowMs: WINDOW,
      lastAnnouncedMs: nowMs - sinceAnnounced,
      linksChangedMs: nowMs - sinceLinksChanged,
      maxHoldMs,
    } satisfies HoldInput
  })

describe('announcementHoldMs: what an announcement is still for while pushes flow', () => {
  it('holds an announcement to eager push neighbours for the rest of the lazy window since the last push', () => {
    expect(announcementHoldMs(input())).toBe(1_500)
    expect(announcementHoldMs(input({ lastPushMs: 8_001 }))).toBe(1)
  })

  it('announces now to a subscriber without push, once pushes stopped for a window, with no subscriber, or after a push neighbour came or went', () => {
    expect(announcementHoldMs(input({ links: { a: 'eager', old: undefined } }))).toBe(0)
    expect(announcementHoldMs(input({ lastPushMs: 8_000 }))).toBe(0)
    expect(announcementHoldMs(input({ lastPushMs: Number.NEGATIVE_INFINITY }))).toBe(0)
    expect(announcementHoldMs(input({ links: {} }))).toBe(0)
    expect(announcementHoldMs(input({ linksChangedMs: 5_000 }))).toBe(0)
    expect(announcementHoldMs(input({ linksChangedMs: 6_000 }))).toBe(0)
    // Never announced yet: the first announcement goes out.
    expect(
      announcementHoldMs(
        input({ lastAnnouncedMs: Number.NEGATIVE_INFINITY, linksChangedMs: Number.NEGATIVE_INFINITY }),
      ),
    ).toBe(0)
  })

  it('to a subscriber lazy here, holds at most maxHoldMs after the last announcement', () => {
    const lazy = { a: 'eager', b: 'lazy' } as const
    // 3 s of the 8 s since the last announcement (at 5 s) left, more than the window's 1.5 s.
    expect(announcementHoldMs(input({ links: lazy }))).toBe(1_500)
    expect(announcementHoldMs(input({ links: lazy, lastAnnouncedMs: 2_500 }))).toBe(500)
    expect(announcementHoldMs(input({ links: lazy, lastAnnouncedMs: 2_000 }))).toBe(0)
    expect(announcementHoldMs(input({ links: lazy, lastAnnouncedMs: 1_000, linksChangedMs: 500 }))).toBe(0)
  })

  it('never holds past the lazy window since the last push, nor past maxHoldMs while a subscriber is lazy (property)', () => {
    fc.assert(
      fc.property(arbitraryInput, (i) => {
        const hold = announcementHoldMs(i)
        expect(hold).toBeGreaterThanOrEqual(0)
        if (hold === 0) return
        expect(i.nowMs + hold).toBeLessThanOrEqual(i.lastPushMs + i.lazyWindowMs)
        const states = i.subscribers.map((id) => i.link(id))
        expect(states.length).toBeGreaterThan(0)
        expect(states).not.toContain(undefined)
        expect(i.linksChangedMs).toBeLessThan(i.lastAnnouncedMs)
        if (states.includes('lazy'))
          expect(i.nowMs + hold).toBeLessThanOrEqual(i.lastAnnouncedMs + i.maxHoldMs)
      }),
    )
  })

  it('holds whenever pushes are recent, every subscriber is an eager push neighbour and none came or went since the last announcement (property)', () => {
    fc.assert(
      fc.property(arbitraryInput, (i) => {
        const states = i.subscribers.map((id) => i.link(id))
        const recent = i.nowMs - i.lastPushMs < i.lazyWindowMs
        const allEager = states.length > 0 && states.every((s) => s === 'eager')
        if (recent && allEager && i.linksChangedMs < i.lastAnnouncedMs)
          expect(announcementHoldMs(i)).toBe(i.lastPushMs + i.lazyWindowMs - i.nowMs)
      }),
    )
  })

  it('a held announcement asked about again when its hold is over, with no push since, goes out (property)', () => {
    fc.assert(
      fc.property(arbitraryInput, (i) => {
        const hold = announcementHoldMs(i)
        if (hold > 0) expect(announcementHoldMs({ ...i, nowMs: i.nowMs + hold })).toBe(0)
      }),
    )
  })
})
