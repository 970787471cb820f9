import { type ProvsyncNode, RefusedError } from '@provsync/sync'
import { QUIET_SYNC as quiet, stopAll } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { generateSigner, startNode, tempDirs } from './helpers.js'

const dirs = tempDirs()
const nodes: ProvsyncNode[] = []
const trust = [generateSigner().publicKey]

afterEach(() => stopAll(nodes, dirs))

describe('rate limits over TCP', () => {
  it('never blocks an honest peer that syncs back to back: it backs off when told', async () => {
    // Each exchange costs a reconciliation request per store (3): a burst of 6 is two exchanges.
    const budgets = { requestsPerSecond: 10, requestBurst: 6, rateLimitBackoffMs: 200 }
    const a = await startNode({ dataDir: await dirs.make(), trust, sync: { ...quiet, budgets } })
    const b = await startNode({ dataDir: await dirs.make(), trust, sync: { ...quiet, budgets } })
    nodes.push(a, b)
    await b.dial(a.multiaddrs()[0]!)
    let refused = 0
    let synced = 0
    for (let i = 0; i < 12; i++) {
      await b.sync.syncWith(a.peerId).then(
        () => synced++,
        (err: unknown) => {
          expect(err).toBeInstanceOf(RefusedError)
          expect((err as RefusedError).code).toBe('rate-limited')
          refused++
        },
      )
    }
    expect(refused).toBeGreaterThan(0)
    expect(synced).toBeGreaterThan(2)
    expect(a.sync.offences(b.peerId)['rate-limited']).toBe(0)
    expect(a.sync.isBlocked(b.peerId)).toBe(false)
    expect(b.sync.offences(a.peerId)['unexpected-message']).toBe(0)
  })
})
