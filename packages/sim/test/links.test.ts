import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { type LinkFault, LinkResetError } from '@provsync/sim'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, test } from 'vitest'
import {
  createMemoryNetwork,
  enforcePartition,
  GIVE_UP_MS,
  INITIAL_RTO_MS,
  type LinkTable,
  linkGater,
  MAX_RETRANSMISSIONS,
  type MemoryNetwork,
} from '../src/links.js'
import { createRng } from '../src/prng.js'

const ECHO = '/sim-test/echo/1.0.0'
const started: Libp2p[] = []
let prefixCount = 0

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
})

/** Two nodes on a shaped memory network; `gated` also gives each the table's connection gater. */
async function pair(table: LinkTable, seed = 'links', gated = false) {
  const prefix = `/memory/links-test-${process.pid}-${prefixCount++}-`
  const network = await createMemoryNetwork(prefix, table, createRng(seed))
  const make = async (name: string) => {
    // Identities from the seed: each connection direction draws its losses from a stream named by
    // its peers, so fixed peers make a loss test replay the same draws on every run.
    const privateKey = await generateKeyPairFromSeed(
      'Ed25519',
      createHash('sha256').update(`${seed}/${name}`).digest(),
    )
    const self = peerIdFromPrivateKey(privateKey).toString()
    const node = await createLibp2p({
      privateKey,
      addresses: { listen: [`${prefix}${name}`] },
      transports: [network.transport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      ...(gated ? { connectionGater: linkGater(self, table) } : {}),
    })
    await node.handle(ECHO, async (stream) => {
      for await (const chunk of stream) stream.send(chunk)
      await stream.close()
    })
    started.push(node)
    return node
  }
  const a = await make('a')
  const b = await make('b')
  return { a, b, network, address: multiaddr(`${prefix}b/p2p/${b.peerId}`) }
}

async function roundTripMs(from: Libp2p, to: ReturnType<typeof multiaddr>): Promise<number> {
  return echoMs(await from.dialProtocol(to, ECHO))
}

/** Time for one chunk to go out and come back on an already negotiated stream. */
async function echoMs(stream: Awaited<ReturnType<Libp2p['dialProtocol']>>): Promise<number> {
  const start = performance.now()
  stream.send(new Uint8Array(64))
  for await (const _ of stream) break
  const elapsed = performance.now() - start
  await stream.close()
  return elapsed
}

const open: LinkTable = { reachable: () => true, fault: () => ({ lossPct: 0, delayMs: 0 }) }

describe('memory network', () => {
  test('counts the bytes each side receives', async () => {
    const { a, b, network, address } = await pair(open)
    await roundTripMs(a, address)
    expect(network.bytesReceived(a.peerId.toString())).toBeGreaterThan(64)
    expect(network.bytesReceived(b.peerId.toString())).toBeGreaterThan(64)
    expect(network.totalBytesReceived()).toBe(
      network.bytesReceived(a.peerId.toString()) + network.bytesReceived(b.peerId.toString()),
    )
    network.close()
  })

  test('adds the link delay each way, in order', async () => {
    let fault: LinkFault = { lossPct: 0, delayMs: 0 }
    const { a, address, network } = await pair({ reachable: () => true, fault: () => fault })
    const fast = await roundTripMs(a, address)
    fault = { lossPct: 0, delayMs: 60 }
    const slow = await roundTripMs(a, address)
    expect(slow).toBeGreaterThanOrEqual(120)
    expect(slow).toBeGreaterThan(fast)
    network.close()
  })

  test('a closing connection goes out after the delayed bytes sent before it, as a FIN follows the data', async () => {
    let fault: LinkFault = { lossPct: 0, delayMs: 0 }
    const { a, b, address, network } = await pair({ reachable: () => true, fault: () => fault })
    const SINK = '/sim-test/sink/1.0.0'
    const received = new Promise<number>((resolve, reject) => {
      void b.handle(SINK, async (stream) => {
        let bytes = 0
        try {
          for await (const chunk of stream) bytes += chunk.byteLength
          resolve(bytes)
        } catch (error) {
          reject(error)
        }
      })
    })
    const stream = await a.dialProtocol(address, SINK)
    fault = { lossPct: 0, delayMs: 80 }
    for (let i = 0; i < 3; i++) stream.send(new Uint8Array(1000).fill(i))
    const start = performance.now()
    // The whole connection closes (muxer, then the raw connection) while the bytes are on the link.
    await a.hangUp(b.peerId)
    expect(await received).toBe(3000)
    expect(performance.now() - start).toBeGreaterThanOrEqual(70)
    network.close()
  })

  test("two networks in one process do not reach each other's listeners", async () => {
    const { b, address, network } = await pair(open)
    const other = await createMemoryNetwork(`/memory/links-other-${process.pid}-`, open, createRng('other'))
    const stranger = await createLibp2p({
      transports: [other.transport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    started.push(stranger)
    await expect(stranger.dial(address)).rejects.toThrow()
    expect(b.getConnections()).toHaveLength(0)
    other.close()
    network.close()
  })

  test('on a healthy link nothing is lost, retransmitted or reset', async () => {
    const { a, address, network } = await pair(open)
    await roundTripMs(a, address)
    const [link] = network.linkCounters()
    expect(link!.chunks).toBeGreaterThan(0)
    expect(link).toMatchObject({ lost: 0, retransmitted: 0, resets: 0 })
    network.close()
  })
})

/** Sends `chunks` numbered messages on an echo stream one at a time; resolves with what came back. */
async function echoAll(stream: Awaited<ReturnType<Libp2p['dialProtocol']>>, chunks: number) {
  const sent: number[] = []
  const back: number[] = []
  const reader = stream[Symbol.asyncIterator]()
  for (let i = 0; i < chunks; i++) {
    const message = Uint8Array.from({ length: 32 }, (_, k) => (i * 7 + k) % 256)
    sent.push(...message)
    stream.send(message)
    while (back.length < sent.length) {
      const { value, done } = await reader.next()
      if (done === true) throw new Error('echo stream ended early')
      back.push(...value.subarray())
    }
  }
  await stream.close()
  return { sent, back }
}

const totals = (network: MemoryNetwork) =>
  network.linkCounters().reduce(
    (sum, c) => ({
      lost: sum.lost + c.lost,
      retransmitted: sum.retransmitted + c.retransmitted,
      resets: sum.resets + c.resets,
    }),
    { lost: 0, retransmitted: 0, resets: 0 },
  )

describe('message loss', () => {
  test('30 % loss delivers every byte in order, later, through retransmissions', async () => {
    let fault: LinkFault = { lossPct: 0, delayMs: 0 }
    // The seed fixes the draws. At 30 % a chunk resets the connection with probability 0.3^5 per
    // chunk, as it should; under the seed 'loss-30' one of this run's chunks does, so the test,
    // which is about retransmission without a reset, uses a seed whose draws lose and recover.
    const { a, address, network } = await pair({ reachable: () => true, fault: () => fault }, 'loss-30%')
    const stream = await a.dialProtocol(address, ECHO)
    const healthy = await echoAll(stream, 1)
    expect(healthy.back).toEqual(healthy.sent)
    fault = { lossPct: 30, delayMs: 0 }
    const start = performance.now()
    const { sent, back } = await echoAll(await a.dialProtocol(address, ECHO), 6)
    const elapsed = performance.now() - start
    expect(back).toEqual(sent)
    const { lost, retransmitted, resets } = totals(network)
    expect(lost).toBeGreaterThan(0)
    // Every loss but those whose timer is still running was retransmitted.
    expect(retransmitted).toBeGreaterThan(0)
    expect(retransmitted).toBeLessThanOrEqual(lost)
    expect(resets).toBe(0)
    // Each loss holds the stream back by at least one RTO.
    expect(elapsed).toBeGreaterThanOrEqual(INITIAL_RTO_MS)
    expect(a.getConnections()).toHaveLength(1)
    network.close()
  })

  test('100 % loss resets the connection with a LinkResetError once the retransmissions run out', async () => {
    let fault: LinkFault = { lossPct: 0, delayMs: 0 }
    const { a, b, address, network } = await pair({ reachable: () => true, fault: () => fault })
    await a.dial(address)
    const [connection] = a.getConnections(b.peerId)
    const closed = new Promise<number>((resolve) =>
      a.addEventListener('connection:close', () => resolve(performance.now())),
    )
    fault = { lossPct: 100, delayMs: 0 }
    const start = performance.now()
    // The protocol negotiation never gets through: the stream fails with the reset, not an EOF.
    const dialed = a.dialProtocol(address, ECHO)
    await expect(dialed).rejects.toThrow(LinkResetError)
    const elapsed = (await closed) - start
    expect(elapsed).toBeGreaterThanOrEqual(GIVE_UP_MS - 50)
    expect(elapsed).toBeLessThan(GIVE_UP_MS + 1_500)
    expect(connection!.status).not.toBe('open')
    expect(a.getConnections(b.peerId)).toHaveLength(0)
    const { lost, retransmitted, resets } = totals(network)
    expect(resets).toBeGreaterThanOrEqual(1)
    expect(lost).toBeGreaterThanOrEqual(MAX_RETRANSMISSIONS + 1)
    expect(retransmitted).toBeGreaterThanOrEqual(MAX_RETRANSMISSIONS)
    // Healed, the peers reconnect and talk again.
    fault = { lossPct: 0, delayMs: 0 }
    const again = await echoAll(await a.dialProtocol(address, ECHO), 2)
    expect(again.back).toEqual(again.sent)
    network.close()
  }, 20_000)

  test('a reset reaches the listening side as the LinkResetError, not as a clean end', async () => {
    let fault: LinkFault = { lossPct: 0, delayMs: 0 }
    const { a, b, address, network } = await pair({ reachable: () => true, fault: () => fault })
    const SINK = '/sim-test/sink/1.0.0'
    const outcome = new Promise<unknown>((resolve) => {
      void b.handle(SINK, async (stream) => {
        try {
          for await (const _ of stream) {
            // read until the stream ends or fails
          }
          resolve('clean end')
        } catch (error) {
          resolve(error)
        }
      })
    })
    const stream = await a.dialProtocol(address, SINK)
    stream.send(new Uint8Array(16))
    fault = { lossPct: 100, delayMs: 0 }
    stream.send(new Uint8Array(16))
    // b aborts its inbound connection (found by its raw connection) with the error itself.
    const seen = await outcome
    expect(seen).toBeInstanceOf(LinkResetError)
    expect((seen as LinkResetError).from).toBe(a.peerId.toString())
    expect(b.getConnections(a.peerId)).toHaveLength(0)
    network.close()
  }, 20_000)

  test('the reset names the link, the loss and the bound', () => {
    const error = new LinkResetError('peer-a', 'peer-b', 100)
    expect(error.name).toBe('LinkResetError')
    expect(error.message).toContain('peer-a -> peer-b')
    expect(error.message).toContain(`${GIVE_UP_MS} ms`)
    expect(GIVE_UP_MS).toBe(INITIAL_RTO_MS * (2 ** (MAX_RETRANSMISSIONS + 1) - 1))
  })
})

describe('partitions through the connection gater', () => {
  test('cuts live connections, refuses dials while partitioned and allows them after the heal', async () => {
    let split = false
    const table: LinkTable = { reachable: () => !split, fault: () => ({ lossPct: 0, delayMs: 0 }) }
    const { a, b, address, network } = await pair(table, 'links', true)
    await a.dial(address)
    expect(a.getConnections(b.peerId)).toHaveLength(1)
    split = true
    expect(await enforcePartition(a, a.peerId.toString(), table)).toBe(1)
    expect(a.getConnections(b.peerId)).toHaveLength(0)
    await expect(a.dial(address)).rejects.toThrow()
    split = false
    await a.dial(address)
    expect(a.getConnections(b.peerId)).toHaveLength(1)
    network.close()
  })
})
