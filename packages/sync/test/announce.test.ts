import type { Message as PubSubMessage } from '@libp2p/gossipsub'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  checkAnnouncement,
  createKeptAnnouncements,
  differingStores,
  type HeadsAnnouncement,
  localHeads,
  MAX_ANNOUNCEMENT_BYTES,
  MAX_KEPT_ANNOUNCEMENTS,
  ROOT_BYTES,
  storesAhead,
} from '../src/announce.js'
import type { StoreName, SyncedState } from '../src/state.js'
import { encodeAnnouncement } from '../src/wire/codec.js'

// The pure checks of a head announcement (gossipsub validation) and of what it asks for, without a
// network: a message is the object gossipsub hands the validator, a state only its trees' roots.

const NETWORK = 'net-a'
const TRUST = new Uint8Array(32).fill(7)
const SYNCED: readonly StoreName[] = ['revocations', 'supersessions', 'assertions']

const root = (fill: number, length = ROOT_BYTES) => new Uint8Array(length).fill(fill)

function signed(data: Uint8Array): PubSubMessage {
  return { type: 'signed', data, topic: 't' } as unknown as PubSubMessage
}

function announcement(heads: HeadsAnnouncement['heads'], over: Partial<HeadsAnnouncement> = {}) {
  return encodeAnnouncement({ networkId: NETWORK, trustHash: TRUST, heads, ...over })
}

const head = (store: string, fill = 1, count = 3) => ({ store, root: root(fill), count })

/** A state whose tree for each store has the given root (and count). */
function stateWith(roots: Partial<Record<StoreName, [Uint8Array, number]>>): SyncedState {
  return {
    tree: (store: StoreName) => {
      const [r, count] = roots[store] ?? [root(0), 0]
      return { root: () => r, count: () => count }
    },
  } as unknown as SyncedState
}

const verdict = (data: Uint8Array, stores = SYNCED) => checkAnnouncement(signed(data), NETWORK, TRUST, stores)

