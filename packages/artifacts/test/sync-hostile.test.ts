import {
  type Artifact,
  type ArtifactOffence,
  type ArtifactSyncInit,
  type ArtifactSyncReport,
  type Decoded,
  signArtifact,
  signGrant,
  signScopeEpoch,
} from '@provsync/artifacts'
import { afterEach, describe, expect, it } from 'vitest'
import { at, NET, operator, publishers } from './helpers.js'
import { type ArtifactNode, cleanup, connect, currentOf, grantTo, startArtifactNode } from './net/nodes.js'

afterEach(cleanup)

const publisher = publishers[0]!
const impostor = publishers[1]!
const text = (s: string) => new TextEncoder().encode(s)

function publish(
  scope: string,
  name: string,
  version: bigint,
  epoch = 1n,
  by = publisher,
): Decoded<Artifact> {
  return signArtifact(
    {
      scope,
      family: 'cluster_snapshot',
      name,
      version,
      epoch,
      content: text(`${scope}:${name}:v${version}`),
    },
    by,
    NET,
    at(),
  )
}

/** A copy of `bytes` with the first occurrence of `find` replaced by `replace` (same length), if any. */
function patch(bytes: Uint8Array, find: string, replace: string): Uint8Array {
  const out = Buffer.from(bytes)
  const at = out.indexOf(Buffer.from(find))
  if (at >= 0) out.write(replace, at)
  return new Uint8Array(out)
}

type Lie = (scope: string, records: Uint8Array[]) => Uint8Array[]

/**
 * An honest storage node and a hostile one (it lies through `faults.outgoing`) both holding
 * `cluster`; a consumer granted `cluster/c1` syncs with the honest one, then the hostile one.
 */
async function scenario(
  lie: Lie,
  extraRecords: Uint8Array[] = [],
  consumerInit: Partial<ArtifactSyncInit> = {},
) {
  const honest = await startArtifactNode()
  const hostile = await startArtifactNode({ init: { faults: { outgoing: lie } } })
  const consumer = await startArtifactNode({ init: consumerInit })
  const records = [
    grantTo(publisher.publicKey, 'publish', ['cluster']),
    grantTo(honest.key, 'hold', ['cluster']),
    grantTo(hostile.key, 'hold', ['cluster']),
    grantTo(consumer.key, 'hold', ['cluster/c1']),
    publish('cluster/c1', 'main', 1n),
    publish('cluster/c1', 'main', 2n),
    publish('cluster/c2', 'other', 1n),
  ].map((d) => d.bytes)
  for (const node of [honest, hostile]) await node.artifacts.publish([...records, ...extraRecords])
  await connect(consumer, honest)
  await connect(consumer, hostile)
  return { honest, hostile, consumer }
}

/**
 * The consumer, holding nothing yet, syncs with the hostile node (so records do move and the lie
 * shows), then with the honest one: the offence is the hostile node's alone, and nothing of the
 * lie reached the view (the consumer ends equal to the honest node).
 */
async function expectBlamed(
  nodes: { honest: ArtifactNode; hostile: ArtifactNode; consumer: ArtifactNode },
  offence: ArtifactOffence,
  afterHostile?: () => void,
) {
  const { honest, hostile, consumer } = nodes
  await consumer.artifacts.syncWith(hostile.peerId)
  expect(consumer.artifacts.offences(hostile.peerId)[offence]).toBeGreaterThanOrEqual(1)
  expect(consumer.artifacts.counters.offences[offence]).toBeGreaterThanOrEqual(1)
  afterHostile?.()
  const fromHonest = await consumer.artifacts.syncWith(honest.peerId)
  expect(fromHonest.error).toBeUndefined()
  expect(consumer.artifacts.offences(honest.peerId)).toEqual({})
  expect(consumer.store.scopes()).toEqual(['cluster/c1'])
  expect(consumer.store.scopeRoots().get('cluster/c1')).toEqual(honest.store.scopeRoots().get('cluster/c1'))
  expect(consumer.store.operatorTree().root()).toEqual(honest.store.operatorTree().root())
}

