import {
  type Artifact,
  createArtifactMetrics,
  type Decoded,
  signArtifact,
  signWithdrawal,
} from '@provsync/artifacts'
import type { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { at, NET, operator, publishers } from './helpers.js'
import { cleanup, connect, grantTo, startArtifactNode, waitFor } from './net/nodes.js'

// The roots peers list in their scope lists, as the service records them and the
// `provsync_artifact_holders_root_differs` gauge counts them, on real nodes over TCP loopback.
afterEach(cleanup)

const publisher = publishers[0]!
const GAUGE = 'provsync_artifact_holders_root_differs'

function publish(scope: string, name: string, version: bigint): Decoded<Artifact> {
  const content = new TextEncoder().encode(`${scope}:${name}:v${version}`)
  return signArtifact(
    { scope, family: 'cluster_snapshot', name, version, epoch: 1n, content },
    publisher,
    NET,
    at(),
  )
}

/** The gauge's value per scope label. */
async function differing(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const line of (await registry.metrics()).split('\n')) {
    const m = new RegExp(`^${GAUGE}\\{scope="([^"]*)"\\} (\\S+)$`).exec(line)
    if (m !== null) out.set(m[1]!, Number(m[2]))
  }
  return out
}

/**
 * `a` holds `cluster` (c1, c2) and feeds its metrics from the service's event, as the node does;
 * `b` holds `cluster/c1` and `fleet` (a scope `a` is not granted); `c` holds only `cluster/c2`.
 */
async function threeNodes() {
  const a = await startArtifactNode()
  const b = await startArtifactNode()
  const c = await startArtifactNode()
  const metrics = createArtifactMetrics({ store: a.store })
  const events: Array<{ peer: string; scopes: string[] }> = []
  a.artifacts.addEventListener('artifacts:peer-roots', (evt) => {
    events.push({ peer: evt.detail.peer, scopes: [...evt.detail.roots.keys()] })
    metrics.notePeerRoots(evt.detail.peer, evt.detail.roots)
  })
  const grants = [
    grantTo(publisher.publicKey, 'publish', ['cluster', 'fleet']),
    grantTo(a.key, 'hold', ['cluster']),
    grantTo(b.key, 'hold', ['cluster/c1', 'fleet']),
    grantTo(c.key, 'hold', ['cluster/c2']),
  ].map((d) => d.bytes)
  await a.artifacts.publish([
    ...grants,
    publish('cluster/c1', 'main', 1n).bytes,
    publish('cluster/c2', 'main', 1n).bytes,
  ])
  await b.artifacts.publish([...grants, publish('fleet/f1', 'main', 1n).bytes])
  await connect(b, a)
  await connect(c, a)
  // First sessions fill b and c (nothing of theirs was stored at `a` when they listed).
  for (const n of [b, c]) expect((await n.artifacts.syncWith(a.peerId)).error).toBeUndefined()
  return { a, b, c, metrics, events }
}