describe('checkAnnouncement: what a head announcement must be to pass gossipsub validation', () => {
  it('accepts a signed announcement of our network and trust bundle, and returns it decoded', () => {
    const heads = [head('revocations', 1, 0), head('assertions', 2, 9)]
    const v = verdict(announcement(heads))
    expect(v).toEqual({ ok: true, announcement: { networkId: NETWORK, trustHash: TRUST, heads } })
  })

  it('refuses an unsigned message whatever it carries', () => {
    const data = announcement([head('assertions')])
    const v = checkAnnouncement({ type: 'unsigned', data, topic: 't' }, NETWORK, TRUST, SYNCED)
    expect(v).toEqual({ ok: false, reason: 'unsigned announcement' })
  })

  it('refuses more than MAX_ANNOUNCEMENT_BYTES before decoding; exactly the limit is decoded', () => {
    // Padding after a valid announcement: too large is said before anything is decoded, and at the
    // limit the same bytes are decoded (and refused as not canonical, for the trailing bytes).
    const valid = announcement([head('assertions')])
    const padded = (size: number) => {
      const out = new Uint8Array(size)
      out.set(valid)
      return out
    }
    expect(verdict(padded(MAX_ANNOUNCEMENT_BYTES + 1))).toEqual({
      ok: false,
      reason: 'announcement too large',
    })
    const atLimit = verdict(padded(MAX_ANNOUNCEMENT_BYTES))
    expect(atLimit.ok).toBe(false)
    expect(atLimit.ok === false && atLimit.reason).not.toBe('announcement too large')
    expect(MAX_ANNOUNCEMENT_BYTES).toBe(4096)
  })

  it('names the decoding problem of bytes that are not an announcement', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (junk) => {
        const v = verdict(Uint8Array.of(0xff, ...junk))
        expect(v.ok).toBe(false)
        expect(v.ok === false && v.reason).toMatch(/announcement|not canonical/)
      }),
    )
  })

  it('refuses more heads than the stores we sync (the decoder limit is our store count)', () => {
    const two = announcement([head('revocations'), head('assertions')])
    expect(verdict(two, ['assertions', 'revocations']).ok).toBe(true)
    const v = verdict(two, ['assertions'])
    expect(v.ok).toBe(false)
    expect(v.ok === false && v.reason).toMatch(/does not decode/)
  })

  it('refuses another network, naming it, and another trust bundle', () => {
    expect(verdict(announcement([head('assertions')], { networkId: 'net-b' }))).toEqual({
      ok: false,
      reason: 'network net-b',
    })
    const otherTrust = new Uint8Array(32).fill(8)
    expect(verdict(announcement([head('assertions')], { trustHash: otherTrust }))).toEqual({
      ok: false,
      reason: 'another trust bundle',
    })
    // A trust hash of another length is another bundle too (not a prefix match).
    expect(verdict(announcement([head('assertions')], { trustHash: TRUST.subarray(0, 16) }))).toEqual({
      ok: false,
      reason: 'another trust bundle',
    })
  })

  it('refuses a first-release store we do not sync, and skips a later store we do not sync', () => {
    const onlyAssertions: StoreName[] = ['assertions', 'invalidations']
    expect(verdict(announcement([head('revocations'), head('assertions')]), onlyAssertions)).toEqual({
      ok: false,
      reason: 'unknown store revocations',
    })
    // invalidations (a later release) and a store no release knows travel as extension heads:
    // a node that does not sync them skips them, whatever their root.
    const later = announcement([
      head('assertions'),
      { store: 'invalidations', root: root(1, 5), count: 1 },
      { store: 'blobs', root: root(1, 7), count: 1 },
    ])
    const v = verdict(later, ['assertions', 'revocations', 'supersessions'])
    expect(v.ok).toBe(true)
  })

  it('refuses a root that is not ROOT_BYTES long in a store we sync, naming its size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 }).filter((n) => n !== ROOT_BYTES),
        fc.constantFrom(...SYNCED),
        (length, store) => {
          const v = verdict(announcement([{ store, root: root(3, length), count: 1 }]))
          expect(v).toEqual({ ok: false, reason: `root of ${length} bytes` })
        },
      ),
    )
    expect(ROOT_BYTES).toBe(32)
  })

  it('checks every head, not only the first', () => {
    const v = verdict(
      announcement([head('revocations'), { store: 'assertions', root: root(3, 31), count: 1 }]),
    )
    expect(v).toEqual({ ok: false, reason: 'root of 31 bytes' })
  })
})

