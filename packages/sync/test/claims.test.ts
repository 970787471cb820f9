import { hex } from '@provsync/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPullClaims } from '../src/claims.js'

const key = (n: number) => Uint8Array.of(n)

describe('pull claims', () => {
  it('hand each key to one session at a time and tell the others what it did not bring', async () => {
    // A release either fails (undefined) or names which of the session's keys it delivered.
    type Op =
      | { kind: 'claim'; keys: number[] }
      | { kind: 'release'; pick: number; ok: boolean; deliveredMask: number }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('claim' as const),
        keys: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 8 }),
      }),
      fc.record({
        kind: fc.constant('release' as const),
        pick: fc.nat(),
        ok: fc.boolean(),
        deliveredMask: fc.nat({ max: 0xffff }),
      }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const claims = createPullClaims()
        const active: Array<{
          id: number
          mine: Set<string>
          release: (delivered: readonly Uint8Array[] | undefined) => void
        }> = []
        // What each released session delivered (hex keys), undefined when it failed.
        const outcomes = new Map<number, Set<string> | undefined>()
        const waits: Array<{ owner: number; keys: string[]; missing: Promise<Uint8Array[]> }> = []
        let nextId = 0
        for (const o of ops) {
          if (o.kind === 'claim') {
            const claim = claims.claim('assertions', o.keys.map(key))
            const id = nextId++
            const mine = new Set(claim.mine.map(hex))
            // Every key asked for is either ours or another active session's, never both, never lost.
            const elsewhere = new Set(claim.elsewhere.flatMap((e) => e.keys.map(hex)))
            for (const k of o.keys.map(key).map(hex)) {
              expect(mine.has(k) !== elsewhere.has(k)).toBe(true)
            }
            for (const group of claim.elsewhere) {
              const owner = active.find((a) => group.keys.every((k) => a.mine.has(hex(k))))
              expect(owner, 'a waited-for key belongs to one active session').toBeDefined()
              waits.push({ owner: owner!.id, keys: group.keys.map(hex), missing: group.missing })
            }
            for (const k of mine) {
              expect(active.some((a) => a.mine.has(k))).toBe(false)
            }
            active.push({ id, mine, release: claim.release })
          } else if (active.length > 0) {
            const [done] = active.splice(o.pick % active.length, 1)
            const delivered = o.ok
              ? [...done!.mine].filter((k) => (o.deliveredMask >> Number.parseInt(k, 16)) & 1)
              : undefined
            done!.release(delivered?.map((k) => Uint8Array.of(Number.parseInt(k, 16))))
            outcomes.set(done!.id, delivered === undefined ? undefined : new Set(delivered))
          }
          expect(claims.size).toBe(active.reduce((n, a) => n + a.mine.size, 0))
        }
        for (const a of active.splice(0)) {
          a.release([...a.mine].map((k) => Uint8Array.of(Number.parseInt(k, 16))))
          outcomes.set(a.id, new Set(a.mine))
        }
        expect(claims.size).toBe(0)
        // A waiter is left exactly the keys the session it waited for did not deliver.
        for (const w of waits) {
          const delivered = outcomes.get(w.owner)
          const expected = delivered === undefined ? w.keys : w.keys.filter((k) => !delivered.has(k))
          expect((await w.missing).map(hex)).toEqual(expected)
        }
      }),
      { numRuns: 200 },
    )
  })

  it('keep stores apart and ignore a key asked twice in one claim', () => {
    const claims = createPullClaims()
    const a = claims.claim('assertions', [key(1), key(1)])
    expect(a.mine.map(hex)).toEqual(['01'])
    const b = claims.claim('supersessions', [key(1)])
    expect(b.mine.map(hex)).toEqual(['01'])
    expect(b.elsewhere).toHaveLength(0)
    expect(claims.size).toBe(2)
  })

  it('release once: a second release changes nothing held by a later claim', () => {
    const claims = createPullClaims()
    const first = claims.claim('assertions', [key(1)])
    first.release(undefined)
    const second = claims.claim('assertions', [key(1)])
    expect(second.mine).toHaveLength(1)
    first.release([key(1)])
    expect(claims.claim('assertions', [key(1)]).mine).toHaveLength(0)
    second.release([key(1)])
    expect(claims.size).toBe(0)
  })
})
