import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { type ProvsyncNode, PUSH_PROTOCOL, trustBundleHash } from '@provsync/sync'
import { loopbackTransport, QUIET_SYNC, sleep } from '@provsync/testing'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { type FramedStream, framedStream } from '../src/framing.js'
import { peerPublicKey } from '../src/identity.js'
import { encodePush } from '../src/push-codec.js'
import { decodeMessage, encodeMessage } from '../src/wire/codec.js'
import {
  coordinate,
  generateSigner,
  NETWORK,
  signedAssertions,
  startNode,
  tempDirs,
  waitFor,
} from './helpers.js'

// A peer that speaks the push protocol by hand: what it pushes is verified and tagged exactly as a
// pulled record, and what it does wrong is its offence, counted as a pull's would be.

const dirs = tempDirs()
const operator = generateSigner()
const trust = [operator.publicKey]
const started: Array<{ stop(): Promise<void> | void }> = []

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
  await dirs.cleanup()
})

async function honestNode(): Promise<ProvsyncNode> {
  const node = await startNode({
    dataDir: await dirs.make(),
    trust,
    sync: { ...QUIET_SYNC, push: { delayMs: 10 } },
  })
  started.push(node)
  return node
}

async function rawNode(): Promise<Libp2p> {
  const node = await createLibp2p({
    ...(await loopbackTransport()),
    services: { identify: identify(), pubsub: gossipsub() },
  })
  started.push(node)
  return node as unknown as Libp2p
}

/** Opens a push stream to `honest` and says hello; resolves once welcomed. */
async function pushStream(
  raw: Libp2p,
  honest: ProvsyncNode,
): Promise<{ stream: Stream; framed: FramedStream }> {
  await raw.dial(honest.multiaddrs()[0]!)
  const stream = await raw.dialProtocol(honest.peerId, PUSH_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const framed = framedStream(stream)
  await framed.write(
    encodeMessage({ type: 'hello', networkId: NETWORK, trustHash: trustBundleHash(trust), version: 1 }),
  )
  const welcome = await framed.read()
  expect(decodeMessage(welcome!).type).toBe('welcome')
  return { stream, framed }
}

function offences(honest: ProvsyncNode): Array<{ reason: string; detail: string }> {
  const seen: Array<{ reason: string; detail: string }> = []
  honest.sync.addEventListener('peer:offence', (evt) =>
    seen.push({ reason: evt.detail.reason, detail: evt.detail.detail }),
  )
  return seen
}

describe('a hand-written pusher', () => {
  it('has a valid pushed record applied and tagged with it as the relay', async () => {
    const honest = await honestNode()
    const raw = await rawNode()
    const { framed } = await pushStream(raw, honest)
    const asserter = generateSigner()
    await framed.write(
      encodePush({
        type: 'push',
        store: 'assertions',
        records: signedAssertions(asserter, 1, { offset: 5 }),
      }),
    )
    await waitFor(() => honest.state.view.get(coordinate(5)) !== undefined, 'the pushed record to be applied')
    expect(honest.state.view.get(coordinate(5))?.provenance).toEqual({
      type: 'asserted',
      asserter: asserter.publicKey,
      via: peerPublicKey(raw.peerId),
    })
    expect(honest.sync.pushStats()).toMatchObject({ recordsReceived: 1, recordsApplied: 1 })
  })

  it('has a record with a broken signature refused and counted as its invalid-record offence', async () => {
    const honest = await honestNode()
    const seen = offences(honest)
    const raw = await rawNode()
    const { framed } = await pushStream(raw, honest)
    const forged = signedAssertions(generateSigner(), 1, { offset: 6 })[0]!
    forged[forged.length - 1]! ^= 0xff
    await framed.write(encodePush({ type: 'push', store: 'assertions', records: [forged] }))
    await waitFor(() => seen.some((o) => o.reason === 'invalid-record'), 'the invalid-record offence')
    expect(seen.find((o) => o.reason === 'invalid-record')?.detail).toContain('invalid pushed records')
    expect(honest.state.view.get(coordinate(6))).toBeUndefined()
    expect(honest.sync.pushStats()).toMatchObject({ recordsReceived: 1, recordsApplied: 0 })
  })

  it('is blamed for a malformed frame and for a store the node does not sync, and the stream is reset', async () => {
    const honest = await honestNode()
    const seen = offences(honest)
    const raw = await rawNode()
    const first = await pushStream(raw, honest)
    await first.framed.write(Uint8Array.of(0x09, 1, 2))
    await waitFor(() => seen.some((o) => o.reason === 'malformed-frame'), 'the malformed-frame offence')
    await waitFor(() => first.stream.status !== 'open', 'the stream to be reset')

    const second = await pushStream(raw, honest)
    await second.framed.write(encodePush({ type: 'push', store: 'gossip', records: [Uint8Array.of(1)] }))
    await waitFor(() => seen.some((o) => o.reason === 'unexpected-message'), 'the unexpected-message offence')
    expect(seen.find((o) => o.reason === 'unexpected-message')?.detail).toContain('gossip')
    await sleep(50)
    expect(honest.sync.pushStats()).toMatchObject({ recordsReceived: 0 })
  })
})
