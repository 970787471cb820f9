import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createRng, InvalidRngArgumentError } from '../src/prng.js'

const draws = (seed: string, n = 16) => {
  const rng = createRng(seed)
  return Array.from({ length: n }, () => rng.next())
}

describe('createRng', () => {
  test('the same seed gives the same sequence, another seed another one', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(draws(a)).toEqual(draws(a))
        if (a !== b) expect(draws(a)).not.toEqual(draws(b))
      }),
    )
  })

  test('numbers and strings name the same seed', () => {
    expect(draws('42')).toEqual(draws(String(42)))
    expect(createRng(42).seed).toBe('42')
  })

  test('next stays in [0, 1) and int, range stay in bounds', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: -50, max: 50 }),
        (seed, bound, min) => {
          const rng = createRng(seed)
          for (let i = 0; i < 50; i++) {
            const x = rng.next()
            expect(x >= 0 && x < 1).toBe(true)
            const k = rng.int(bound)
            expect(Number.isInteger(k) && k >= 0 && k < bound).toBe(true)
            const r = rng.range(min, min + 3)
            expect(r >= min && r <= min + 3).toBe(true)
          }
        },
      ),
    )
  })

  test('int spreads over its whole range', () => {
    const rng = createRng('spread')
    const seen = new Set(Array.from({ length: 500 }, () => rng.int(10)))
    expect(seen.size).toBe(10)
  })

  test('shuffle is a permutation and leaves its input alone', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.integer()), (seed, items) => {
        const copy = [...items]
        const shuffled = createRng(seed).shuffle(items)
        expect(items).toEqual(copy)
        expect([...shuffled].sort((a, b) => a - b)).toEqual([...items].sort((a, b) => a - b))
      }),
    )
  })

  test('a fork is independent of draws on its parent and stable per label', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(20), (seed, label, skip) => {
        const parent = createRng(seed)
        for (let i = 0; i < skip; i++) parent.next()
        const fork = parent.fork(label)
        const fresh = createRng(seed).fork(label)
        expect([fork.next(), fork.next(), fork.int(1000)]).toEqual([
          fresh.next(),
          fresh.next(),
          fresh.int(1000),
        ])
        expect(fork.seed).toBe(`${seed}/${label}`)
      }),
    )
  })

  test('bytes are deterministic and of the asked length', () => {
    expect(createRng('k').bytes(32)).toEqual(createRng('k').bytes(32))
    expect(createRng('k').bytes(7)).toHaveLength(7)
    expect(createRng('k').bytes(32)).not.toEqual(createRng('l').bytes(32))
  })

  test('bad arguments are refused with a typed error', () => {
    const rng = createRng('x')
    expect(() => rng.int(0)).toThrow(InvalidRngArgumentError)
    expect(() => rng.int(1.5)).toThrow(InvalidRngArgumentError)
    expect(() => rng.range(3, 2)).toThrow(InvalidRngArgumentError)
    expect(() => rng.pick([])).toThrow(InvalidRngArgumentError)
  })
})
