import { createDecisionCache, DECISION_FAMILY } from '@provsync/artifacts'
import { describe, expect, it } from 'vitest'
import { artifact, grant, publishers, seeded } from './helpers.js'
import { mutableRevocations, openStore } from './store-helpers.js'

const node = seeded(90)
const me = publishers[0]!
const scope = 'cache/c1'

async function setup(revocations = mutableRevocations()) {
  let now = 1_000
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  const store = await openStore(node.publicKey, { revocations, wallClock: clock.now })
  await store.apply([grant(node, 'hold', ['cache']).bytes, grant(me, 'publish', ['cache']).bytes], {
    from: node.publicKey,
  })
  const cache = createDecisionCache({ store, signer: me, scope, wallClock: clock.now })
  return { store, cache, clock, revocations }
}

const bytes = (text: string) => new TextEncoder().encode(text)

describe('decision cache', () => {
  it('hits, misses, expires by ttl and prunes', async () => {
    const { store, cache, clock } = await setup()
    expect(cache.get('k').status).toBe('miss')
    expect((await cache.set({ key: 'k', value: bytes('allow') }, { ttl: 100 })).status).toBe('applied')
    expect(cache.get('k')).toMatchObject({ status: 'hit', value: bytes('allow'), expiresAt: 1_100 })
    expect(cache.get('k', { bypass: true }).status).toBe('bypassed')
    clock.advance(100)
    expect(cache.get('k').status).toBe('expired')
    expect(cache.pruneExpired()).toBe(1)
    expect(cache.get('k').status).toBe('miss')
    expect(store.history(scope, DECISION_FAMILY, 'k')).toEqual([])
    expect(cache.counters).toMatchObject({ hits: 1, misses: 2, expired: 1, bypassed: 1 })
  })

  it('runs one computation per key at a time; concurrent callers share it', async () => {
    const { cache } = await setup()
    let calls = 0
    let release: (v: Uint8Array) => void = () => {}
    const factory = () => {
      calls++
      return new Promise<Uint8Array>((resolve) => (release = resolve))
    }
    const first = cache.getOrCompute('k', factory)
    const second = cache.getOrCompute('k', factory)
    await Promise.resolve()
    release(bytes('v'))
    const results = await Promise.all([first, second])
    expect(calls).toBe(1)
    expect(results.map((r) => r.cached)).toEqual([false, false])
    expect(await cache.getOrCompute('k', factory)).toEqual({ value: bytes('v'), cached: true })
    expect(calls).toBe(1)
    expect(cache.counters.computations).toBe(1)
  })

  it('a failed computation caches nothing and the next caller computes again', async () => {
    const { cache } = await setup()
    await expect(cache.getOrCompute('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect((await cache.getOrCompute('k', () => bytes('ok'))).value).toEqual(bytes('ok'))
  })

  it('invalidate publishes a tombstone: a miss from then on', async () => {
    const { cache } = await setup()
    await cache.set({ key: 'k', value: bytes('allow') })
    const outcome = await cache.invalidate('k', 'policy changed')
    expect(outcome).toMatchObject({ status: 'applied', detail: 'policy changed' })
    expect(cache.get('k').status).toBe('miss')
    expect(cache.counters.invalidated).toBe(1)
  })

  it('a decision signed by a revoked signer is a miss', async () => {
    const { cache, revocations } = await setup()
    await cache.set({ key: 'k', value: bytes('allow') })
    revocations.revoke(me.publicKey)
    expect(cache.get('k').status).toBe('miss')
  })

  it('refuses a decision that arrives already expired', async () => {
    const { store } = await setup()
    const late = artifact(me, { version: 1n, scope, family: DECISION_FAMILY, name: 'k', expiresAt: 500 })
    const [outcome] = await store.apply([late.bytes], { from: seeded(91).publicKey })
    expect(outcome).toMatchObject({ status: 'refused', reason: 'expired' })
  })
})
