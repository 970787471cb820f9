import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPullClaims } from '../src/claims.js'

const key = (n: number) => Uint8Array.of(n)
const hex = (k: Uint8Array) => Buffer.from(k).toString('hex')

describe('pull claims', () => {
  it('hand each key to one session at a time and tell the others whom to wait for', async () => {
    type Op = { kind: 'claim'; keys: number[] } | { kind: 'release'; pick: number; ok: boolean }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('claim' as const),
        keys: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 8 }),
      }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), ok: fc.boolean() }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const claims = createPullClaims()
        const active: Array<{ id: number; mine: Set<string>; release: (ok: boolean) => void }> = []
        const outcomes = new Map<number, boolean>()
        const waits: Array<{ owner: number; settled: Promise<boolean> }> = []
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
              waits.push({ owner: owner!.id, settled: group.settled })
            }
            for (const k of mine) {
              expect(active.some((a) => a.mine.has(k))).toBe(false)
            }
            active.push({ id, mine, release: claim.release })
          } else if (active.length > 0) {
            const [done] = active.splice(o.pick % active.length, 1)
            done!.release(o.ok)
            outcomes.set(done!.id, o.ok)
          }
          expect(claims.size).toBe(active.reduce((n, a) => n + a.mine.size, 0))
        }
        for (const a of active.splice(0)) {
          a.release(true)
          outcomes.set(a.id, true)
        }
        expect(claims.size).toBe(0)
        // A waiter learns exactly how the session it waited for ended.
        for (const w of waits) expect(await w.settled).toBe(outcomes.get(w.owner))
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
    first.release(false)
    const second = claims.claim('assertions', [key(1)])
    expect(second.mine).toHaveLength(1)
    first.release(true)
    expect(claims.claim('assertions', [key(1)]).mine).toHaveLength(0)
    second.release(true)
    expect(claims.size).toBe(0)
  })
})
