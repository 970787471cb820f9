import {
  type AssertionEvidence,
  type CauseType,
  type Component,
  deriveComponent,
  type Provenance,
} from '@provsync/crdt'
import type { Timestamp } from '@provsync/hlc'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { classifyChange, sameComponent, sameProvenance } from '../src/view.js'
import { assertionBytes, BASE_MS, coordinate, revocationBytes, signerN, TempDirs } from './helpers.js'

// Keys sorted by bytes: LOW < MID < HIGH, so key order and HLC order can be set against each other.
const [LOW, MID, HIGH] = [1, 2, 3, 4, 5]
  .map((n) => signerN(n).publicKey)
  .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))) as [Uint8Array, Uint8Array, Uint8Array]
const relay = signerN(9).publicKey
const relay2 = signerN(10).publicKey

const ts = (wallMs: number, counter = 0, node = 0): Timestamp => ({
  wallMs,
  counter,
  nodeId: new Uint8Array(8).fill(node),
})
function ev(
  asserter: Uint8Array,
  run: bigint,
  hlcAt: Timestamp = ts(10),
  via?: Uint8Array,
): AssertionEvidence {
  return { asserter, run, hlc: hlcAt, hash: new Uint8Array(32).fill(Number(run)), via }
}
const asserted = (asserter: Uint8Array, via?: Uint8Array): Provenance =>
  via === undefined ? { type: 'asserted', asserter } : { type: 'asserted', asserter, via }
const comp = (run: bigint, provenance: Provenance, corroborators: Uint8Array[], at = ts(1)): Component => ({
  run,
  provenance,
  corroborators,
  hlc: at,
})
const LOCAL: Provenance = { type: 'local' }

describe('view: provenance at the top run is the first to assert it', () => {
  it('the earliest HLC wins over the smaller key', () => {
    const c = deriveComponent(undefined, [ev(LOW, 5n, ts(20)), ev(HIGH, 5n, ts(10)), ev(MID, 5n, ts(30))])
    expect(c).toEqual({ run: 5n, provenance: asserted(HIGH), corroborators: [LOW, MID, HIGH], hlc: ts(10) })
    expect(c?.provenance).not.toHaveProperty('via')
  })

  it('the HLC counter and node id order it too, then the key', () => {
    const byCounter = deriveComponent(undefined, [ev(LOW, 5n, ts(10, 2)), ev(HIGH, 5n, ts(10, 1))])
    expect(byCounter?.provenance).toEqual(asserted(HIGH))
    const byNode = deriveComponent(undefined, [ev(LOW, 5n, ts(10, 0, 2)), ev(HIGH, 5n, ts(10, 0, 1))])
    expect(byNode?.provenance).toEqual(asserted(HIGH))
    const byKey = deriveComponent(undefined, [ev(HIGH, 5n, ts(10)), ev(LOW, 5n, ts(10)), ev(MID, 5n, ts(10))])
    expect(byKey?.provenance).toEqual(asserted(LOW))
  })

  it('only evidence at the top run counts, and the component takes the deciding HLC', () => {
    const c = deriveComponent(undefined, [
      ev(LOW, 4n, ts(1)),
      ev(HIGH, 6n, ts(50)),
      ev(MID, 6n, ts(40, 0, 0), relay),
    ])
    expect(c).toEqual({ run: 6n, provenance: asserted(MID, relay), corroborators: [MID, HIGH], hlc: ts(40) })
    const withLocal = deriveComponent({ run: 6n, hlc: ts(99) }, [ev(LOW, 6n, ts(1))])
    expect(withLocal).toEqual({ run: 6n, provenance: LOCAL, corroborators: [LOW], hlc: ts(99) })
  })

  it('a relay equal to the asserter is no relay; an asserter twice is one corroborator', () => {
    const c = deriveComponent(undefined, [ev(LOW, 3n, ts(5), LOW), ev(LOW, 3n, ts(6))])
    expect(c?.provenance).toEqual(asserted(LOW))
    expect(c?.provenance).not.toHaveProperty('via')
    expect(c?.corroborators).toEqual([LOW])
  })

  it('is the earliest (HLC, key) at the top run whatever the storage order (property)', () => {
    const keys = [LOW, MID, HIGH]
    const arbItem = fc.record({
      who: fc.nat({ max: 2 }),
      run: fc.bigInt({ min: 0n, max: 3n }),
      wall: fc.nat({ max: 4 }),
      counter: fc.nat({ max: 2 }),
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(arbItem, { selector: (i) => i.who, minLength: 1, maxLength: 3 }),
        fc.infiniteStream(fc.nat()),
        (items, seeds) => {
          const evidence = items.map((i) => ev(keys[i.who]!, i.run, ts(i.wall, i.counter)))
          const shuffled = [...evidence].sort(() => (seeds.next().value % 3) - 1)
          const top = evidence.reduce((m, e) => (e.run > m ? e.run : m), 0n)
          const atTop = items.filter((i) => i.run === top)
          const first = [...atTop].sort(
            (a, b) => a.wall - b.wall || a.counter - b.counter || a.who - b.who,
          )[0]!
          for (const order of [evidence, shuffled]) {
            const c = deriveComponent(undefined, order)
            expect(c?.provenance).toEqual(asserted(keys[first.who]!))
            expect(c?.hlc).toEqual(ts(first.wall, first.counter))
            expect(c?.corroborators).toEqual([...atTop].sort((a, b) => a.who - b.who).map((i) => keys[i.who]))
          }
        },
      ),
    )
  })
})

