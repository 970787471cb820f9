import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, test } from 'vitest'
import { createRng } from '../src/prng.js'
import { joinChunks, type LinkCounters, ShapedConnection } from '../src/shaped-connection.js'

// The hand-over of a clean link: chunks passed in one event-loop turn reach the other end as one
// read, in order, and a close or reset sent after them never overtakes them.

function ends(): { a: ShapedConnection; b: ShapedConnection; reads: Uint8Array[]; events: string[] } {
  const reads: Uint8Array[] = []
  const events: string[] = []
  const end = (local: string, remote: string) => {
    const counters: LinkCounters = { peers: [local, remote], chunks: 0, lost: 0, retransmitted: 0, resets: 0 }
    return new ShapedConnection(
      {
        remoteAddr: multiaddr('/memory/shaped-test'),
        direction: local === 'a' ? 'outbound' : 'inbound',
        log: defaultLogger().forComponent(`shaped-test:${local}`),
      },
      {
        local,
        remote,
        fault: () => ({ lossPct: 0, delayMs: 0 }),
        counters,
        losses: createRng(`shaped-${local}`),
        delivered: () => {},
        giveUp: () => {},
      },
    )
  }
  const a = end('a', 'b')
  const b = end('b', 'a')
  a.peer = b
  b.peer = a
  b.onData = (data) => {
    const bytes = data instanceof Uint8Array ? data : data.subarray()
    reads.push(bytes)
    events.push(`data ${[...bytes].join(',')}`)
  }
  b.onTransportClosed = () => {
    events.push('closed')
  }
  b.abort = () => {
    events.push('reset')
  }
  return { a, b, reads, events }
}

/** A chunk as the muxer hands one over (typed as a list; a plain array is what the test reads back). */
const chunk = (...bytes: number[]) =>
  Uint8Array.from(bytes) as unknown as Parameters<ShapedConnection['sendData']>[0]

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('shaped connection hand-over', () => {
  test('chunks sent in one turn arrive as one read, in order; a later turn is a read of its own', async () => {
    const { a, reads } = ends()
    a.sendData(chunk(1, 2))
    a.sendData(chunk(3))
    a.sendData(chunk(4, 5, 6))
    expect(reads).toEqual([])
    await turn()
    await turn()
    a.sendData(chunk(7))
    await turn()
    await turn()
    expect(reads.map((r) => [...r])).toEqual([[1, 2, 3, 4, 5, 6], [7]])
  })

  test('a close or a reset goes out after the chunks sent before it', async () => {
    const closing = ends()
    closing.a.sendData(chunk(1))
    closing.a.sendData(chunk(2))
    await closing.a.sendClose()
    await turn()
    expect(closing.events).toEqual(['data 1,2', 'closed'])

    const resetting = ends()
    resetting.a.sendData(chunk(9))
    resetting.a.sendReset()
    await turn()
    expect(resetting.events).toEqual(['data 9', 'reset'])
  })

  test('joinChunks keeps every byte in order', () => {
    expect([...joinChunks([Uint8Array.of(1), Uint8Array.of(), Uint8Array.of(2, 3)])]).toEqual([1, 2, 3])
  })
})
