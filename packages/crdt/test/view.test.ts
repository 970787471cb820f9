import { type AssertionEvidence, type Component, deriveComponent, type LocalEvidence } from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { classifyChange, sameComponent } from '../src/view.js'
import { hlc, signerN } from './helpers.js'

const keys = [1, 2, 3, 4].map((n) => signerN(n).publicKey)
const [A, B, C] = keys as [Uint8Array, Uint8Array, Uint8Array]
const relay = signerN(9).publicKey

function ev(asserter: Uint8Array, run: bigint, wallMs = 1000, via?: Uint8Array): AssertionEvidence {
  return { asserter, run, hlc: hlc(wallMs), hash: new Uint8Array(32).fill(Number(run % 251n)), via }
}
const local = (run: bigint, wallMs = 1000): LocalEvidence => ({ run, hlc: hlc(wallMs) })

const arbEvidence = fc.array(
  fc.record({
    asserter: fc.constantFrom(...keys),
    run: fc.bigInt({ min: 0n, max: 20n }),
    wallMs: fc.integer({ min: 0, max: 50 }),
    relayed: fc.boolean(),
  }),
  { maxLength: 12 },
)
// One register per asserter, as the store keeps it.
const toEvidence = (items: { asserter: Uint8Array; run: bigint; wallMs: number; relayed: boolean }[]) => {
  const byAsserter = new Map<string, AssertionEvidence>()
  for (const i of items)
    byAsserter.set(
      Buffer.from(i.asserter).toString('hex'),
      ev(i.asserter, i.run, i.wallMs, i.relayed ? relay : undefined),
    )
  return [...byAsserter.values()]
}
const arbLocal = fc.option(
  fc.record({ run: fc.bigInt({ min: 0n, max: 20n }), wallMs: fc.integer({ min: 0, max: 50 }) }),
  {
    nil: undefined,
  },
)

describe('durability view: provenance rules', () => {
  it('rule 1: a strict advance adopts the incoming provenance', () => {
    const before = deriveComponent(local(5n), [])
    const after = deriveComponent(local(5n), [ev(A, 6n)])
    expect(after?.provenance).toEqual({ type: 'asserted', asserter: A })
    expect(classifyChange(before, after, 'pull')).toBe('advance')
    const relayed = deriveComponent(undefined, [ev(A, 7n, 1000, relay)])
    expect(relayed?.provenance).toEqual({ type: 'asserted', asserter: A, via: relay })
  })

  it('rule 2: local evidence at the recorded run reclaims a peer-asserted component', () => {
    const before = deriveComponent(undefined, [ev(A, 6n)])
    const after = deriveComponent(local(6n), [ev(A, 6n)])
    expect(before?.provenance.type).toBe('asserted')
    expect(after?.provenance).toEqual({ type: 'local' })
    expect(after?.corroborators).toEqual([A])
    expect(classifyChange(before, after, 'local')).toBe('reclaim')
  })

  it('rule 3: a peer assertion at the recorded run never downgrades local; it only corroborates', () => {
    const before = deriveComponent(local(6n), [])
    const after = deriveComponent(local(6n), [ev(B, 6n)])
    expect(after?.provenance).toEqual({ type: 'local' })
    expect(after?.corroborators).toEqual([B])
    expect(classifyChange(before, after, 'pull')).toBe('corroborate')
  })

  it('rule 4: a lower run never lowers the view', () => {
    const before = deriveComponent(undefined, [ev(A, 9n)])
    const after = deriveComponent(undefined, [ev(A, 9n), ev(B, 3n)])
    expect(sameComponent(before, after)).toBe(true)
    expect(classifyChange(before, after, 'pull')).toBeUndefined()
  })

  it('rule 5: excluding an asserter falls back to the best remaining evidence', () => {
    const evidence = [ev(A, 9n), ev(B, 7n), ev(C, 7n)]
    const notA = (e: AssertionEvidence) => e !== evidence[0]
    const before = deriveComponent(local(4n), evidence)
    const after = deriveComponent(local(4n), evidence, notA)
    expect(before?.run).toBe(9n)
    expect(after?.run).toBe(7n)
    expect(after?.corroborators.length).toBe(2)
    expect(classifyChange(before, after, 'revoke')).toBe('revoke')
    const onlyLocal = deriveComponent(local(4n), evidence, () => false)
    expect(onlyLocal).toMatchObject({ run: 4n, provenance: { type: 'local' } })
    expect(deriveComponent(undefined, evidence, () => false)).toBeUndefined()
  })

  it('is independent of evidence order (property)', () => {
    fc.assert(
      fc.property(arbLocal, arbEvidence, fc.infiniteStream(fc.nat()), (l, items, seeds) => {
        const evidence = toEvidence(items)
        const loc = l === undefined ? undefined : local(l.run, l.wallMs)
        const shuffled = [...evidence].sort(() => (seeds.next().value % 3) - 1)
        expect(sameComponent(deriveComponent(loc, evidence), deriveComponent(loc, shuffled))).toBe(true)
      }),
    )
  })

  it('holds the highest admissible run, prefers local at that run, and lists exactly its asserters (property)', () => {
    fc.assert(
      fc.property(arbLocal, arbEvidence, (l, items) => {
        const evidence = toEvidence(items)
        const loc = l === undefined ? undefined : local(l.run, l.wallMs)
        const c = deriveComponent(loc, evidence) as Component | undefined
        const runs = [...evidence.map((e) => e.run), ...(loc ? [loc.run] : [])]
        if (runs.length === 0) {
          expect(c).toBeUndefined()
          return
        }
        const top = runs.reduce((a, b) => (a > b ? a : b))
        expect(c?.run).toBe(top)
        expect(c?.provenance.type === 'local').toBe(loc?.run === top)
        expect(c?.corroborators.length).toBe(evidence.filter((e) => e.run === top).length)
      }),
    )
  })

  it('adding evidence never lowers the run (property: rule 4)', () => {
    fc.assert(
      fc.property(arbLocal, arbEvidence, arbEvidence, (l, first, more) => {
        const loc = l === undefined ? undefined : local(l.run, l.wallMs)
        const before = deriveComponent(loc, toEvidence(first))
        const after = deriveComponent(
          loc,
          toEvidence([...first, ...more.filter((m) => !first.some((f) => f.asserter === m.asserter))]),
        )
        if (before !== undefined) expect(after!.run >= before.run).toBe(true)
        if (before?.provenance.type === 'local' && after?.run === before.run) {
          expect(after.provenance.type).toBe('local')
        }
      }),
    )
  })
})
