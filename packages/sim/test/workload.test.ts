import { ScenarioConfigError } from '@provsync/sim'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createRng } from '../src/prng.js'
import { planWorkload, type WorkloadOptions } from '../src/workload.js'

const options = fc.record({
  nodes: fc.integer({ min: 1, max: 8 }),
  operations: fc.integer({ min: 0, max: 120 }),
  durationMs: fc.integer({ min: 0, max: 10_000 }),
  mix: fc.record({
    verify: fc.integer({ min: 0, max: 5 }),
    supersede: fc.integer({ min: 0, max: 5 }),
    operator: fc.integer({ min: 1, max: 5 }),
  }),
})

describe('planWorkload', () => {
  test('the same seed gives the same schedule', () => {
    fc.assert(
      fc.property(options, fc.string(), (o, seed) => {
        expect(planWorkload(o, createRng(seed))).toEqual(planWorkload(o, createRng(seed)))
      }),
    )
  })

  test('another seed gives another schedule', () => {
    const o = { nodes: 4, operations: 50, durationMs: 1_000 }
    expect(planWorkload(o, createRng('a'))).not.toEqual(planWorkload(o, createRng('b')))
  })

  test('it has the asked number of ops, in time order, inside the duration, on real nodes', () => {
    fc.assert(
      fc.property(options, fc.string(), (o, seed) => {
        const ops = planWorkload(o, createRng(seed))
        expect(ops).toHaveLength(o.operations)
        ops.forEach((op, i) => {
          expect(op.node).toBeGreaterThanOrEqual(0)
          expect(op.node).toBeLessThan(o.nodes)
          expect(op.atMs).toBeGreaterThanOrEqual(i === 0 ? 0 : ops[i - 1]!.atMs)
          expect(op.atMs).toBeLessThanOrEqual(Math.max(0, o.durationMs))
        })
      }),
    )
  })

  test('a node verifies ever higher runs of a coordinate', () => {
    fc.assert(
      fc.property(options, fc.string(), (o, seed) => {
        const last = new Map<string, bigint>()
        for (const op of planWorkload(o, createRng(seed))) {
          if (op.type !== 'verify') continue
          const key = `${op.node}/${op.coordinate.origin}`
          expect(op.run).toBeGreaterThan(last.get(key) ?? 0n)
          last.set(key, op.run)
        }
      }),
    )
  })

  test('operators alternate revoke and reinstate per subject, and revoked nodes do not act', () => {
    fc.assert(
      fc.property(options, fc.string(), (o, seed) => {
        const revocable = Array.from({ length: o.nodes }, (_, i) => i).filter((i) => i % 2 === 1)
        const revoked = new Set<number>()
        for (const op of planWorkload({ ...o, revocable }, createRng(seed))) {
          if (op.type === 'revoke') {
            expect(revoked.has(op.subject)).toBe(false)
            expect(revocable).toContain(op.subject)
            revoked.add(op.subject)
          } else if (op.type === 'reinstate') {
            expect(revoked.delete(op.subject)).toBe(true)
          }
          if (revoked.size < o.nodes) expect(revoked.has(op.node)).toBe(false)
        }
      }),
    )
  })

  test('a zero weight removes that kind of op', () => {
    const ops = planWorkload(
      { nodes: 3, operations: 200, durationMs: 100, mix: { supersede: 0 } },
      createRng('w'),
    )
    expect(ops.some((op) => op.type === 'supersede')).toBe(false)
    expect(ops.some((op) => op.type === 'verify')).toBe(true)
  })

  test('supersessions carry a replacement exactly when their kind needs one', () => {
    const ops = planWorkload(
      { nodes: 2, operations: 200, durationMs: 100, mix: { verify: 0, supersede: 1 } },
      createRng('s'),
    )
    for (const op of ops) {
      if (op.type !== 'supersede') throw new Error(`unexpected ${op.type}`)
      expect(op.target).toHaveLength(32)
      expect(op.replacement === undefined).toBe(op.kind === 'invalidate')
    }
  })

  test('bad options are refused with a typed error naming the field', () => {
    const bad: Array<[WorkloadOptions, string]> = [
      [{ nodes: 0, operations: 1, durationMs: 1 }, 'workload.nodes'],
      [{ nodes: 1, operations: -1, durationMs: 1 }, 'workload.operations'],
      [{ nodes: 1, operations: 1, durationMs: Number.NaN }, 'workload.durationMs'],
      [{ nodes: 1, operations: 1, durationMs: 1, mix: { verify: -1 } }, 'workload.mix.verify'],
      [
        { nodes: 1, operations: 1, durationMs: 1, mix: { verify: 0, supersede: 0, operator: 0 } },
        'workload.mix',
      ],
      [{ nodes: 2, operations: 1, durationMs: 1, revocable: [2] }, 'workload.revocable'],
    ]
    for (const [o, field] of bad) {
      const error = (() => {
        try {
          planWorkload(o, createRng('x'))
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(ScenarioConfigError)
      expect((error as ScenarioConfigError).field).toBe(field)
    }
  })
})
