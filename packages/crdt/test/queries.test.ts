import { formatCoordinate, InvalidArgumentError, type NodeState, STORE_NAMES } from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  assertionBytes,
  BASE_MS,
  coordinate,
  crdtSuite,
  hash32,
  revocationBytes,
  supersessionBytes,
} from './helpers.js'

const { temp, operator, A, B } = crdtSuite('all')

const coords = [coordinate(0), coordinate(1), coordinate(2), coordinate(3)]
const options = { trust: [operator.publicKey], noSync: true }

type Op =
  | { type: 'local'; c: number; run: number }
  | { type: 'assert'; by: 0 | 1; c: number; run: number }
  | { type: 'revoke' | 'reinstate' }

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ type: fc.constant('local' as const), c: fc.nat(3), run: fc.integer({ min: 1, max: 6 }) }),
  fc.record({
    type: fc.constant('assert' as const),
    by: fc.constantFrom(0 as const, 1 as const),
    c: fc.nat(3),
    run: fc.integer({ min: 1, max: 6 }),
  }),
  fc.record({ type: fc.constantFrom('revoke' as const, 'reinstate' as const) }),
)

async function play(state: NodeState, ops: readonly Op[]): Promise<void> {
  for (const [i, op] of ops.entries()) {
    if (op.type === 'local') state.advanceVerified(coords[op.c]!, BigInt(op.run))
    else if (op.type === 'assert') {
      const signer = [A, B][op.by]!
      await state.apply('assertions', [assertionBytes(signer, coords[op.c]!, BigInt(op.run), BASE_MS + i)], {
        from: signer.publicKey,
      })
    } else {
      // A later HLC each time, so the latest act decides.
      const record = revocationBytes(operator, A.publicKey, op.type, BASE_MS + 1000 + i)
      await state.apply('revocations', [record], { from: operator.publicKey })
    }
  }
}

describe('queries for operators', () => {
  it('history.byCoordinate is the history filtered by coordinate, paged by since and limit (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbOp, { minLength: 1, maxLength: 25 }),
        fc.nat(30),
        fc.integer({ min: 1, max: 8 }),
        async (ops, since, limit) => {
          const state = await temp.open(options)
          await play(state, ops)
          const all = state.history.since()
          for (const c of coords) {
            const text = formatCoordinate(c)
            const expected = all.filter((h) => formatCoordinate(h.coordinate) === text)
            expect(state.history.byCoordinate(c)).toEqual(expected)
            expect(state.history.byCoordinate(c, { since, limit })).toEqual(
              expected.filter((h) => h.seq > since).slice(0, limit),
            )
          }
          await state.close()
        },
      ),
      { numRuns: 15 },
    )
  })

  it('view.count() equals the number of view entries through advances, revocations and reinstatements (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 25 }), async (ops) => {
        const state = await temp.open(options)
        for (const op of ops) {
          await play(state, [op])
          expect(state.view.count()).toBe([...state.view.entries()].length)
        }
        await state.close()
      }),
      { numRuns: 15 },
    )
  })

  it('records() lists every stored record with its tree key, and which ones the tree must hold', async () => {
    const state = await temp.open(options)
    await state.apply('assertions', [assertionBytes(A, coords[0]!, 2n), assertionBytes(A, coords[1]!, 1n)], {
      from: A.publicKey,
    })
    await state.apply('assertions', [assertionBytes(B, coords[0]!, 1n)], { from: B.publicKey })
    await state.apply('supersessions', [supersessionBytes(A, hash32(1)), supersessionBytes(B, hash32(2))], {
      from: B.publicKey,
    })
    await state.apply('revocations', [revocationBytes(operator, A.publicKey)], { from: operator.publicKey })

    for (const store of STORE_NAMES) {
      const listed = [...state.records(store)]
      const tree = state.tree(store)
      // What verify checks: the replicated records are exactly the tree's leaves.
      expect(listed.filter((r) => r.replicated).map((r) => [r.key, r.valueHash])).toEqual(
        [...tree.leaves()].map((l) => [l.key, l.valueHash]),
      )
      for (const r of listed) {
        expect(state.getRecords(store, [r.key])[0]).toEqual(r.record)
        expect(tree.get(r.key)).toEqual(r.replicated ? r.valueHash : undefined)
      }
    }
    expect([...state.records('assertions')].map((r) => r.replicated).sort()).toEqual([false, false, true])
    expect([...state.records('supersessions')].map((r) => r.replicated).sort()).toEqual([false, true])
    expect([...state.records('revocations')].map((r) => r.replicated)).toEqual([true])

    // Paging: start is inclusive, limit bounds the page.
    const all = [...state.records('assertions')]
    expect([...state.records('assertions', { start: all[1]!.key, limit: 1 })]).toEqual([all[1]])
    expect(() => state.records('assertions', { start: new Uint8Array(3) })).toThrow(InvalidArgumentError)
    expect(() => state.records('assertions', { limit: -1 })).toThrow(InvalidArgumentError)
    expect(() => state.history.byCoordinate(coords[0]!, { since: 1.5 })).toThrow(InvalidArgumentError)
  })
})
