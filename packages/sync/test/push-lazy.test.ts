import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createLazyAnnouncements, type LazyEntry, MAX_LAZY_ENTRIES } from '../src/push-lazy.js'

// What a node announces to its lazy neighbours (Plumtree's lazy push), without a network.

const entry = (n: number, source?: string): LazyEntry => ({
  key: new Uint8Array(32).fill(n),
  prefix: new Uint8Array(8).fill(n),
  source,
})

describe('lazy announcements', () => {
  it('go to the lazy neighbours in turn, never naming a record to the neighbour it came from', () => {
    const lazy = createLazyAnnouncements()
    lazy.add('assertions', [entry(1), entry(2, 'p1'), entry(3, 'p0')])
    const first = lazy.take(['p0', 'p1'])!
    expect(first.peer).toBe('p0')
    expect(first.stores.get('assertions')!.map((e) => e.key[0])).toEqual([1, 2])
    expect(lazy.pending).toBe(false)
    lazy.add('supersessions', [entry(4, 'p1')])
    lazy.add('assertions', [entry(5)])
    const second = lazy.take(['p0', 'p1'])!
    expect(second.peer).toBe('p1')
    expect([...second.stores.keys()]).toEqual(['assertions'])
  })

  it('drops what waits when no link is lazy, and waits for nothing when nothing was added', () => {
    const lazy = createLazyAnnouncements()
    expect(lazy.take(['p0'])).toBeUndefined()
    lazy.add('assertions', [entry(1)])
    expect(lazy.take([])).toBeUndefined()
    expect(lazy.pending).toBe(false)
    expect(lazy.take(['p0'])).toBeUndefined()
  })

  it('keeps at most MAX_LAZY_ENTRIES per store', () => {
    const lazy = createLazyAnnouncements()
    lazy.add(
      'assertions',
      Array.from({ length: MAX_LAZY_ENTRIES + 5 }, (_, i) => entry(i % 256)),
    )
    lazy.add('assertions', [entry(7)])
    expect(lazy.take(['p0'])!.stores.get('assertions')).toHaveLength(MAX_LAZY_ENTRIES)
  })

  it('property: over as many turns as lazy neighbours, each is told once, and of every record not its own', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), {
          minLength: 1,
          maxLength: 20,
        }),
        (peers, sources) => {
          const ids = Array.from({ length: peers }, (_, i) => `p${i}`)
          const lazy = createLazyAnnouncements()
          const told = new Map<string, number>()
          for (let turn = 0; turn < peers; turn++) {
            lazy.add(
              'assertions',
              sources.map((s, i) => entry(i, s === undefined ? undefined : `p${s}`)),
            )
            const next = lazy.take(ids)
            expect(next).toBeDefined()
            const got = next!.stores.get('assertions') ?? []
            expect(got.every((e) => e.source !== next!.peer)).toBe(true)
            expect(got).toHaveLength(sources.filter((s) => s === undefined || `p${s}` !== next!.peer).length)
            told.set(next!.peer, (told.get(next!.peer) ?? 0) + 1)
          }
          expect([...told.keys()].sort()).toEqual([...ids].sort())
        },
      ),
    )
  })
})
