import { AsyncLocalStorage } from 'node:async_hooks'
import type { PeerId } from '@libp2p/interface'
import type { ProvsyncServiceInit } from '@provsync/sync'
import { TestNodes } from '@provsync/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { generateSigner, load, NETWORK, signedAssertions, tempDirs, waitFor } from './helpers.js'

const trust = [generateSigner().publicKey]
const nodes = new TestNodes({ networkId: NETWORK, trust }, tempDirs())
afterEach(() => nodes.cleanup())

/** A node whose conversations run inside an AsyncLocalStorage naming the remote peer. */
async function scopedNode() {
  const scope = new AsyncLocalStorage<string>()
  const conversations: string[] = []
  const conversation: NonNullable<ProvsyncServiceInit['conversation']> = (peer: PeerId, act) => {
    conversations.push(peer.toString())
    return scope.run(peer.toString(), act)
  }
  const node = await nodes.start({
    sync: { conversation, syncOnConnect: false, antiEntropy: false, announce: false },
  })
  // What the remote peer's pulls read from this node's state, seen from inside the scope.
  const readsFor: (string | undefined)[] = []
  const getRecords = node.state.getRecords.bind(node.state)
  node.state.getRecords = (store, keys) => {
    readsFor.push(scope.getStore())
    return getRecords(store, keys)
  }
  return { node, conversations, readsFor }
}

describe('the conversation option', () => {
  it('runs the sessions a node starts and the streams it answers inside it, naming the peer', async () => {
    const a = await scopedNode()
    const b = await scopedNode()
    const signer = generateSigner()
    await load(a.node.state, signedAssertions(signer, 3), signer.publicKey)
    await a.node.dial(b.node.multiaddrs()[0]!)
    const report = await a.node.libp2p.services.provsync.syncWith(b.node.peerId)
    expect(report.peer.equals(b.node.peerId)).toBe(true)
    await waitFor(() => b.node.state.tree('assertions').count() === 3, 'b pulling the records')
    expect(a.conversations).toContain(b.node.peerId.toString())
    expect(b.conversations).toContain(a.node.peerId.toString())
    // b pulled from a: a answered those fetches from inside the scope naming b.
    expect(a.readsFor.length).toBeGreaterThan(0)
    expect(new Set(a.readsFor)).toEqual(new Set([b.node.peerId.toString()]))
  })
})
