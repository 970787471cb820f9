import { describe, expect, it } from 'vitest'
import { createPullClaims } from '../src/claims.js'

// The claim rules on small cases where each one decides the outcome: who owns a key, how waiters
// are grouped by owner, and what a waiter is left when its owner delivers, fails or delivers
// keys it never claimed.

const key = (n: number) => Uint8Array.of(n)
const hex = (keys: readonly Uint8Array[]) => keys.map((k) => Buffer.from(k).toString('hex'))

describe('pull claims: rules', () => {
  it('a later claim waits on each owner separately, its keys grouped by owner in asking order', async () => {
    const claims = createPullClaims()
    const first = claims.claim('assertions', [key(1), key(2)])
    const second = claims.claim('assertions', [key(3)])
    const third = claims.claim('assertions', [key(3), key(9), key(2), key(1)])
    expect(hex(third.mine)).toEqual(['09'])
    expect(third.elsewhere.map((e) => hex(e.keys))).toEqual([['03'], ['02', '01']])
    expect(claims.size).toBe(4)
    // The second fails: all of its keys are missing; the first brings key 1 only.
    second.release(undefined)
    first.release([key(1)])
    const [fromSecond, fromFirst] = third.elsewhere
    expect(hex(await fromSecond!.missing)).toEqual(['03'])
    expect(hex(await fromFirst!.missing)).toEqual(['02'])
    expect(claims.size).toBe(1)
  })

  it('a waiter is settled only by the release of the claim it waits on', async () => {
    const claims = createPullClaims()
    const owner = claims.claim('assertions', [key(1)])
    const waiter = claims.claim('assertions', [key(1)])
    let settled = false
    void waiter.elsewhere[0]!.missing.then(() => {
      settled = true
    })
    waiter.release([])
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(false)
    owner.release([key(1)])
    expect(hex(await waiter.elsewhere[0]!.missing)).toEqual([])
  })

  it('delivered keys the owner never claimed change nothing for the waiters', async () => {
    const claims = createPullClaims()
    const owner = claims.claim('assertions', [key(1), key(2)])
    const waiter = claims.claim('assertions', [key(1), key(2)])
    owner.release([key(2), key(7)])
    expect(hex(await waiter.elsewhere[0]!.missing)).toEqual(['01'])
  })

  it('stores are part of a key: the same bytes in another store are another key', async () => {
    const claims = createPullClaims()
    const owner = claims.claim('assertions', [key(1)])
    const waiter = claims.claim('assertions', [key(1)])
    const other = claims.claim('revocations', [key(1)])
    expect(hex(other.mine)).toEqual(['01'])
    // Delivered keys are matched in the owner's store.
    owner.release([key(1)])
    expect(hex(await waiter.elsewhere[0]!.missing)).toEqual([])
  })

  it('a released key is free: the next claim owns it, and a late second release does not free it', () => {
    const claims = createPullClaims()
    const first = claims.claim('assertions', [key(1), key(2)])
    first.release([key(1)])
    expect(claims.size).toBe(0)
    const next = claims.claim('assertions', [key(2), key(1)])
    expect(hex(next.mine)).toEqual(['02', '01'])
    expect(next.elsewhere).toEqual([])
    first.release(undefined)
    expect(claims.size).toBe(2)
    expect(claims.claim('assertions', [key(1)]).mine).toEqual([])
  })

  it('an empty claim owns nothing and waits on nothing', () => {
    const claims = createPullClaims()
    const empty = claims.claim('assertions', [])
    expect(empty.mine).toEqual([])
    expect(empty.elsewhere).toEqual([])
    empty.release(undefined)
    expect(claims.size).toBe(0)
  })
})

describe('pull claims: a claim made while no other is open', () => {
  // Such a claim (a full sync's, every key of a store at once) enters its keys in the shared index
  // only when another claim arrives: these cases fail if it is not entered then, or entered wrong.
  it('is still found by the claims that come after it, store by store', async () => {
    const claims = createPullClaims()
    const first = claims.claim('assertions', [key(1), key(2), key(5)])
    expect(hex(first.mine)).toEqual(['01', '02', '05'])
    expect(claims.size).toBe(3)
    const other = claims.claim('revocations', [key(2)])
    expect(hex(other.mine)).toEqual(['02'])
    const later = claims.claim('assertions', [key(5), key(3), key(1)])
    expect(hex(later.mine)).toEqual(['03'])
    expect(later.elsewhere.map((e) => hex(e.keys))).toEqual([['05', '01']])
    expect(claims.size).toBe(5)
    first.release([key(5)])
    expect(hex(await later.elsewhere[0]!.missing)).toEqual(['01'])
    expect(claims.size).toBe(2)
    other.release([])
    later.release([])
    expect(claims.size).toBe(0)
  })

  it('frees its keys on release, whether or not another claim came meanwhile', () => {
    const claims = createPullClaims()
    const alone = claims.claim('assertions', [key(1), key(2)])
    alone.release(undefined)
    expect(claims.size).toBe(0)
    expect(hex(claims.claim('assertions', [key(2), key(1)]).mine)).toEqual(['02', '01'])
    // That claim (keys out of order) was entered at once; one more is not alone and finds it.
    expect(claims.claim('assertions', [key(1), key(3)]).mine.map((k) => k[0])).toEqual([3])
    expect(claims.size).toBe(3)
  })

  it('owns a key asked twice once, in order or not', () => {
    const claims = createPullClaims()
    expect(hex(claims.claim('assertions', [key(4), key(4), key(6)]).mine)).toEqual(['04', '06'])
    const fresh = createPullClaims()
    expect(hex(fresh.claim('assertions', [key(6), key(4), key(6)]).mine)).toEqual(['06', '04'])
    expect(fresh.size).toBe(2)
  })
})