describe('roots of holders (TCP loopback)', () => {
  it('counts a holder whose root differs, 0 once converged, never a peer that does not hold the scope', async () => {
    const { a, b, c, metrics, events } = await threeNodes()
    // Second sessions list equal roots.
    for (const n of [b, c]) await n.artifacts.syncWith(a.peerId)
    expect(await differing(metrics.registry)).toEqual(
      new Map([
        ['cluster/c1', 0],
        ['cluster/c2', 0],
      ]),
    )
    expect([...a.artifacts.peerRoots('cluster/c1').keys()]).toEqual([b.peerId.toString()])
    expect([...a.artifacts.peerRoots('cluster/c2').keys()]).toEqual([c.peerId.toString()])

    // `a` moves ahead on c1; b, as responder this time, lists its old root.
    await a.store.apply([publish('cluster/c1', 'main', 2n).bytes], { from: a.store.nodeKey })
    await a.artifacts.syncWith(b.peerId)
    expect(await differing(metrics.registry)).toEqual(
      new Map([
        ['cluster/c1', 1],
        ['cluster/c2', 0],
      ]),
    )
    expect(a.artifacts.peerRoots('cluster/c1').get(b.peerId.toString())).not.toEqual(
      a.store.scopeRoots().get('cluster/c1'),
    )
    // c, which does not hold c1, is not counted for it even while c1 differs.
    expect(a.artifacts.peerRoots('cluster/c1').has(c.peerId.toString())).toBe(false)

    // That session converged them; the next one (b initiating) lists equal roots.
    expect(b.store.scopeRoots().get('cluster/c1')).toEqual(a.store.scopeRoots().get('cluster/c1'))
    await b.artifacts.syncWith(a.peerId)
    expect(await differing(metrics.registry)).toEqual(
      new Map([
        ['cluster/c1', 0],
        ['cluster/c2', 0],
      ]),
    )

    // b's other scope never reaches `a`'s bookkeeping nor a label.
    for (const e of events) for (const s of e.scopes) expect(a.store.scopes()).toContain(s)
    expect(a.artifacts.peerRoots('fleet/f1').size).toBe(0)
    expect(await metrics.registry.metrics()).not.toContain('fleet')
  })

  it('forgets a peer on disconnect, and what a peer listed before its last list', async () => {
    const { a, b, c, metrics } = await threeNodes()
    await b.artifacts.syncWith(a.peerId)
    await a.store.apply([publish('cluster/c2', 'main', 2n).bytes], { from: a.store.nodeKey })
    await c.artifacts.publish([publish('cluster/c2', 'other', 1n).bytes])
    await c.artifacts.syncWith(a.peerId) // c listed its root before this session: differs
    expect((await differing(metrics.registry)).get('cluster/c2')).toBe(1)
    await a.node.libp2p.hangUp(c.peerId)
    await waitFor(() => a.artifacts.peerRoots('cluster/c2').size === 0, 'a to forget c')
    expect((await differing(metrics.registry)).get('cluster/c2')).toBe(0)
    expect(a.artifacts.peerRoots('cluster/c1').has(b.peerId.toString())).toBe(true)
    // A list replaces the previous one: a peer's scope left out of it is no longer counted.
    metrics.notePeerRoot('cluster/c1', 'gone', new Uint8Array(32))
    expect((await differing(metrics.registry)).get('cluster/c1')).toBe(1)
    metrics.notePeerRoots('gone', new Map())
    expect((await differing(metrics.registry)).get('cluster/c1')).toBe(0)
  })

  it('forgets a scope the peer stops listing, and every root of a scope this node drops', async () => {
    const { a, b, c, metrics } = await threeNodes()
    for (const n of [b, c]) await n.artifacts.syncWith(a.peerId)
    expect(a.artifacts.peerRoots('cluster/c2').has(c.peerId.toString())).toBe(true)
    const withdraw = (subject: Uint8Array) =>
      signWithdrawal({ subject, right: 'hold', epoch: 1n, reason: 'decommissioned' }, operator, NET, at())
        .bytes
    // c's hold grant withdrawn: it drops c2 and its next list leaves it out.
    await a.artifacts.publish([withdraw(c.key)])
    await c.artifacts.syncWith(a.peerId)
    expect(c.store.scopes()).toEqual([])
    await c.artifacts.syncWith(a.peerId)
    expect(a.artifacts.peerRoots('cluster/c2').size).toBe(0)
    expect(a.artifacts.peerRoots('cluster/c1').has(b.peerId.toString())).toBe(true)
    // a's own grant withdrawn: it stores no scope, reports no root and no label.
    await a.artifacts.publish([withdraw(a.key)])
    expect(a.store.scopes()).toEqual([])
    expect(a.artifacts.peerRoots('cluster/c1').size).toBe(0)
    expect((await differing(metrics.registry)).size).toBe(0)
  })
})
