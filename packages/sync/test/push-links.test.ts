import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPushLinks } from '../src/push-links.js'

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
