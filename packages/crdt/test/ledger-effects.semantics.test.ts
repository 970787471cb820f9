// What applying a ledger entry leaves behind besides its result (issue #18): the cause each view
// change records, the records a revocation takes out of the replicated set and a reinstatement
// puts back, and a networked invalidation applied through the ledger.
import { encodeInvalidation, type InvalidationCriteria, signInvalidation } from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import { toHex } from '../src/bytes.js'
import { BASE_MS, crdtSuite, hash32, NETWORK, SEEDED_COORDS, supersessionBytes } from './helpers.js'

const suite = crdtSuite()
const { temp, operator, A } = suite
const coords = SEEDED_COORDS

async function seeded() {
  return { state: await suite.seeded({ wallClock: () => BASE_MS }), operator, A }
}

/** The history entries from index `from` on, as (kind, origin, cause), in coordinate order (the
 * order a ledger entry recomputes them in is its index's, a hash order). */
const tail = (entries: { kind: string; coordinate: { origin: string }; cause: object }[], from: number) =>
  entries
    .slice(from)
    .map((e) => [e.kind, e.coordinate.origin, e.cause] as const)
    .sort((a, b) => a[1].localeCompare(b[1]))

describe('ledger effects: history causes', () => {
  it('each view change of a revocation, reinstatement and invalidation names its kind and ledger entry', async () => {
    const { state, operator, A } = await seeded()
    const h0 = state.history.since().length
    await state.revocations.revoke({ subject: A.publicKey, subjectKind: 'signer', reason: 'r' }, operator)
    const h1 = state.history.since().length
    // Coordinate 1 falls back to B's run 4; 2 and 3 lose their only asserter.
    expect(tail(state.history.since(), h0)).toEqual([
      ['revoke', 'origin-1', { type: 'revoke', ledgerSeq: 1 }],
      ['revoke', 'origin-2', { type: 'revoke', ledgerSeq: 1 }],
      ['revoke', 'origin-3', { type: 'revoke', ledgerSeq: 1 }],
    ])
    await state.revocations.reinstate({ subject: A.publicKey, subjectKind: 'signer', reason: 'r' }, operator)
    const h2 = state.history.since().length
    expect(tail(state.history.since(), h1)).toEqual([
      ['reinstate', 'origin-1', { type: 'reinstate', ledgerSeq: 2 }],
      ['reinstate', 'origin-2', { type: 'reinstate', ledgerSeq: 2 }],
      ['reinstate', 'origin-3', { type: 'reinstate', ledgerSeq: 2 }],
    ])
    state.ledger.invalidate({ type: 'pattern', pattern: 'vol/dst/origin-3' }, { actor: 'ops', reason: 'x' })
    expect(tail(state.history.since(), h2)).toEqual([
      ['revoke', 'origin-3', { type: 'invalidate', ledgerSeq: 3 }],
    ])
  })
})

describe('ledger effects: the replicated set', () => {
  it('a revoked signer leaves the assertions and supersessions trees; reinstated, it is back with the same roots', async () => {
    const { state, operator, A } = await seeded()
    await state.apply('supersessions', [supersessionBytes(A, hash32(1))], { from: A.publicKey })
    const roots = () => ({
      assertions: [state.tree('assertions').count(), toHex(state.tree('assertions').root())],
      supersessions: [state.tree('supersessions').count(), toHex(state.tree('supersessions').root())],
    })
    const before = roots()
    expect([before.assertions[0], before.supersessions[0]]).toEqual([4, 1])
    await state.revocations.revoke({ subject: A.publicKey, subjectKind: 'signer', reason: 'r' }, operator)
    const revoked = roots()
    expect([revoked.assertions[0], revoked.supersessions[0]]).toEqual([1, 0])
    await state.revocations.reinstate({ subject: A.publicKey, subjectKind: 'signer', reason: 'r' }, operator)
    expect(roots()).toEqual(before)
  })

  it("this node's own key reinstated: the evidence withheld meanwhile enters the assertions tree", async () => {
    const state = await temp.open({ trust: [operator.publicKey], wallClock: () => BASE_MS })
    state.advanceVerified(coords[0]!, 2n)
    const self = { subject: state.publicKey, subjectKind: 'signer' as const, reason: 'r' }
    expect(state.tree('assertions').count()).toBe(1)
    await state.revocations.revoke(self, operator)
    state.advanceVerified(coords[1]!, 5n)
    expect(state.tree('assertions').count()).toBe(0)
    const h = state.history.since().length
    await state.revocations.reinstate(self, operator)
    expect(state.tree('assertions').count()).toBe(2)
    expect(tail(state.history.since(), h).map(([, origin, cause]) => [origin, cause])).toEqual([
      ['origin-1', { type: 'reinstate', ledgerSeq: 2 }],
      ['origin-2', { type: 'reinstate', ledgerSeq: 2 }],
    ])
  })
  it("another key revoked or reinstated while this node's key is revoked leaves its evidence withheld", async () => {
    const state = await temp.open({ trust: [operator.publicKey], wallClock: () => BASE_MS })
    const self = { subject: state.publicKey, subjectKind: 'signer' as const, reason: 'r' }
    await state.revocations.revoke(self, operator)
    state.advanceVerified(coords[1]!, 5n)
    const other = { subject: A.publicKey, subjectKind: 'signer' as const, reason: 'r' }
    await state.revocations.revoke(other, operator)
    await state.revocations.reinstate(other, operator)
    expect(state.tree('assertions').count()).toBe(0)
    expect(state.view.get(coords[1]!)?.corroborators).toEqual([])
    // Its own reinstatement asserts it.
    await state.revocations.reinstate(self, operator)
    expect(state.tree('assertions').count()).toBe(1)
  })
})

describe('ledger effects: a networked invalidation', () => {
  it('applies as a networked ledger entry with its exact result, and its lift restores what it took', async () => {
    const { state, operator } = await seeded()
    const criteria: InvalidationCriteria = { type: 'prefix', prefix: 'vol/dst/origin-2' }
    const record = signInvalidation(
      { action: 'invalidate', criteria, reason: 'bad batch', hlc: { wallMs: BASE_MS + 1, counter: 0 } },
      operator,
      NETWORK,
    )
    await state.apply('invalidations', [encodeInvalidation(record, NETWORK)], { from: operator.publicKey })
    const [entry] = state.ledger.byKind('invalidate')
    expect(entry).toMatchObject({
      seq: 1,
      kind: 'invalidate',
      origin: 'networked',
      criteria,
      result: { invalidated: 1, restored: 0, viewChanges: 1 },
    })
    expect(coords.map((c) => state.view.get(c)?.run)).toEqual([9n, undefined, 9n])
    const lift = await state.invalidations.lift(entry!.id, { reason: 'false alarm' }, operator)
    expect(lift.result).toEqual({ invalidated: 0, restored: 1, viewChanges: 1 })
    expect(coords.map((c) => state.view.get(c)?.run)).toEqual([9n, 9n, 9n])
  })
})
