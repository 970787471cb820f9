import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ApplyOutcome, NodeState } from '@provsync/crdt'
import { type ProvsyncNode, PUSH_PROTOCOL, trustBundleHash } from '@provsync/sync'
import {
  loopbackTransport,
  openTestState,
  QUIET_SYNC,
  signedAssertions,
  signerN,
  TEST_NETWORK,
  TempDirs,
} from '@provsync/testing'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { framedStream } from '../src/framing.js'
import { peerPublicKey } from '../src/identity.js'
import { groupByPeer, PushBatcher } from '../src/push-batch.js'
import { encodePush } from '../src/push-codec.js'
import type { StoreName } from '../src/state.js'
import { decodeMessage, encodeMessage } from '../src/wire/codec.js'
import {
  coordinate,
  generateSigner,
  NETWORK,
  signedAssertions as signedFor,
  startNode,
  tempDirs,
  waitFor,
} from './helpers.js'

// Pushed frames coalesced into one apply per pushing peer: each record keeps the peer that pushed
// it as its source, each frame gets its own outcomes back, and a bad record blames only its pusher.

const temp = new TempDirs('provsync-push-batch-')
const dirs = tempDirs()
const started: Array<{ stop(): Promise<void> | void }> = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
  await dirs.cleanup()
  await temp.cleanup()
})

interface Call {
  store: StoreName
  count: number
  from: string
}

