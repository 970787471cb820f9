import { followTrustInSync, signArtifact, signTrustBundle, type TrustBundle } from '@provsync/artifacts'
import { RefusedError, trustBundleHash } from '@provsync/sync'
import { afterEach, describe, expect, it } from 'vitest'
import { at, NET, operator, publishers, seeded } from './helpers.js'
import { type ArtifactNode, cleanup, connect, grantTo, startArtifactNode, waitFor } from './net/nodes.js'

afterEach(cleanup)

// A trust rotation reaching sync over real libp2p (TCP on 127.0.0.1, LMDB): sync's hello carries
// the hash of the bundle in force, so nodes on the new bundle sync their three stores together,
// a node still on the old one is refused as wrong-network by them (no offence either way: it is
// not lying, it is behind), and the artifact protocol, whose hello has no trust hash, still
// reaches it, so a node that holds the trust scope catches up and syncs again.
const publisher = publishers[0]!
const op2 = seeded(70)
const v1: TrustBundle = { version: 1n, threshold: 1, keys: [operator.publicKey] }

function bundleV2() {
  const keys = [operator.publicKey, op2.publicKey].sort(Buffer.compare)
  const content = signTrustBundle(2n, { threshold: 1, keys }, [operator, op2], NET)
  const artifact = { scope: 'trust', family: 'trust_bundle', name: 'root', version: 2n, epoch: 1n, content }
  return { keys, bytes: signArtifact(artifact, publisher, NET, at()).bytes }
}

async function rotatingNode(): Promise<ArtifactNode> {
  const n = await startArtifactNode({ init: { trust: { bundle: v1 } } })
  followTrustInSync(n.artifacts, n.node.sync)
  return n
}

const noOffences = (n: ArtifactNode, peer: ArtifactNode) =>
  Object.values(n.node.sync.offences(peer.peerId)).reduce((a, b) => a + b, 0)

describe('a trust rotation reaches sync', () => {
  it('rotated nodes sync again, a node on the old bundle is refused without offence, and catches up through artifacts', async () => {
    const [a, b, c] = [await rotatingNode(), await rotatingNode(), await rotatingNode()]
    // A and B hold the trust scope; C does not, so it cannot follow and stays on v1.
    const grants = [
      grantTo(publisher.publicKey, 'publish', ['trust']),
      grantTo(a.key, 'hold', ['trust']),
      grantTo(b.key, 'hold', ['trust']),
    ].map((d) => d.bytes)
    for (const n of [a, b, c]) await n.store.apply(grants, { from: n.key })
    await connect(a, b)
    await connect(a, c)
    expect((await a.node.sync.syncWith(c.peerId)).error).toBeUndefined()
    const oldHash = trustBundleHash([operator.publicKey])
    expect(a.node.sync.trustHash()).toEqual(oldHash)

    const v2 = bundleV2()
    await a.artifacts.publish([v2.bytes])
    expect(a.artifacts.trustBundle()?.version).toBe(2n)
    const newHash = trustBundleHash(v2.keys)
    expect(a.node.sync.trustHash()).toEqual(newHash)

    // B has not followed yet: each side refuses the other's hello, and nobody is blamed.
    await expect(a.node.sync.syncWith(b.peerId)).rejects.toMatchObject({ code: 'wrong-network' })
    await expect(b.node.sync.syncWith(a.peerId)).rejects.toBeInstanceOf(RefusedError)
    expect(noOffences(a, b) + noOffences(b, a)).toBe(0)
    expect(a.node.sync.isBlocked(b.peerId) || b.node.sync.isBlocked(a.peerId)).toBe(false)

    // A's announcements (new hash) reach B (old hash) and are dropped, not blamed.
    const heardAtB: string[] = []
    b.node.sync.addEventListener('heads:received', (e) => heardAtB.push(e.detail.peer.toString()))
    for (let i = 0; i < 5; i++) {
      await a.node.sync.announce()
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(heardAtB).toEqual([])
    expect(b.node.sync.offences(a.peerId)['invalid-announcement']).toBe(0)

    // The artifact protocol still reaches B: it follows the chain, and its sync with it.
    await b.artifacts.syncWith(a.peerId)
    expect(b.artifacts.trustBundle()?.version).toBe(2n)
    expect(b.node.sync.trustHash()).toEqual(newHash)
    expect((await a.node.sync.syncWith(b.peerId)).error).toBeUndefined()
    expect((await b.node.sync.syncWith(a.peerId)).error).toBeUndefined()
    // Now on one bundle, B hears A's announcements.
    await waitFor(
      () => {
        void a.node.sync.announce()
        return heardAtB.includes(a.peerId.toString())
      },
      'an announcement of A heard at B',
      20_000,
    )

    // C is not granted the trust scope: it stays on v1, refused by sync, still reached by artifacts.
    const fromC = await c.artifacts.syncWith(a.peerId)
    expect(fromC.error).toBeUndefined()
    expect(c.artifacts.trustBundle()?.version).toBe(1n)
    expect(c.node.sync.trustHash()).toEqual(oldHash)
    await expect(c.node.sync.syncWith(a.peerId)).rejects.toMatchObject({ code: 'wrong-network' })
    await expect(a.node.sync.syncWith(c.peerId)).rejects.toMatchObject({ code: 'wrong-network' })
    expect(noOffences(a, c) + noOffences(c, a)).toBe(0)
  })

  it('a hello of another network id is still an offence (the rotation exemption is for the trust bundle only)', async () => {
    const a = await rotatingNode()
    const stranger = await startArtifactNode({ network: 'another-network' })
    await connect(stranger, a)
    await expect(stranger.node.sync.syncWith(a.peerId)).rejects.toMatchObject({ code: 'wrong-network' })
    expect(a.node.sync.offences(stranger.peerId)['wrong-network']).toBe(1)
  })
})
