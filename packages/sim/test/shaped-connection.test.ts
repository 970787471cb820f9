import { StreamResetError } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, test } from 'vitest'
import type { LinkFault } from '../src/faults.js'
import { createRng } from '../src/prng.js'
import { type LinkCounters, type PeerEnd, ShapedConnection } from '../src/shaped-connection.js'

/** What the other end was handed, in order. */
type Seen = { readonly data: number[] } | 'closed' | 'reset'

function end(fault: () => LinkFault = () => ({ lossPct: 0, delayMs: 0 })) {
  const counters: LinkCounters = {
    peers: ['a', 'b'],
    chunks: 0,
    handed: 0,
    lost: 0,
    retransmitted: 0,
    resets: 0,
  }
  const seen: Seen[] = []
  const peer: PeerEnd = {
    onData: (data) => seen.push({ data: [...(data instanceof Uint8Array ? data : data.subarray())] }),
    onTransportClosed: () => seen.push('closed'),
    abort: () => seen.push('reset'),
  }
  const connection = new ShapedConnection(
    {
      remoteAddr: multiaddr('/memory/shaped-test'),
      direction: 'outbound',
      log: defaultLogger().forComponent('shaped-test'),
    },
    {
      local: 'a',
      remote: 'b',
      fault,
      counters,
      losses: createRng('shaped-test'),
      delivered: () => {},
      giveUp: () => {},
    },
  )
  connection.peer = peer
  return { connection, counters, seen }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))
const bytes = (...values: number[]) => new Uint8ArrayList(Uint8Array.from(values))

describe('a shaped connection hands a turn of writes over as one chunk', () => {
  test('writes of one turn arrive as one chunk, in order; a later turn is a chunk of its own', async () => {
    const { connection, counters, seen } = end()
    connection.sendData(bytes(1, 2))
    connection.sendData(new Uint8ArrayList(Uint8Array.of(3), Uint8Array.of(4, 5)))
    connection.sendData(bytes(6))
    expect(seen).toEqual([])
    await turn()
    await turn()
    connection.sendData(bytes(7))
    await turn()
    await turn()
    expect(seen).toEqual([{ data: [1, 2, 3, 4, 5, 6] }, { data: [7] }])
    expect(counters).toMatchObject({ chunks: 4, handed: 2 })
  })

  test('a graceful close goes out after the bytes written before it in the same turn', async () => {
    const { connection, seen } = end()
    connection.sendData(bytes(1))
    connection.sendData(bytes(2))
    await connection.sendClose()
    await turn()
    expect(seen).toEqual([{ data: [1, 2] }, 'closed'])
  })

  test('a reset goes out after the bytes already delivered, as before', async () => {
    const { connection, seen } = end()
    connection.sendData(bytes(9, 8))
    connection.sendReset()
    await turn()
    await turn()
    expect(seen).toEqual([{ data: [9, 8] }, 'reset'])
  })

  test('delayed chunks keep their delay and order, and those arriving together coalesce', async () => {
    let fault: LinkFault = { lossPct: 0, delayMs: 30 }
    const { connection, counters, seen } = end(() => fault)
    const start = performance.now()
    connection.sendData(bytes(1))
    connection.sendData(bytes(2))
    fault = { lossPct: 0, delayMs: 0 }
    // Queued behind the delayed ones: in order, so it waits for them.
    connection.sendData(bytes(3))
    await turn()
    expect(seen).toEqual([])
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(performance.now() - start).toBeGreaterThanOrEqual(25)
    await turn()
    expect(seen.flatMap((s) => (typeof s === 'string' ? [] : s.data))).toEqual([1, 2, 3])
    expect(counters.handed).toBeLessThan(counters.chunks)
  })

  test('an aborted end still hands over what it delivered before the abort', async () => {
    const { connection, seen } = end()
    connection.sendData(bytes(4))
    connection.abort(new StreamResetError())
    await turn()
    await turn()
    expect(seen[0]).toEqual({ data: [4] })
  })
})
