import type { Message } from '@libp2p/gossipsub'
import {
  type ArtifactStore,
  encodeRecord,
  memberAdmission,
  memberGossipGate,
  signArtifact,
} from '@provsync/artifacts'
import { afterEach, describe, expect, it } from 'vitest'
import { at, NET, publishers } from './helpers.js'
import { type ArtifactNode, cleanup, connect, grantTo, startArtifactNode, waitFor } from './net/nodes.js'

afterEach(cleanup)

// Gossipsub over real libp2p (TCP on 127.0.0.1): in a closed network a node's head announcements
// reach members only (memberGossipGate), and no announcement names a scope, its root or an
// artifact: artifacts are never on gossipsub, a change reaches holders through sessions that list
// only granted scopes. A non-member learns nothing: no announcement, no record, no session.
const publisher = publishers[0]!
const SCOPE = 'cluster/c1'

function closed(store: ArtifactStore) {
  const credential = () => {
    const grant = store.liveGrant(store.nodeKey, 'member')
    return grant === undefined ? undefined : encodeRecord(grant, NET)
  }
  return memberAdmission({ store, credential })
}

async function member(): Promise<ArtifactNode> {
  let admission: ReturnType<typeof closed> | undefined
  const of = (store: ArtifactStore) => (admission ??= closed(store))
  return startArtifactNode({
    init: (store) => ({ admission: of(store) }),
    sync: (store) => ({ admission: of(store) }),
    pubsub: (store) => memberGossipGate({ store }),
  })
}

/** Every gossipsub message `n` delivers to itself, on any topic. */
function capture(n: ArtifactNode): Message[] {
  const seen: Message[] = []
  n.node.libp2p.services.pubsub.addEventListener('message', (evt) => seen.push(evt.detail))
  return seen
}

const contains = (data: Uint8Array, needle: Uint8Array) => Buffer.from(data).indexOf(Buffer.from(needle)) >= 0

describe('gossipsub heads in a closed network', () => {
  it('reach members only, never name a scope, and open to a peer once its member grant is known', async () => {
    const [a, b] = [await member(), await member()]
    const c = await startArtifactNode() // open, no grant: an outsider that dials in
    const grants = [
      grantTo(a.key, 'member', []),
      grantTo(b.key, 'member', []),
      grantTo(a.key, 'hold', [SCOPE]),
      grantTo(publisher.publicKey, 'publish', ['cluster']),
    ].map((d) => d.bytes)
    for (const n of [a, b]) await n.store.apply(grants, { from: n.key })
    const artifact = signArtifact(
      {
        scope: SCOPE,
        family: 'cluster_snapshot',
        name: 'secret-name',
        version: 1n,
        epoch: 1n,
        content: new Uint8Array(8),
      },
      publisher,
      NET,
      at(),
    )
    await a.artifacts.publish([artifact.bytes])
    const root = a.store.scopeRoots().get(SCOPE)!
    const atB = capture(b)
    const atC = capture(c)
    await connect(a, b)
    await connect(c, a)
    const fromA = (seen: Message[]) => seen.filter((m) => m.type === 'signed' && m.from.equals(a.peerId))
    const announceUntil = async (check: () => boolean, what: string) => {
      await waitFor(
        () => {
          void a.node.sync.announce()
          return check()
        },
        what,
        20_000,
      )
    }
    await announceUntil(() => fromA(atB).length > 0, 'an announcement of A at member B')
    // A few more announcements and heartbeats: the outsider still hears nothing.
    for (let i = 0; i < 5; i++) {
      await a.node.sync.announce()
      await new Promise((r) => setTimeout(r, 300))
    }
    expect(atC).toEqual([])
    for (const m of atB) {
      for (const needle of [new TextEncoder().encode(SCOPE), new TextEncoder().encode('secret-name'), root])
        expect(contains(m.data, needle)).toBe(false)
    }
    // Nor does C learn anything through a session: refused by sync and by artifacts.
    await expect(c.node.sync.syncWith(a.peerId)).rejects.toMatchObject({ code: 'not-admitted' })
    await expect(c.artifacts.syncWith(a.peerId)).rejects.toMatchObject({ code: 'not-admitted' })
    expect(c.store.operatorTree().count()).toBe(0)
    expect(c.store.scopes()).toEqual([])
    // The gate, not the wiring, kept C out: once A knows C's member grant, C hears A.
    await a.store.apply([grantTo(c.key, 'member', []).bytes], { from: a.key })
    await announceUntil(() => fromA(atC).length > 0, 'an announcement of A at C once a member')
  })
})
