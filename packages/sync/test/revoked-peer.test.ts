import type { ProvsyncNode } from '@provsync/sync'
import { QUIET_SYNC as quiet, stopAll } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { coordinate, generateSigner, startNode, tempDirs, waitFor } from './helpers.js'

const dirs = tempDirs()
const nodes: ProvsyncNode[] = []
const operator = generateSigner()
const trust = [operator.publicKey]

afterEach(() => stopAll(nodes, dirs))

const connected = (a: ProvsyncNode, b: ProvsyncNode): boolean =>
  a.libp2p.getConnections(b.peerId).some((c) => c.status === 'open')

describe('a revoked peer over TCP', () => {
  it('is disconnected and refused until reinstated', async () => {
    const a = await startNode({ dataDir: await dirs.make(), trust, sync: quiet })
    const b = await startNode({ dataDir: await dirs.make(), trust, sync: quiet })
    nodes.push(a, b)
    await b.dial(a.multiaddrs()[0]!)
    await b.sync.syncWith(a.peerId)
    const request = { subject: b.publicKey, subjectKind: 'peer' as const, reason: 'compromised' }

    await a.state.revocations.revoke(request, operator)
    await waitFor(() => !connected(a, b) && !connected(b, a), 'a to close its connections to b')
    expect(a.sync.isRevoked(b.peerId)).toBe(true)
    // b dials again: a's gater refuses it, and no session runs either way.
    await b.dial(a.multiaddrs()[0]!).catch(() => {})
    await expect(b.sync.syncWith(a.peerId)).rejects.toThrow()
    await expect(a.sync.syncWith(b.peerId)).rejects.toThrow(/revoked/)
    expect(connected(a, b)).toBe(false)

    await a.state.revocations.reinstate(request, operator)
    expect(a.sync.isRevoked(b.peerId)).toBe(false)
    a.state.advanceVerified(coordinate(1), 1n)
    await b.dial(a.multiaddrs()[0]!)
    await b.sync.syncWith(a.peerId)
    expect(b.state.view.get(coordinate(1))).toBeDefined()
  })
})
