import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPushLinks, keepsInStep } from '../src/push-links.js'

// The eager/lazy state of push links, without a network: what a duplicate, a miss, a prune, a
// graft and a lost tree link do, and which of them ask for a frame to be sent.

describe('push links', () => {
  it('starts a neighbour eager; a duplicate prunes it once, a miss grafts it back once', () => {
    const links = createPushLinks()
    links.add('a')
    links.add('b')
    expect(links.eager()).toEqual(['a', 'b'])
    expect(links.duplicate('a')).toBe(true)
    expect(links.duplicate('a')).toBe(false)
    expect(links.eager()).toEqual(['b'])
    expect(links.lazy()).toEqual(['a'])
    expect(links.missed('a')).toBe(true)
    expect(links.missed('a')).toBe(false)
    expect(links.eager()).toEqual(['a', 'b'])
    expect(links.lazy()).toEqual([])
    expect(links.stats).toEqual({ prunes: 1, grafts: 1 })
  })

  it('turns the oldest lazy link eager when none is eager, and only then', () => {
    const links = createPushLinks()
    expect(links.keepOne()).toBeUndefined()
    links.add('a')
    links.add('b')
    expect(links.keepOne()).toBeUndefined()
    links.pruned('a')
    expect(links.keepOne()).toBeUndefined()
    links.pruned('b')
    expect(links.keepOne()).toBe('a')
    expect(links.eager()).toEqual(['a'])
    expect(links.keepOne()).toBeUndefined()
    expect(links.stats.grafts).toBe(1)
  })

  it("follows the neighbour's prunes and grafts without counting them as its own", () => {
    const links = createPushLinks()
    links.add('a')
    expect(links.pruned('a')).toBe(true)
    expect(links.isEager('a')).toBe(false)
    expect(links.pruned('a')).toBe(false)
    expect(links.grafted('a')).toBe(true)
    expect(links.isEager('a')).toBe(true)
    expect(links.stats).toEqual({ prunes: 0, grafts: 0 })
  })

  it('knows nothing of a peer it was not told about, and forgets one removed', () => {
    const links = createPushLinks()
    expect(links.duplicate('x')).toBe(false)
    expect(links.missed('x')).toBe(false)
    expect(links.has('x')).toBe(false)
    links.add('x')
    links.duplicate('x')
    links.add('x') // a second connection keeps the state
    expect(links.isEager('x')).toBe(false)
    links.remove('x')
    expect(links.has('x')).toBe(false)
    expect(links.eager()).toEqual([])
  })

  it('on reset makes every link eager and returns exactly those that were lazy', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 12 }), (lazy) => {
        const links = createPushLinks()
        lazy.forEach((l, i) => {
          links.add(`p${i}`)
          if (l) links.duplicate(`p${i}`)
        })
        const grafts = links.reset()
        expect(grafts).toEqual(lazy.flatMap((l, i) => (l ? [`p${i}`] : [])))
        expect(links.eager()).toEqual(lazy.map((_, i) => `p${i}`))
      }),
    )
  })
})

describe('a push neighbour keeps us in step', () => {
  const windows = { lazyWindowMs: 2_000, quietMs: 500 }
  const NOW = 50_000

  it('an eager one while any push came within the lazy window, a lazy one only while new records came lately', () => {
    // Duplicates only since 1.9 s ago (the last new record 1 s ago): the tree still reaches us,
    // but it brings nothing a lazy neighbour might hold.
    const duplicates = { pushMs: NOW - 100, newPushMs: NOW - 1_000 }
    expect(keepsInStep(true, NOW, duplicates, windows)).toBe(true)
    expect(keepsInStep(false, NOW, duplicates, windows)).toBe(false)
    const flowing = { pushMs: NOW - 100, newPushMs: NOW - 100 }
    expect(keepsInStep(false, NOW, flowing, windows)).toBe(true)
    const stopped = { pushMs: NOW - 2_000, newPushMs: NOW - 2_000 }
    expect(keepsInStep(true, NOW, stopped, windows)).toBe(false)
    expect(keepsInStep(false, NOW, stopped, windows)).toBe(false)
  })

  it('property: a lazy neighbour is never covered longer than an eager one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 0, max: 3_000 }),
        (sincePush, sinceNewExtra, quietMs, extra) => {
          // A new record came by push, so the last push is at least as recent as the last new one.
          const last = { pushMs: NOW - sincePush, newPushMs: NOW - sincePush - sinceNewExtra }
          const w = { quietMs, lazyWindowMs: quietMs + extra }
          if (keepsInStep(false, NOW, last, w)) expect(keepsInStep(true, NOW, last, w)).toBe(true)
          expect(keepsInStep(false, NOW, last, w)).toBe(sincePush + sinceNewExtra < quietMs)
        },
      ),
    )
  })
})
