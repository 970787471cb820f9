/**
 * Interop over real libp2p nodes on TCP loopback (noise): ours against `@chainsafe/libp2p-yamux`
 * 8 in both roles, and a real provsync sync between a node with our muxer (the default now) and a
 * node with chainsafe's (a node of the previous release).
 */
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { generateSigner } from '@provsync/crdt'
import {
  load,
  loopbackTransport,
  rootsEqual,
  signedAssertions,
  TEST_NETWORK,
  TestNodes,
  waitFor,
} from '@provsync/testing'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { expectBytes, pattern, readAll } from './helpers.js'

const ECHO = '/provsync-test/echo/1.0.0'
const started: Libp2p[] = []

async function echoNode(streamMuxer: 'provsync' | 'chainsafe'): Promise<Libp2p> {
  const node = await createLibp2p({ ...(await loopbackTransport({ streamMuxer })) })
  await node.handle(ECHO, async (stream: Stream) => {
    for await (const chunk of stream) if (!stream.send(chunk)) await stream.onDrain()
    await stream.close()
  })
  started.push(node)
  return node
}

async function echoOver(connection: Connection, data: Uint8Array): Promise<Uint8Array> {
  const stream = await connection.newStream(ECHO)
  const reply = readAll(stream)
  for (let i = 0; i < data.length; i += 50_000) {
    if (!stream.send(data.subarray(i, i + 50_000))) await stream.onDrain()
  }
  await stream.close()
  return reply
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
})

describe('interop with @chainsafe/libp2p-yamux over TCP and noise', () => {
  for (const [dialer, listener] of [
    ['provsync', 'chainsafe'],
    ['chainsafe', 'provsync'],
  ] as const) {
    it(`${dialer} dials ${listener}: streams both ways, small and past the window`, async () => {
      const a = await echoNode(dialer)
      const b = await echoNode(listener)
      const out = await a.dial(b.getMultiaddrs()[0]!)
      await waitFor(() => b.getConnections(a.peerId).length === 1, 'the listener to see the connection')
      const back = b.getConnections(a.peerId)[0]!
      expect(out.multiplexer).toBe('/yamux/1.0.0')
      expect(back.direction).toBe('inbound')
      const big = pattern(2 * 1024 * 1024 + 3)
      const results = await Promise.all([
        echoOver(out, big),
        ...Array.from({ length: 20 }, (_, i) => echoOver(out, pattern(100 + i, i))),
        ...Array.from({ length: 20 }, (_, i) => echoOver(back, pattern(1000 + i, i))),
      ])
      expect(a.getConnections(b.peerId)).toHaveLength(1)
      expectBytes(results[0]!, big)
      for (const [i, r] of results.slice(1, 21).entries()) expectBytes(r, pattern(100 + i, i))
      for (const [i, r] of results.slice(21).entries()) expectBytes(r, pattern(1000 + i, i))
    })
  }
})

describe('a real sync between a node with our muxer and a node of the previous release', () => {
  const signer = generateSigner()
  const net = new TestNodes({ networkId: TEST_NETWORK, trust: [signer.publicKey] })
  afterEach(() => net.cleanup())

  it('converges both ways, 2,000 records each side and 500 differences', async () => {
    const quiet = { announce: false as const, antiEntropy: false as const, syncOnConnect: false }
    const ours = await net.start({ sync: quiet })
    const previous = await net.start({ sync: quiet, libp2p: { streamMuxers: [yamux()] } })
    const records = signedAssertions(signer, 2_500, { networkId: TEST_NETWORK })
    await load(ours.state, records.slice(0, 2_250), signer.publicKey)
    await load(previous.state, records.slice(250), signer.publicKey)

    await ours.dial(previous.multiaddrs()[0]!)
    const report = await ours.sync.syncWith(previous.peerId)
    expect(report.applied).toBe(250)
    expect(report.remoteApplied).toBe(250)
    expect(rootsEqual(ours.state, previous.state)).toBe(true)

    const more = signedAssertions(signer, 100, { networkId: TEST_NETWORK, offset: 10_000 })
    await load(previous.state, more, signer.publicKey)
    const back = await previous.sync.syncWith(ours.peerId)
    expect(back.remoteApplied).toBe(100)
    expect(rootsEqual(ours.state, previous.state)).toBe(true)
  })
})