describe('localHeads and differingStores', () => {
  it('localHeads lists each asked store with its tree root and count, in the order asked', () => {
    const state = stateWith({ assertions: [root(4), 12], revocations: [root(5), 1] })
    expect(localHeads(state, ['assertions', 'revocations'])).toEqual([
      { store: 'assertions', root: root(4), count: 12 },
      { store: 'revocations', root: root(5), count: 1 },
    ])
    expect(localHeads(state, [])).toEqual([])
  })

  it('differingStores: the synced stores announced with another root, in our order (property)', () => {
    const arbHead = fc.record({ store: fc.constantFrom(...SYNCED), fill: fc.integer({ min: 0, max: 2 }) })
    fc.assert(
      fc.property(
        fc.uniqueArray(arbHead, { selector: (h) => h.store }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
        fc.subarray([...SYNCED]),
        (announced, ours, stores) => {
          const state = stateWith(
            Object.fromEntries(SYNCED.map((s, i) => [s, [root(ours[i]!), 1]])) as Record<
              StoreName,
              [Uint8Array, number]
            >,
          )
          const a: HeadsAnnouncement = {
            networkId: NETWORK,
            trustHash: TRUST,
            heads: announced.map((h) => ({ store: h.store, root: root(h.fill), count: 1 })),
          }
          const expected = stores.filter((s) => {
            const h = announced.find((x) => x.store === s)
            return h !== undefined && h.fill !== ours[SYNCED.indexOf(s)]
          })
          expect(differingStores(state, a, stores)).toEqual(expected)
        },
      ),
    )
  })
})

describe('storesAhead and kept announcements: what a covered announcement still pulls for', () => {
  const heads = (count: number, fill = 1): HeadsAnnouncement => ({
    networkId: NETWORK,
    trustHash: TRUST,
    heads: [{ store: 'assertions', root: root(fill), count }],
  })

  it('storesAhead: a store announced with another root and more records than ours, never one with as many (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 1 }),
        (theirs, ours, fill) => {
          const state = stateWith({ assertions: [root(0), ours] })
          const ahead = storesAhead(state, heads(theirs, fill), SYNCED)
          expect(ahead).toEqual(fill !== 0 && theirs > ours ? ['assertions'] : [])
        },
      ),
    )
  })

  it('keeps announcements a quarter window apart, replaces the newest within it, and returns the newest ripe one', () => {
    const kept = createKeptAnnouncements(1_000)
    expect(kept.dueMs()).toBeUndefined()
    expect(kept.ripe(5_000)).toBeUndefined()
    kept.keep(heads(1), 100)
    kept.keep(heads(2), 300) // within 250 ms of the last kept: replaces it, due stays at 1,100
    kept.keep(heads(3), 400)
    expect(kept.dueMs()).toBe(1_100)
    expect(kept.newest()).toEqual(heads(3))
    expect(kept.ripe(1_099)).toBeUndefined()
    expect(kept.ripe(1_100)).toEqual(heads(2))
    expect(kept.dueMs()).toBe(1_400)
    expect(kept.ripe(2_000)).toEqual(heads(3))
    expect(kept.dueMs()).toBeUndefined()
    expect(kept.newest()).toBeUndefined()
  })

  it('whatever the arrivals, each is looked at (itself or a newer one) within a window of coming, none younger than three quarters of one (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 40 }), (gaps) => {
        const windowMs = 1_000
        const kept = createKeptAnnouncements(windowMs)
        const arrivals: number[] = []
        const looked: Array<{ atMs: number; index: number }> = []
        // A timer fires at each due time before a later arrival, as heads.ts arms it.
        const fireUntil = (nowMs: number): void => {
          for (let due = kept.dueMs(); due !== undefined && due <= nowMs; due = kept.dueMs()) {
            const ripe = kept.ripe(due)!
            looked.push({ atMs: due, index: ripe.heads[0]!.count })
          }
        }
        let now = 0
        gaps.forEach((gap, i) => {
          now += gap
          fireUntil(now)
          kept.keep(heads(i), now)
          arrivals.push(now)
        })
        fireUntil(Number.MAX_SAFE_INTEGER)
        arrivals.forEach((at, i) => {
          expect(looked.some((l) => l.index >= i && l.atMs <= at + windowMs)).toBe(true)
        })
        for (const { atMs, index } of looked)
          expect(atMs - arrivals[index]!).toBeGreaterThanOrEqual(0.75 * windowMs)
        expect(kept.newest()).toBeUndefined()
      }),
    )
  })

  it('keeps at most MAX_KEPT_ANNOUNCEMENTS when nothing is looked at: past it the newest replaces the last', () => {
    const kept = createKeptAnnouncements(1_000)
    for (let i = 0; i < MAX_KEPT_ANNOUNCEMENTS + 3; i++) kept.keep(heads(i), i * 300)
    const ripe: number[] = []
    for (let due = kept.dueMs(); due !== undefined; due = kept.dueMs())
      ripe.push(kept.ripe(due)!.heads[0]!.count)
    expect(ripe).toEqual([0, 1, 2, 3, MAX_KEPT_ANNOUNCEMENTS + 2])
  })
})