describe('view: provenance and component equality', () => {
  it('two asserted provenances are equal only with the same asserter and relay', () => {
    expect(sameProvenance(asserted(LOW), asserted(new Uint8Array(LOW)))).toBe(true)
    expect(sameProvenance(asserted(LOW, relay), asserted(new Uint8Array(LOW), new Uint8Array(relay)))).toBe(
      true,
    )
    expect(sameProvenance(asserted(LOW), asserted(MID))).toBe(false)
    expect(sameProvenance(asserted(LOW, relay), asserted(LOW))).toBe(false)
    expect(sameProvenance(asserted(LOW), asserted(LOW, relay))).toBe(false)
    expect(sameProvenance(asserted(LOW, relay), asserted(LOW, relay2))).toBe(false)
    expect(sameProvenance(LOCAL, LOCAL)).toBe(true)
    expect(sameProvenance(LOCAL, asserted(LOW))).toBe(false)
    expect(sameProvenance(asserted(LOW), LOCAL)).toBe(false)
  })

  it('components are equal only with the same run, provenance and corroborators', () => {
    const base = comp(5n, asserted(LOW), [LOW, MID])
    expect(sameComponent(base, comp(5n, asserted(LOW), [LOW, MID], ts(77)))).toBe(true)
    expect(sameComponent(base, comp(6n, asserted(LOW), [LOW, MID]))).toBe(false)
    expect(sameComponent(base, comp(5n, asserted(MID), [LOW, MID]))).toBe(false)
    expect(sameComponent(base, comp(5n, asserted(LOW), [LOW, HIGH]))).toBe(false)
    expect(sameComponent(base, comp(5n, asserted(LOW), [LOW]))).toBe(false)
    expect(sameComponent(comp(5n, asserted(LOW), [LOW]), base)).toBe(false)
    expect(sameComponent(undefined, undefined)).toBe(true)
    expect(sameComponent(base, undefined)).toBe(false)
    expect(sameComponent(undefined, base)).toBe(false)
  })
})

describe('view: how each change is written in the history', () => {
  const cases: [string, Component | undefined, Component | undefined, CauseType, string | undefined][] = [
    ['first evidence', undefined, comp(1n, asserted(LOW), [LOW]), 'pull', 'advance'],
    [
      'an advance that keeps provenance and corroborators',
      comp(5n, asserted(LOW), [LOW]),
      comp(6n, asserted(LOW), [LOW]),
      'pull',
      'advance',
    ],
    ['a local advance', comp(5n, LOCAL, []), comp(6n, LOCAL, []), 'local', 'advance'],
    ['local evidence reclaims', comp(5n, asserted(LOW), [LOW]), comp(5n, LOCAL, [LOW]), 'local', 'reclaim'],
    [
      'a second asserter joins an asserted component',
      comp(5n, asserted(LOW), [LOW]),
      comp(5n, asserted(LOW), [LOW, MID]),
      'pull',
      'corroborate',
    ],
    [
      'an asserter joins a local component',
      comp(5n, LOCAL, []),
      comp(5n, LOCAL, [MID]),
      'pull',
      'corroborate',
    ],
    [
      'an earlier asserter takes the provenance',
      comp(5n, asserted(MID), [MID]),
      comp(5n, asserted(LOW), [LOW, MID]),
      'pull',
      'corroborate',
    ],
    [
      'a change of relay alone',
      comp(5n, asserted(LOW, relay), [LOW]),
      comp(5n, asserted(LOW), [LOW]),
      'pull',
      'corroborate',
    ],
    [
      'a revocation that leaves the run',
      comp(5n, asserted(LOW), [LOW, MID]),
      comp(5n, asserted(MID), [MID]),
      'revoke',
      'revoke',
    ],
    [
      'an invalidation that leaves the run',
      comp(5n, LOCAL, [LOW, MID]),
      comp(5n, LOCAL, [MID]),
      'invalidate',
      'revoke',
    ],
    [
      'a revocation that lowers the run',
      comp(7n, asserted(LOW), [LOW]),
      comp(4n, LOCAL, []),
      'revoke',
      'revoke',
    ],
    ['a revocation that empties the view', comp(7n, asserted(LOW), [LOW]), undefined, 'revoke', 'revoke'],
    [
      'a reinstatement that raises the run',
      comp(4n, LOCAL, []),
      comp(7n, asserted(LOW), [LOW]),
      'reinstate',
      'reinstate',
    ],
    [
      'a reinstatement at the same run',
      comp(4n, LOCAL, []),
      comp(4n, LOCAL, [LOW]),
      'reinstate',
      'reinstate',
    ],
    ['a replay that lowers the run', comp(7n, asserted(LOW), [LOW]), comp(4n, LOCAL, []), 'replay', 'revoke'],
    ['a replay that empties the view', comp(7n, asserted(LOW), [LOW]), undefined, 'replay', 'revoke'],
    ['a replay that raises the run', comp(4n, LOCAL, []), comp(7n, LOCAL, []), 'replay', 'advance'],
    ['no change', comp(5n, asserted(LOW), [LOW]), comp(5n, asserted(LOW), [LOW], ts(9)), 'revoke', undefined],
    ['nothing before or after', undefined, undefined, 'reinstate', undefined],
  ]
  it.each(cases)('%s', (_, before, after, cause, kind) => {
    expect(classifyChange(before, after, cause)).toBe(kind)
  })
})

