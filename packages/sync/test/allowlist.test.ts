import type { ProvsyncNode } from '@provsync/sync'
import { QUIET_SYNC as quiet, stopAll } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { coordinate, generateSigner, startNode, tempDirs } from './helpers.js'

const dirs = tempDirs()
const nodes: ProvsyncNode[] = []
const operator = generateSigner()
const trust = [operator.publicKey]

afterEach(() => stopAll(nodes, dirs))

describe('per-store allowlist over TCP', () => {
  it('does not offer a store a peer may not pull, and never counts that against it', async () => {
    // Nobody may pull a's supersessions; every other store is open.
    const a = await startNode({
      dataDir: await dirs.make(),
      trust,
      sync: { ...quiet, allowlist: { supersessions: [] } },
    })
    const b = await startNode({ dataDir: await dirs.make(), trust, sync: quiet })
    nodes.push(a, b)
    await a.state.supersessions.supersede({
      target: new Uint8Array(32).fill(7),
      kind: 'invalidate',
      reason: 'x',
    })
    await b.dial(a.multiaddrs()[0]!)
    // More sessions than the offence threshold (3): each one asks for every store.
    for (let i = 0; i < 5; i++) {
      a.state.advanceVerified(coordinate(i), 1n)
      const report = await b.sync.syncWith(a.peerId)
      expect(report.error).toBeUndefined()
      expect(b.state.tree('assertions').count()).toBe(i + 1)
    }
    expect(b.state.tree('supersessions').count()).toBe(0)
    expect(a.sync.offences(b.peerId).unauthorized).toBe(0)
    expect(a.sync.isBlocked(b.peerId)).toBe(false)
    // A revocation still reaches b.
    await a.state.revocations.revoke(
      { subject: generateSigner().publicKey, subjectKind: 'peer', reason: 'test' },
      operator,
    )
    await b.sync.syncWith(a.peerId)
    expect(b.state.tree('revocations').count()).toBe(1)
  })
})
