import {
  anyEvidence,
  atLeastAsserters,
  type HistoryEntry,
  InvalidArgumentError,
  ignoring,
  locallyVerifiedOnly,
  toHex,
} from '@provsync/crdt'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { sameComponent } from '../src/view.js'
import { assertionBytes, BASE_MS, coordinate, revocationBytes, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterAll(() => temp.cleanup())

const operator = signerN(100)
const peers = [signerN(1), signerN(2), signerN(3)]
const coords = [coordinate(1), coordinate(2)]

type Op =
  | { type: 'assert'; peer: number; coord: number; run: bigint }
  | { type: 'local'; coord: number; run: bigint }
  | { type: 'revoke' | 'reinstate'; peer: number }

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    type: fc.constant('assert' as const),
    peer: fc.nat({ max: 2 }),
    coord: fc.nat({ max: 1 }),
    run: fc.bigInt({ min: 0n, max: 6n }),
  }),
  fc.record({
    type: fc.constant('local' as const),
    coord: fc.nat({ max: 1 }),
    run: fc.bigInt({ min: 0n, max: 6n }),
  }),
  fc.record({ type: fc.constantFrom('revoke' as const, 'reinstate' as const), peer: fc.nat({ max: 2 }) }),
)

describe('history', () => {
  it('only grows: every earlier snapshot is a prefix of every later one, numbered without gaps (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 25 }), async (ops) => {
        const state = await temp.open({ trust: [operator.publicKey], noSync: true })
        const snapshots: HistoryEntry[][] = [state.history.since()]
        let t = 0
        for (const op of ops) {
          t++
          if (op.type === 'assert') {
            const peer = peers[op.peer]!
            await state.apply('assertions', [assertionBytes(peer, coords[op.coord]!, op.run, BASE_MS + t)], {
              from: peer.publicKey,
            })
          } else if (op.type === 'local') {
            state.advanceVerified(coords[op.coord]!, op.run)
          } else {
            await state.apply(
              'revocations',
              [revocationBytes(operator, peers[op.peer]!.publicKey, op.type, BASE_MS + t)],
              {
                from: operator.publicKey,
              },
            )
          }
          snapshots.push(state.history.since())
        }
        for (let i = 1; i < snapshots.length; i++) {
          expect(snapshots[i]!.slice(0, snapshots[i - 1]!.length)).toEqual(snapshots[i - 1])
        }
        const last = snapshots.at(-1)!
        expect(last.map((h) => h.seq)).toEqual(last.map((_, i) => i + 1))
        // Each entry's `after` is the next entry's `before` for the same coordinate, and the
        // last one is the current view (the HLC of the evidence may move without an entry).
        for (const c of coords) {
          const entries = last.filter((h) => h.coordinate.origin === c.origin)
          for (let i = 1; i < entries.length; i++) {
            expect(sameComponent(entries[i]!.before, entries[i - 1]!.after)).toBe(true)
          }
          if (entries.length > 0) expect(sameComponent(entries.at(-1)!.after, state.view.get(c))).toBe(true)
        }
        await state.close()
      }),
      { numRuns: 15 },
    )
  })
})

describe('gate', () => {
  it('decides by policy and names the evidence', async () => {
    const state = await temp.open({ trust: [operator.publicKey] })
    const [A, B, C] = peers as [(typeof peers)[0], (typeof peers)[0], (typeof peers)[0]]
    const c = coords[0]!
    await state.apply('assertions', [assertionBytes(A, c, 10n)], { from: A.publicKey })
    await state.apply('assertions', [assertionBytes(B, c, 8n)], { from: B.publicKey })
    await state.apply('assertions', [assertionBytes(C, c, 5n)], { from: C.publicKey })
    state.advanceVerified(c, 6n)

    const any = state.gate(c, 9n, anyEvidence)
    expect(any.allowed).toBe(true)
    expect(any.reason).toContain(`asserted by ${toHex(A.publicKey)}`)
    expect(any.evidence).toMatchObject([{ source: 'asserted', asserter: A.publicKey, run: 10n }])
    expect(state.gate(c, 11n).allowed).toBe(false)

    const local = state.gate(c, 6n, locallyVerifiedOnly)
    expect(local).toMatchObject({ allowed: true, evidence: [{ source: 'local', run: 6n }] })
    expect(local.reason).toContain('locally verified')
    const notLocal = state.gate(c, 7n, locallyVerifiedOnly)
    expect(notLocal.allowed).toBe(false)
    expect(notLocal.reason).toContain('locally verified only up to run 6')
    // Local evidence is preferred whenever it covers the run.
    expect(state.gate(c, 5n).evidence[0]?.source).toBe('local')

    // Distinct asserters covering run 5: A, B, C and this node's own assertion at 6.
    expect(state.gate(c, 5n, atLeastAsserters(4)).allowed).toBe(true)
    expect(state.gate(c, 8n, atLeastAsserters(2))).toMatchObject({ allowed: true })
    const tooFew = state.gate(c, 9n, atLeastAsserters(2))
    expect(tooFew.allowed).toBe(false)
    expect(tooFew.reason).toContain('1 distinct asserter covers it, need 2')

    const ignoringA = state.gate(c, 8n, ignoring([A.publicKey]))
    expect(ignoringA.allowed).toBe(true)
    expect(ignoringA.reason).toContain(toHex(B.publicKey))
    expect(state.gate(c, 9n, ignoring([A.publicKey])).allowed).toBe(false)

    // Revoked asserters are never evidence.
    await state.apply('revocations', [revocationBytes(operator, A.publicKey)], { from: operator.publicKey })
    expect(state.gate(c, 9n).allowed).toBe(false)
    expect(state.gate(c, 8n).reason).toContain(toHex(B.publicKey))

    expect(() => state.gate(c, 1n, atLeastAsserters(0))).toThrow(InvalidArgumentError)
    expect(() => state.gate(c, 1n, { type: 'sometimes' } as never)).toThrow(InvalidArgumentError)
    expect(state.gate(coordinate(99), 0n).allowed).toBe(false)
  })
})
