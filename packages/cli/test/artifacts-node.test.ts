import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signArtifact, signGrant } from '@provsync/artifacts'
import { generateSigner } from '@provsync/crdt'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { afterEach, describe, expect, it } from 'vitest'
import { type NodeArtifacts, openNodeArtifacts } from '../src/artifacts-node.js'

// The node wiring (artifacts-node.ts) on two real nodes over TCP loopback: the replication
// service's peer roots reach `provsync_artifact_holders_root_differs` in the node's registry.
const NET = 'artifacts-node-test'
const operator = generateSigner()
const publisher = generateSigner()
let tick = 1_000_000
const at = () => ({ wallMs: ++tick, counter: 0 })
const opened: Array<{ node: ProvsyncNode; artifacts: NodeArtifacts; dir: string }> = []

afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.node.stop()
    await o.artifacts.close()
    rmSync(o.dir, { recursive: true, force: true })
  }
})

async function start() {
  const dir = mkdtempSync(join(tmpdir(), 'provsync-artnode-'))
  const trust = [operator.publicKey]
  const artifacts = await openNodeArtifacts({ dataDir: dir, networkId: NET, trust })
  const node = await createNode({
    dataDir: dir,
    networkId: NET,
    trust,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    sync: { antiEntropy: false, syncOnConnect: false, announce: false },
    store: { verifyThreads: 1 },
    services: (parts) => artifacts.services(parts),
  })
  artifacts.attach(node)
  opened.push({ node, artifacts, dir })
  return { node, artifacts }
}

const version = (v: bigint) =>
  signArtifact(
    {
      scope: 'cluster/c1',
      family: 'cluster_snapshot',
      name: 'main',
      version: v,
      epoch: 1n,
      content: new Uint8Array([1]),
    },
    publisher,
    NET,
    at(),
  ).bytes

async function differs(a: NodeArtifacts): Promise<string | undefined> {
  const text = await a.metrics!.registry.metrics()
  return /provsync_artifact_holders_root_differs\{scope="cluster\/c1"\} (\d+)/.exec(text)?.[1]
}

describe('node artifacts wiring', () => {
  it('feeds the roots peers list into holders_root_differs: 1 while they differ, 0 once converged', async () => {
    const a = await start()
    const b = await start()
    const grant = (key: Uint8Array, right: 'hold' | 'publish') =>
      signGrant({ subject: key, right, scopes: ['cluster'], epoch: 1n }, operator, NET, at()).bytes
    const grants = [
      grant(publisher.publicKey, 'publish'),
      grant(a.artifacts.store.nodeKey, 'hold'),
      grant(b.artifacts.store.nodeKey, 'hold'),
    ]
    await a.artifacts.store.apply([...grants, version(1n)], { from: a.artifacts.store.nodeKey })
    await b.artifacts.store.apply([...grants, version(1n)], { from: b.artifacts.store.nodeKey })
    await a.artifacts.store.apply([version(2n)], { from: a.artifacts.store.nodeKey })
    await b.node.dial(a.node.multiaddrs()[0]!)
    const service = b.artifacts.service!
    await service.syncWith(a.node.peerId)
    expect(await differs(a.artifacts)).toBe('1')
    await service.syncWith(a.node.peerId)
    expect(await differs(a.artifacts)).toBe('0')
  })
})