describe('a hostile storage node is refused and blamed, each act by its name', () => {
  it('altered content: an artifact whose inline content was changed on the way', async () => {
    const nodes = await scenario((scope, records) =>
      scope === 'cluster/c1'
        ? records.map((r) => patch(r, 'cluster/c1:main:v2', 'cluster/c1:main:v9'))
        : records,
    )
    await expectBlamed(nodes, 'altered-content', () => {
      // The altered v2 was refused: v1 is current until the honest node supplies the real v2.
      expect(currentOf(nodes.consumer, 'cluster/c1', 'main')).toBe(1n)
      expect(nodes.consumer.store.counters.refused['content-mismatch']).toBe(1)
    })
    expect(currentOf(nodes.consumer, 'cluster/c1', 'main')).toBe(2n)
  })

  it('out of scope: records of another scope slipped into the shared one', async () => {
    const other = publish('cluster/c2', 'smuggled', 5n)
    const nodes = await scenario((scope, records) =>
      scope === 'cluster/c1' ? [...records, other.bytes] : records,
    )
    await expectBlamed(nodes, 'out-of-scope')
    expect(nodes.consumer.store.history('cluster/c2', 'cluster_snapshot', 'smuggled')).toEqual([])
  })

  it('stale epoch: an artifact below the scope epoch replayed after the operator raised it', async () => {
    const stale = publish('cluster/c1', 'main', 7n, 1n)
    const raise = signScopeEpoch({ scope: 'cluster/c1', minEpoch: 2n }, operator, NET, at())
    const fresh = publish('cluster/c1', 'main', 3n, 2n)
    const nodes = await scenario(
      (scope, records) => (scope === 'cluster/c1' ? [...records, stale.bytes] : records),
      [raise.bytes, fresh.bytes],
    )
    await expectBlamed(nodes, 'stale-epoch')
    expect(currentOf(nodes.consumer, 'cluster/c1', 'main')).toBe(3n)
    expect(nodes.consumer.store.counters.refused['stale-epoch']).toBe(1)
  })

  it('forged grant: an operator record signed by a key outside the trust bundle, or with its signature broken', async () => {
    const forged = signGrant(
      { subject: impostor.publicKey, right: 'publish', scopes: ['cluster'], epoch: 9n },
      impostor,
      NET,
      at(),
    )
    const genuine = grantTo(impostor.publicKey, 'hold', ['cluster/c9'])
    const broken = patch(genuine.bytes, 'cluster/c9', 'cluster/c8')
    const nodes = await scenario((scope, records) =>
      scope === '' ? [...records, forged.bytes, broken] : records,
    )
    await expectBlamed(nodes, 'forged-grant')
    expect(nodes.consumer.store.counters.refused['untrusted-operator']).toBe(1)
    expect(nodes.consumer.store.counters.refused['bad-signature']).toBe(1)
    expect(nodes.consumer.store.liveGrant(impostor.publicKey, 'publish')).toBeUndefined()
  })

  it('forged artifact: signed by a key with no publish grant', async () => {
    const forged = publish('cluster/c1', 'main', 99n, 1n, impostor)
    const nodes = await scenario((scope, records) =>
      scope === 'cluster/c1' ? [...records, forged.bytes] : records,
    )
    await expectBlamed(nodes, 'forged-artifact')
  })

  it('a lying peer past the offence threshold is blocked and its sessions refused', async () => {
    const other = publish('cluster/c2', 'smuggled', 5n)
    const forged = publish('cluster/c1', 'main', 99n, 1n, impostor)
    const lie: Lie = (scope, records) =>
      scope === 'cluster/c1' ? [...records, other.bytes, forged.bytes] : records
    const { hostile, honest, consumer } = await scenario(lie, [], { budgets: { offenceThreshold: 2 } })
    // One session, two lies (out-of-scope, forged-artifact): the threshold of two is reached and
    // the consumer cuts the connection, ending the session.
    await consumer.artifacts.syncWith(hostile.peerId).catch(() => {})
    expect(consumer.artifacts.isBlocked(hostile.peerId)).toBe(true)
    expect(consumer.artifacts.isBlocked(honest.peerId)).toBe(false)
    await expect(consumer.artifacts.syncWith(hostile.peerId)).rejects.toMatchObject({ code: 'blocked' })
  })
})