function recordingBatcher(state: NodeState, calls: Call[], maxRecords = 1000): PushBatcher {
  return new PushBatcher({
    apply: (store, records, from) => {
      calls.push({ store, count: records.length, from: Buffer.from(from).toString('hex') })
      return state.apply(store, records, { from })
    },
    maxRecords,
    windowMs: 5,
  })
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('PushBatcher', () => {
  it('applies a coalesced batch from two peers once per peer, each record tagged with its own pusher', async () => {
    const state = await openTestState(temp, { networkId: TEST_NETWORK })
    const calls: Call[] = []
    const batcher = recordingBatcher(state, calls)
    const [a, b, asserter] = [signerN(1), signerN(2), signerN(3)]
    const forged = signedAssertions(asserter, 1, { offset: 20 })[0]!
    forged[forged.length - 1]! ^= 0xff
    const frames = [
      batcher.add('assertions', 'a', a.publicKey, signedAssertions(asserter, 3, { offset: 0 })),
      batcher.add('assertions', 'b', b.publicKey, [...signedAssertions(asserter, 2, { offset: 10 }), forged]),
      batcher.add('assertions', 'a', a.publicKey, signedAssertions(asserter, 2, { offset: 3 })),
    ]
    const [first, fromB, second] = await Promise.all(frames)
    expect(calls).toEqual([
      { store: 'assertions', count: 5, from: hex(a.publicKey) },
      { store: 'assertions', count: 3, from: hex(b.publicKey) },
    ])
    const statuses = (o: ApplyOutcome[] | undefined) => o?.map((x) => x.status)
    expect(statuses(first)).toEqual(['applied', 'applied', 'applied'])
    expect(statuses(second)).toEqual(['applied', 'applied'])
    expect(statuses(fromB)).toEqual(['applied', 'applied', 'refused'])
    for (const i of [0, 1, 2, 3, 4])
      expect(state.view.get(coordinate(i))?.provenance).toMatchObject({ via: a.publicKey })
    for (const i of [10, 11])
      expect(state.view.get(coordinate(i))?.provenance).toMatchObject({ via: b.publicKey })
    expect(state.view.get(coordinate(20))).toBeUndefined()
  })

  it('flushes at maxRecords without waiting for the window, and per store', async () => {
    const state = await openTestState(temp, { networkId: TEST_NETWORK })
    const calls: Call[] = []
    const batcher = new PushBatcher({
      apply: (store, records, from) => {
        calls.push({ store, count: records.length, from: hex(from) })
        return state.apply(store, records, { from })
      },
      maxRecords: 4,
      windowMs: 60_000,
    })
    const a = signerN(1)
    const outcomes = await batcher.add('assertions', 'a', a.publicKey, signedAssertions(signerN(3), 4))
    expect(outcomes).toHaveLength(4)
    expect(calls).toEqual([{ store: 'assertions', count: 4, from: hex(a.publicKey) }])
  })

  it('rejects every frame of a peer group whose apply fails, and only those', async () => {
    const batcher = new PushBatcher({
      apply: (_store, records, from) =>
        from[0] === 1
          ? Promise.reject(new Error('disk full'))
          : Promise.resolve(records.map(() => ({ status: 'applied' as const }))),
      maxRecords: 1000,
      windowMs: 1,
    })
    const bad = batcher.add('assertions', 'x', Uint8Array.of(1), [Uint8Array.of(9)])
    const good = batcher.add('assertions', 'y', Uint8Array.of(2), [Uint8Array.of(9), Uint8Array.of(8)])
    await expect(bad).rejects.toThrow('disk full')
    await expect(good).resolves.toHaveLength(2)
  })

  it('groups by peer in order of first arrival, keeping arrival order inside a group', () => {
    const groups = groupByPeer([
      { id: 'b', n: 1 },
      { id: 'a', n: 2 },
      { id: 'b', n: 3 },
    ])
    expect(groups).toEqual([
      [
        { id: 'b', n: 1 },
        { id: 'b', n: 3 },
      ],
      [{ id: 'a', n: 2 }],
    ])
  })
})

const operator = generateSigner()
const trust = [operator.publicKey]

async function rawPusher(honest: ProvsyncNode) {
  const raw = (await createLibp2p({
    ...(await loopbackTransport()),
    services: { identify: identify(), pubsub: gossipsub() },
  })) as unknown as Libp2p
  started.push(raw)
  await raw.dial(honest.multiaddrs()[0]!)
  const stream = await raw.dialProtocol(honest.peerId, PUSH_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const framed = framedStream(stream)
  await framed.write(
    encodeMessage({ type: 'hello', networkId: NETWORK, trustHash: trustBundleHash(trust), version: 1 }),
  )
  expect(decodeMessage((await framed.read())!).type).toBe('welcome')
  return { raw, framed }
}

describe('coalesced pushes on a node', () => {
  it('tags each record with the peer that pushed it and blames only the peer of a bad record', async () => {
    const honest = await startNode({
      dataDir: await dirs.make(),
      trust,
      sync: { ...QUIET_SYNC, push: { delayMs: 10 } },
    })
    started.push(honest)
    const blamed: string[] = []
    honest.sync.addEventListener('peer:offence', (evt) => blamed.push(evt.detail.peer.toString()))
    const good = await rawPusher(honest)
    const bad = await rawPusher(honest)
    const asserter = generateSigner()
    const forged = signedFor(asserter, 1, { offset: 50 })[0]!
    forged[forged.length - 1]! ^= 0xff
    // Written back to back, so the node's coalescing window holds frames of both peers.
    await Promise.all([
      good.framed.write(encodePush({ type: 'push', store: 'assertions', records: signedFor(asserter, 3) })),
      bad.framed.write(
        encodePush({
          type: 'push',
          store: 'assertions',
          records: [...signedFor(asserter, 2, { offset: 40 }), forged],
        }),
      ),
      good.framed.write(
        encodePush({ type: 'push', store: 'assertions', records: signedFor(asserter, 2, { offset: 3 }) }),
      ),
    ])
    await waitFor(
      () => blamed.length > 0 && honest.state.view.get(coordinate(41)) !== undefined,
      'the pushes',
    )
    await waitFor(() => honest.state.view.get(coordinate(4)) !== undefined, 'the second frame')
    for (const i of [0, 1, 2, 3, 4])
      expect(honest.state.view.get(coordinate(i))?.provenance).toMatchObject({
        via: peerPublicKey(good.raw.peerId),
      })
    for (const i of [40, 41])
      expect(honest.state.view.get(coordinate(i))?.provenance).toMatchObject({
        via: peerPublicKey(bad.raw.peerId),
      })
    expect(honest.state.view.get(coordinate(50))).toBeUndefined()
    expect(new Set(blamed)).toEqual(new Set([bad.raw.peerId.toString()]))
    expect(honest.sync.pushStats()).toMatchObject({ recordsReceived: 8, recordsApplied: 7 })
  })
})
