import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPushLinks, MIN_EAGER } from '../src/push-links.js'

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

  it('turns the oldest lazy link eager when none is eager, and only then (one eager link kept)', () => {
    const links = createPushLinks({ minEager: 1 })
    expect(links.keepEnough()).toEqual([])
    links.add('a')
    links.add('b')
    expect(links.keepEnough()).toEqual([])
    links.pruned('a')
    expect(links.keepEnough('a')).toEqual([])
    links.pruned('b')
    expect(links.keepEnough('b')).toEqual(['a'])
    expect(links.eager()).toEqual(['a'])
    expect(links.keepEnough()).toEqual([])
    expect(links.stats.grafts).toBe(1)
  })

  it('after a prune grafts the oldest lazy links other than the pruner, up to MIN_EAGER', () => {
    expect(MIN_EAGER).toBe(2)
    const links = createPushLinks()
    for (const id of ['a', 'b', 'c', 'd']) links.add(id)
    links.pruned('a')
    links.pruned('b')
    // Two eager (c, d): nothing to do.
    expect(links.keepEnough('b')).toEqual([])
    links.pruned('c')
    // One eager (d): a, the oldest lazy one that did not just prune us, turns eager.
    expect(links.keepEnough('c')).toEqual(['a'])
    expect(links.eager()).toEqual(['a', 'd'])
    expect(links.stats.grafts).toBe(1)
  })

  it('grafts the pruner back only when it was the last link that could be eager', () => {
    const links = createPushLinks()
    links.add('a')
    links.add('b')
    links.pruned('a')
    // b eager, a just pruned us: one eager link is fewer than two, but a is not grafted back.
    expect(links.keepEnough('a')).toEqual([])
    links.pruned('b')
    expect(links.keepEnough('b')).toEqual(['a'])
    expect(links.eager()).toEqual(['a'])
  })

  it('prunes a redundant link only while more than MIN_EAGER links stay eager', () => {
    const links = createPushLinks()
    for (const id of ['a', 'b', 'c']) links.add(id)
    expect(links.redundant('a')).toBe(true)
    expect(links.redundant('a')).toBe(false)
    expect(links.redundant('b')).toBe(false)
    expect(links.eager()).toEqual(['b', 'c'])
    expect(links.redundant('x')).toBe(false)
    expect(links.stats.prunes).toBe(1)
    // A rate-limited peer is pruned whatever remains.
    expect(links.duplicate('b')).toBe(true)
    expect(links.eager()).toEqual(['c'])
  })

  it('after any duplicates, misses, prunes and grafts, a node with more than MIN_EAGER neighbours keeps MIN_EAGER eager links, and one with any keeps one', () => {
    const step = fc.record({
      kind: fc.constantFrom('redundant', 'pruned', 'grafted', 'missed', 'pushedNew', 'remove', 'add'),
      peer: fc.integer({ min: 0, max: 7 }),
    })
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(step, { maxLength: 60 }), (start, steps) => {
        const links = createPushLinks()
        for (let i = 0; i < start; i++) links.add(`p${i}`)
        for (const { kind, peer } of steps) {
          const id = `p${peer}`
          // As push.ts does: a lost eager link makes every link eager; a prune is followed by keepEnough.
          if (kind === 'remove') {
            if (links.isEager(id)) links.reset()
            links.remove(id)
          } else if (kind === 'add') links.add(id)
          else if (kind === 'pruned') {
            links.pruned(id)
            links.keepEnough(id)
          } else links[kind](id)
          const total = links.eager().length + links.lazy().length
          const eager = links.eager().length
          if (total > MIN_EAGER) expect(eager).toBeGreaterThanOrEqual(MIN_EAGER)
          if (total > 0) expect(eager).toBeGreaterThanOrEqual(1)
        }
      }),
    )
  })

  it('turns a lazy link eager when its neighbour pushes something new (its graft was lost), past the grace after it turned lazy, without counting a graft', () => {
    let now = 1_000
    const links = createPushLinks({ graceMs: 500, now: () => now })
    links.add('a')
    links.pruned('a')
    now += 499
    // Within the grace: a push sent before the prune crossed it.
    expect(links.pushedNew('a')).toBe(false)
    expect(links.isEager('a')).toBe(false)
    now += 1
    expect(links.pushedNew('a')).toBe(true)
    expect(links.isEager('a')).toBe(true)
    expect(links.pushedNew('a')).toBe(false)
    expect(links.pushedNew('x')).toBe(false)
    expect(links.has('x')).toBe(false)
    expect(links.stats).toEqual({ prunes: 0, grafts: 0 })
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