describe('view: the history a node writes (exact entries)', () => {
  const temp = new TempDirs()
  afterAll(() => temp.cleanup())
  const operator = signerN(100)
  const [A, B] = [signerN(1), signerN(2)]

  it('advance, corroborate, reclaim and a revoke that keeps the run, each with its cause', async () => {
    const state = await temp.open({ trust: [operator.publicKey], noSync: true })
    const c = coordinate('history')
    const self = state.publicKey
    const sorted = (...keys: Uint8Array[]) =>
      [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)))
    await state.apply('assertions', [assertionBytes(A, c, 5n, BASE_MS + 1)], { from: A.publicKey })
    await state.apply('assertions', [assertionBytes(B, c, 5n, BASE_MS + 2)], { from: A.publicKey })
    state.advanceVerified(c, 5n)
    await state.apply('revocations', [revocationBytes(operator, A.publicKey)], { from: operator.publicKey })
    const entries = state.history.byCoordinate(c)
    expect(entries.map((e) => e.kind)).toEqual(['advance', 'corroborate', 'reclaim', 'revoke'])
    const [advance, corroborate, reclaim, revoke] = entries as [
      (typeof entries)[0],
      (typeof entries)[0],
      (typeof entries)[0],
      (typeof entries)[0],
    ]
    expect(advance.before).toBeUndefined()
    expect(advance.after).toMatchObject({
      run: 5n,
      provenance: asserted(A.publicKey),
      corroborators: [A.publicKey],
    })
    expect(advance.cause).toMatchObject({ type: 'pull', from: A.publicKey })
    expect(corroborate.after).toMatchObject({
      run: 5n,
      provenance: { type: 'asserted', asserter: A.publicKey },
      corroborators: sorted(A.publicKey, B.publicKey),
    })
    expect(corroborate.after?.provenance).not.toHaveProperty('via')
    expect(corroborate.cause).toMatchObject({ type: 'pull', from: A.publicKey })
    expect(reclaim.after).toMatchObject({
      run: 5n,
      provenance: LOCAL,
      corroborators: sorted(A.publicKey, B.publicKey, self),
    })
    expect(reclaim.cause.type).toBe('local')
    expect(revoke.before).toEqual(reclaim.after)
    expect(revoke.after).toMatchObject({
      run: 5n,
      provenance: LOCAL,
      corroborators: sorted(B.publicKey, self),
    })
    expect(revoke.cause.type).toBe('revoke')
    expect(revoke.cause.ledgerSeq).toBeGreaterThan(0)
  })

  it('a relayed assertion keeps its relay in the provenance', async () => {
    const state = await temp.open({ trust: [operator.publicKey], noSync: true })
    const c = coordinate('relayed')
    await state.apply('assertions', [assertionBytes(B, c, 3n, BASE_MS + 1)], { from: A.publicKey })
    const [entry] = state.history.byCoordinate(c)
    expect(entry?.after?.provenance).toEqual(asserted(B.publicKey, A.publicKey))
    expect(entry?.cause).toMatchObject({ type: 'pull', from: A.publicKey })
  })
})
