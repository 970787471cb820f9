/**
 * The brief fuzz run of `npm test` (issue #17): every decoder a peer's bytes reach, seeded from
 * the frozen vectors, plus the corpus of past findings. Each input is either accepted, and then
 * re-encodes to the same bytes with canonical text only, or refused with the package's typed
 * error. `npm run fuzz` runs the same targets for longer.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { corpusOf, type FuzzEnv, openFuzzEnv } from './harness.js'
import { type Mutation, mutate, TOKENS } from './mutate.js'
import type { FuzzTarget } from './targets.js'

let fuzz: FuzzEnv
beforeAll(() => {
  fuzz = openFuzzEnv()
})
afterAll(async () => {
  await fuzz.close()
})

const TARGET_NAMES = [
  'records',
  'coordinates',
  'timestamps',
  'sync-frames',
  'announcements',
  'merkle-request-hashed-300',
  'merkle-response-hashed-300',
  'merkle-request-2-hashed-300',
  'merkle-request-plain-60',
  'merkle-response-plain-60',
  'merkle-request-2-plain-60',
  'merkle-request-empty-vs-hashed-3',
  'merkle-response-empty-vs-hashed-3',
]

const target = (name: string): FuzzTarget => {
  const found = fuzz.targets.find((t) => t.name === name)
  if (found === undefined) throw new Error(`no fuzz target ${name}`)
  return found
}

const at = fc.nat({ max: 1 << 16 })
const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at, value: fc.nat({ max: 255 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at,
    bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('truncate' as const), at }),
  fc.record({
    op: fc.constant('splice' as const),
    at,
    token: fc.nat({ max: TOKENS.length - 1 }),
    fix: fc.array(fc.nat({ max: 63 }), { minLength: 1, maxLength: 2 }),
  }),
)

/** Runs per target: the cheap decoders get more, merkle sessions (an LMDB snapshot each) fewer. */
const runsFor = (name: string) => (name.startsWith('merkle') ? 40 : 400)

describe('fuzz: every decoder a peer reaches (brief run; npm run fuzz for longer)', () => {
  it('has a target for every decoder', () => {
    expect(fuzz.targets.map((t) => t.name)).toEqual(TARGET_NAMES)
  })

  it.each(TARGET_NAMES)('%s: the seeds are accepted and every past finding is handled', (name) => {
    const t = target(name)
    for (const seed of t.seeds) expect(t.run(seed)).toBe('accepted')
    for (const { input } of corpusOf(name)) expect(t.run(input)).toBe('refused')
  })

  it.each(
    TARGET_NAMES,
  )('%s: mutated seeds re-encode identically or are refused with a typed error', (name) => {
    const t = target(name)
    const arbInput = fc.oneof(
      {
        weight: 9,
        arbitrary: fc
          .tuple(fc.nat({ max: t.seeds.length - 1 }), fc.array(arbMutation, { minLength: 1, maxLength: 6 }))
          .map(([i, ms]) => mutate(t.seeds[i]!, ms)),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    )
    fc.assert(
      fc.property(arbInput, (input) => {
        t.run(input)
      }),
      { numRuns: runsFor(name), seed: 17, interruptAfterTimeLimit: 2_000 },
    )
  })
})
