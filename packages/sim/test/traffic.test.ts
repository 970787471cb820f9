import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { sleep } from '@provsync/testing'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, test } from 'vitest'
import { createMemoryNetwork, type LinkTable } from '../src/links.js'
import { createRng } from '../src/prng.js'
import { createProtocolTraffic, sumProtocolBytes } from '../src/traffic.js'

const LATE = '/sim-test/late-reader/1.0.0'
const started: Libp2p[] = []

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
})

const open: LinkTable = { reachable: () => true, fault: () => ({ lossPct: 0, delayMs: 0 }) }

describe('protocol traffic', () => {
  // libp2p hands the stream to `trackProtocolStream` before the protocol handler runs. A handler
  // that reads only after an await must still get every byte: a 'message' listener of the
  // counter's would start the stream's delivery into the counter alone (AbstractMessageStream
  // dispatches its read buffer as soon as any 'message' listener exists), losing these bytes.
  test("counts each protocol's received bytes without taking them from a handler that reads late", async () => {
    const prefix = `/memory/traffic-test-${process.pid}-`
    const network = await createMemoryNetwork(prefix, open, createRng('traffic'))
    const traffic = createProtocolTraffic()
    const make = async (name: string, metrics?: typeof traffic.metrics) => {
      const node = await createLibp2p({
        addresses: { listen: [`${prefix}${name}`] },
        transports: [network.transport()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        ...(metrics === undefined ? {} : { metrics }),
      })
      started.push(node)
      return node
    }
    const reader = await make('reader', traffic.metrics)
    const writer = await make('writer')
    const got = new Promise<number>((resolve, reject) => {
      void reader.handle(LATE, async (stream) => {
        await sleep(100)
        let bytes = 0
        try {
          for await (const chunk of stream) {
            bytes += chunk.byteLength
            if (bytes >= 500) break
          }
          resolve(bytes)
        } catch (error) {
          reject(error)
        }
      })
    })
    const stream = await writer.dialProtocol(multiaddr(`${prefix}reader/p2p/${reader.peerId}`), LATE)
    stream.send(new Uint8Array(300).fill(1))
    stream.send(new Uint8Array(200).fill(2))
    // (The writer closes only after the read: a reader that starts after the remote closed its
    // writable end waits out libp2p's stream inactivity timeout, with or without the counter.)
    expect(await Promise.race([got, sleep(5_000).then(() => 'the handler never got the bytes')])).toBe(500)
    await stream.close()
    // Payload above the muxer, by protocol: the multistream-select header is not counted.
    expect(traffic.received()).toEqual({ [LATE]: 500 })
    network.close()
  })

  test('sums the bytes of several nodes by protocol', () => {
    expect(sumProtocolBytes([{ a: 1, b: 2 }, { b: 3 }, {}])).toEqual({ a: 1, b: 5 })
  })
})
