import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { type ProvsyncNode, PUSH_PROTOCOL, trustBundleHash } from '@provsync/sync'
import { loopbackTransport, QUIET_SYNC } from '@provsync/testing'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { framedStream } from '../src/framing.js'
import { peerPublicKey } from '../src/identity.js'
import { encodePush } from '../src/push-codec.js'
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

// Two peers pushing to one node at once: each record keeps the peer that pushed it as its relay,
// and a bad record is the offence of its own pusher only (per-frame attribution, whatever batching
// the receiver does; session 11, second round).

const dirs = tempDirs()
const started: Array<{ stop(): Promise<void> | void }> = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
  await dirs.cleanup()
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

describe('pushes from two peers at once', () => {
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
    // Written back to back, so frames of both peers are in flight together.
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
