import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { memory } from '@libp2p/memory'
import { multiaddr } from '@multiformats/multiaddr'
import {
  createMemoryNetwork,
  createRng,
  enforcePartition,
  gateNode,
  type LinkFault,
  type LinkTable,
} from '@provsync/sim'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, test } from 'vitest'

const ECHO = '/sim-test/echo/1.0.0'
const started: Libp2p[] = []
let prefixCount = 0

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.stop()))
})

async function pair(table: LinkTable) {
  const prefix = `/memory/links-test-${process.pid}-${prefixCount++}-`
  const network = await createMemoryNetwork(prefix, table, createRng('links'))
  const make = async (name: string) => {
    const node = await createLibp2p({
      addresses: { listen: [`${prefix}${name}`] },
      transports: [memory()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
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

  test('a lost chunk arrives after a retransmission timeout', async () => {
    let fault: LinkFault = { lossPct: 0, delayMs: 0 }
    const { a, address, network } = await pair({ reachable: () => true, fault: () => fault })
    await roundTripMs(a, address)
    // The stream is negotiated on a healthy link; only the echoed chunk (out and back) is lost.
    const stream = await a.dialProtocol(address, ECHO)
    fault = { lossPct: 100, delayMs: 0 }
    expect(await echoMs(stream)).toBeGreaterThanOrEqual(400)
    network.close()
  })
})

describe('partitions through the connection gater', () => {
  test('cuts live connections, refuses dials while partitioned and allows them after the heal', async () => {
    let split = false
    const table: LinkTable = { reachable: () => !split, fault: () => ({ lossPct: 0, delayMs: 0 }) }
    const { a, b, address, network } = await pair(table)
    gateNode(a, a.peerId.toString(), table)
    gateNode(b, b.peerId.toString(), table)
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
