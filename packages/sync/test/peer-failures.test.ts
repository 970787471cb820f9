import type { PeerFailure, ProvsyncNode } from '@provsync/sync'
import { QUIET_SYNC as quiet, stopAll } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { generateSigner, startNode, tempDirs, waitFor } from './helpers.js'

const dirs = tempDirs()
const nodes: ProvsyncNode[] = []
const trust = [generateSigner().publicKey]

afterEach(() => stopAll(nodes, dirs))

describe('peers that only failed', () => {
  it('keeps an unreachable bootstrap peer with its last failure, and says so in an event', async () => {
    const gone = await startNode({ dataDir: await dirs.make(), trust, sync: quiet })
    const address = gone.multiaddrs()[0]!
    await gone.stop()
    const failures: PeerFailure[] = []
    const a = await startNode({
      dataDir: await dirs.make(),
      trust,
      sync: quiet,
      bootstrap: [address],
      bootstrapRetryMs: 200,
    })
    nodes.push(a)
    a.sync.addEventListener('peer:failure', ({ detail }) => failures.push(detail))
    await waitFor(() => failures.length > 0, 'a bootstrap redial to fail')
    expect(failures[0]!.peer.toString()).toBe(gone.peerId.toString())
    const status = a.sync.peers().find((p) => p.peer === gone.peerId.toString())
    expect(status?.lastFailure?.reason).toContain(address.toString())
    expect(status?.lastFailure?.atMs).toBeGreaterThan(0)
    expect(status?.lastSyncMs).toBeUndefined()
  })

  it('keeps the refusal of a peer of another network it dialled, not as an offence', async () => {
    const a = await startNode({ dataDir: await dirs.make(), trust, sync: quiet })
    const other = await startNode({
      dataDir: await dirs.make(),
      trust,
      networkId: 'another-net',
      sync: quiet,
    })
    nodes.push(a, other)
    await a.dial(other.multiaddrs()[0]!)
    await expect(a.sync.syncWith(other.peerId)).rejects.toThrow(/wrong-network/)
    const status = a.sync.peers().find((p) => p.peer === other.peerId.toString())
    expect(status?.lastFailure?.reason).toMatch(/wrong-network/)
    expect(a.sync.offences(other.peerId)['wrong-network']).toBe(0)
  })
})