describe('a batch mixing valid records with lies', () => {
  it('blames the liar for each lying record by its reason, keeps every valid record, and never blames the honest node', async () => {
    const other = publish('cluster/c2', 'smuggled', 5n)
    const forged = publish('cluster/c1', 'forged', 99n, 1n, impostor)
    const stale = publish('cluster/c1', 'old', 7n, 1n)
    const raise = signScopeEpoch({ scope: 'cluster/c1', minEpoch: 2n }, operator, NET, at())
    const fresh = [publish('cluster/c1', 'main', 3n, 2n), publish('cluster/c1', 'side', 1n, 2n)]
    const lie: Lie = (scope, records) => {
      if (scope !== 'cluster/c1') return records
      // Every valid record, one of them also sent twice altered, a record of another scope, a
      // forged artifact and a replay below the epoch, all in one frame, lies first.
      const altered = records
        .map((r) => patch(r, 'cluster/c1:main:v3', 'cluster/c1:main:v8'))
        .filter((r, i) => !Buffer.from(r).equals(Buffer.from(records[i]!)))
      const again = altered.map((r) => patch(r, 'cluster/c1:main:v8', 'cluster/c1:main:v7'))
      return [...altered, other.bytes, ...records, forged.bytes, stale.bytes, ...again]
    }
    const nodes = await scenario(lie, [raise.bytes, ...fresh.map((d) => d.bytes)])
    const { consumer, hostile, honest } = nodes
    const blamed: Record<string, number> = {}
    consumer.artifacts.addEventListener('artifacts:offence', (evt) => {
      expect(evt.detail.peer).toBe(hostile.peerId.toString())
      blamed[evt.detail.reason] = (blamed[evt.detail.reason] ?? 0) + evt.detail.records
    })
    // Four lies in one batch cross the default threshold (3): the liar is blocked, the session cut.
    const report = await consumer.artifacts.syncWith(hostile.peerId).then(
      (r) => r,
      (err: { report: ArtifactSyncReport }) => err.report,
    )
    expect(consumer.artifacts.isBlocked(hostile.peerId)).toBe(true)
    // Each lying record blamed by its own reason, nothing else (the valid records are no offence).
    expect(blamed).toEqual({
      'altered-content': 2,
      'out-of-scope': 1,
      'forged-artifact': 1,
      'stale-epoch': 1,
    })
    expect(consumer.artifacts.offences(hostile.peerId)).toEqual({
      'altered-content': 1,
      'out-of-scope': 1,
      'forged-artifact': 1,
      'stale-epoch': 1,
    })
    expect(report.pulled).toMatchObject({
      received: 12,
      applied: 7,
      refused: 5,
      refusedByReason: { 'content-mismatch': 2, 'out-of-scope': 1, 'no-publish-grant': 1, 'stale-epoch': 1 },
    })
    // The valid records of that batch were kept: the consumer already has the honest view.
    expect(currentOf(consumer, 'cluster/c1', 'main')).toBe(3n)
    expect(currentOf(consumer, 'cluster/c1', 'side')).toBe(1n)
    expect(consumer.store.scopeRoots().get('cluster/c1')).toEqual(honest.store.scopeRoots().get('cluster/c1'))
    expect(consumer.store.history('cluster/c2', 'cluster_snapshot', 'smuggled')).toEqual([])
    const fromHonest = await consumer.artifacts.syncWith(honest.peerId)
    expect(fromHonest.pulled.received).toBe(0)
    expect(consumer.artifacts.offences(honest.peerId)).toEqual({})
  })
})
