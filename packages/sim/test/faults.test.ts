import { type FaultEvent, ScenarioConfigError } from '@provsync/sim'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  applyFault,
  bridged,
  HEALTHY,
  halves,
  isolating,
  lastHealMs,
  linkFault,
  randomFaultPlan,
  reachable,
  stateAt,
  validateFaultPlan,
} from '../src/faults.js'
import { createRng } from '../src/prng.js'

const nodes = fc.integer({ min: 2, max: 12 })
const groupsOf = (n: number) =>
  fc.array(fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: n }), {
    minLength: 1,
    maxLength: 4,
  })

describe('link model', () => {
  test('reachability is symmetric and reflexive under any partition', () => {
    fc.assert(
      fc.property(
        nodes.chain((n) => fc.tuple(fc.constant(n), groupsOf(n))),
        ([n, groups]) => {
          const state = applyFault(HEALTHY, { type: 'partition', atMs: 0, groups })
          for (let a = 0; a < n; a++) {
            expect(reachable(state, a, a)).toBe(true)
            for (let b = 0; b < n; b++) {
              expect(reachable(state, a, b)).toBe(reachable(state, b, a))
              expect(reachable(state, a, b)).toBe(
                a === b || groups.some((g) => g.includes(a) && g.includes(b)),
              )
            }
          }
        },
      ),
    )
  })

  test('heal reconnects everyone that is up; a crashed node stays unreachable until restarted', () => {
    fc.assert(
      fc.property(
        nodes.chain((n) => fc.tuple(fc.constant(n), groupsOf(n), fc.integer({ min: 0, max: n - 1 }))),
        ([n, groups, down]) => {
          let state = applyFault(HEALTHY, { type: 'partition', atMs: 0, groups })
          state = applyFault(state, { type: 'crash', atMs: 1, node: down })
          state = applyFault(state, { type: 'heal', atMs: 2 })
          for (let a = 0; a < n; a++) expect(reachable(state, a, down)).toBe(a === down)
          state = applyFault(state, { type: 'restart', atMs: 3, node: down })
          for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) expect(reachable(state, a, b)).toBe(true)
        },
      ),
    )
  })

  test('halves split in two, a bridge reaches both sides, an isolated node reaches nobody', () => {
    const [left, right] = halves(5)
    const split = applyFault(HEALTHY, { type: 'partition', atMs: 0, groups: halves(5) })
    expect(reachable(split, left![0]!, right![0]!)).toBe(false)
    const bridge = applyFault(HEALTHY, { type: 'partition', atMs: 0, groups: bridged(5, 2) })
    for (let i = 0; i < 5; i++) expect(reachable(bridge, 2, i)).toBe(true)
    expect(reachable(bridge, 0, 4)).toBe(false)
    const alone = applyFault(HEALTHY, { type: 'partition', atMs: 0, groups: isolating(5, [3]) })
    for (const i of [0, 1, 2, 4]) expect(reachable(alone, 3, i)).toBe(false)
    expect(reachable(alone, 0, 4)).toBe(true)
  })

  test('link faults are per unordered pair, and a zero fault clears them', () => {
    const fault = { lossPct: 5, delayMs: 20 }
    let state = applyFault(HEALTHY, { type: 'link', atMs: 0, a: 3, b: 1, fault })
    expect(linkFault(state, 1, 3)).toEqual(fault)
    expect(linkFault(state, 1, 2)).toEqual({ lossPct: 0, delayMs: 0 })
    state = applyFault(state, { type: 'link', atMs: 1, a: 1, b: 3, fault: { lossPct: 0, delayMs: 0 } })
    expect(state.links.size).toBe(0)
  })
})

describe('fault plans', () => {
  const random = fc.record({
    nodes,
    durationMs: fc.integer({ min: 100, max: 60_000 }),
    partitions: fc.integer({ min: 0, max: 4 }),
    crashes: fc.integer({ min: 0, max: 4 }),
    lossyLinks: fc.integer({ min: 0, max: 4 }),
    skewedNodes: fc.integer({ min: 0, max: 3 }),
  })

  test('a random plan is valid, seeded, and leaves the network whole before it ends', () => {
    fc.assert(
      fc.property(random, fc.string(), (o, seed) => {
        const plan = randomFaultPlan(o, createRng(seed))
        expect(plan).toEqual(randomFaultPlan(o, createRng(seed)))
        validateFaultPlan(plan, o.nodes)
        const end = stateAt(plan, o.durationMs)
        expect(end.groups).toBeUndefined()
        expect(end.links.size).toBe(0)
        expect(end.down.size).toBe(0)
        expect(plan.every((e) => e.atMs <= o.durationMs)).toBe(true)
        expect(lastHealMs(plan)).toBeLessThanOrEqual(o.durationMs)
        expect(plan.filter((e) => e.type === 'partition')).toHaveLength(o.partitions)
      }),
    )
  })

  test('invalid plans are refused before anything runs, naming the event', () => {
    const cases: Array<[FaultEvent[], RegExp]> = [
      [[{ type: 'crash', atMs: 0, node: 7 }], /faults\[0\].*node 7/],
      [[{ type: 'restart', atMs: 0, node: 1 }], /faults\[0\].*not down/],
      [
        [
          { type: 'crash', atMs: 5, node: 1 },
          { type: 'crash', atMs: 6, node: 1 },
        ],
        /faults\[1\].*already down/,
      ],
      [
        [
          { type: 'heal', atMs: 5 },
          { type: 'heal', atMs: 4 },
        ],
        /faults\[1\].*time order/,
      ],
      [[{ type: 'crash', atMs: 1, node: 0 }], /never restarted/],
      [[{ type: 'link', atMs: 0, a: 1, b: 1, fault: { lossPct: 1, delayMs: 0 } }], /two different nodes/],
      [[{ type: 'link', atMs: 0, a: 0, b: 1, fault: { lossPct: 101, delayMs: 0 } }], /lossPct/],
      [[{ type: 'partition', atMs: 0, groups: [] }], /at least one group/],
    ]
    for (const [plan, message] of cases) {
      expect(() => validateFaultPlan(plan, 3)).toThrow(ScenarioConfigError)
      expect(() => validateFaultPlan(plan, 3)).toThrow(message)
    }
  })

  test('lastHealMs is the last event that gives connectivity back', () => {
    expect(lastHealMs([])).toBe(0)
    expect(
      lastHealMs([
        { type: 'partition', atMs: 1, groups: [[0]] },
        { type: 'heal', atMs: 5 },
        { type: 'crash', atMs: 6, node: 0 },
        { type: 'restart', atMs: 9, node: 0 },
        { type: 'partition', atMs: 12, groups: [[0]] },
      ]),
    ).toBe(9)
  })
})
