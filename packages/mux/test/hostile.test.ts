import type { MultiaddrConnection, Stream } from '@libp2p/interface'
import { multiaddrConnectionPair } from '@libp2p/utils'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import {
  BadFrameTypeError,
  BadVersionError,
  encodeHeader,
  Flag,
  FrameTooLargeError,
  FrameType,
  INITIAL_STREAM_WINDOW,
  KeepAliveTimeoutError,
  MuxError,
  type Muxer,
  type MuxerInit,
  muxer,
  PingFloodError,
  ReceiveWindowExceededError,
  RemoteGoAwayError,
  StreamIdError,
  UnexpectedPongError,
  WindowOverflowError,
} from '../src/index.js'
import { expectMessage, framesOf, sleep } from './helpers.js'

/** Our muxer as the listener of a connection whose dialer side the test writes raw frames into. */
function hostile(init: MuxerInit = {}) {
  const [raw, conn] = multiaddrConnectionPair({ capacity: 1_000_000 })
  const m = muxer({
    enableKeepAlive: false,
    streamOptions: { maxStreamWindowSize: INITIAL_STREAM_WINDOW },
    ...init,
  })().createStreamMuxer(conn)
  const received: Uint8ArrayList[] = []
  raw.addEventListener('message', (evt) => received.push(new Uint8ArrayList(evt.data.subarray())))
  const streams: Stream[] = []
  m.addEventListener('stream', (evt) => streams.push(evt.detail))
  const closed = new Promise<Error | undefined>((resolve) => {
    conn.addEventListener('close', (evt) => resolve(evt.error))
  })
  return { raw, conn, m, received, streams, closed }
}

const frame = (type: number, flags: number, streamId: number, length: number, payload?: Uint8Array) =>
  payload === undefined
    ? encodeHeader({ type: type as 0, flags, streamId, length })
    : Buffer.concat([encodeHeader({ type: type as 0, flags, streamId, length }), payload])

const data = (flags: number, id: number, n: number) => frame(FrameType.Data, flags, id, n, new Uint8Array(n))

function write(raw: MultiaddrConnection, ...frames: Uint8Array[]): void {
  raw.send(Buffer.concat(frames))
}

/** Sends `frames`, waits for the muxer to abort the connection, and returns the error and the go-away code sent. */
async function abortedBy(init: MuxerInit, ...frames: Uint8Array[]) {
  const h = hostile(init)
  write(h.raw, ...frames)
  const error = await h.closed
  await sleep(5)
  const goAway = framesOf(h.received).find((f) => f.header.type === FrameType.GoAway)
  return { error, goAway: goAway?.header.length, muxer: h.m }
}

describe('a hostile remote', () => {
  const cases: [string, Uint8Array[], new (...args: never[]) => Error, Record<string, unknown>][] = [
    [
      'a bad version',
      [Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])],
      BadVersionError,
      { version: 1 },
    ],
    ['a bad frame type', [frame(7, 0, 1, 0)], BadFrameTypeError, { type: 7 }],
    [
      'a data frame larger than any window',
      [frame(0, Flag.SYN, 1, INITIAL_STREAM_WINDOW + 1)],
      FrameTooLargeError,
      { length: INITIAL_STREAM_WINDOW + 1, max: INITIAL_STREAM_WINDOW },
    ],
    [
      'data past the receive window',
      // The first frame stays under half the window, so no credit is given back before the second.
      [data(Flag.SYN, 1, 100_000), data(0, 1, 200_000)],
      ReceiveWindowExceededError,
      { streamId: 1, length: 200_000, window: INITIAL_STREAM_WINDOW - 100_000 },
    ],
    [
      'a window update overflowing 32 bits',
      [data(Flag.SYN, 1, 1), frame(1, 0, 1, 0xffff_ffff)],
      WindowOverflowError,
      { streamId: 1, window: INITIAL_STREAM_WINDOW, delta: 0xffff_ffff },
    ],
    [
      "a SYN with the listener's parity",
      [data(Flag.SYN, 2, 1)],
      StreamIdError,
      { streamId: 2, problem: 'parity' },
    ],
    [
      'a SYN reusing an id',
      [data(Flag.SYN, 3, 1), data(Flag.SYN, 1, 1)],
      StreamIdError,
      { streamId: 1, problem: 'reused' },
    ],
    ['a data frame on the session id', [data(0, 0, 1)], StreamIdError, { streamId: 0, problem: 'zero' }],
    [
      'a frame for a stream never opened',
      [frame(1, 0, 5, 10)],
      StreamIdError,
      { streamId: 5, problem: 'unopened' },
    ],
    [
      'data after its FIN',
      [data(Flag.SYN | Flag.FIN, 1, 1), data(0, 1, 1)],
      StreamIdError,
      { streamId: 1, problem: 'after-fin' },
    ],
    [
      'a ping answer to no ping',
      [frame(FrameType.Ping, Flag.ACK, 0, 99)],
      UnexpectedPongError,
      { opaque: 99 },
    ],
    [
      'a ping flood',
      Array.from({ length: 5 }, (_, i) => frame(FrameType.Ping, Flag.SYN, 0, i)),
      PingFloodError,
      { pings: 5, limit: 4 },
    ],
  ]

  it.each(
    cases,
  )('sending %s is refused with a typed error and a go-away (protocol error)', async (_, frames, type, fields) => {
    const { error, goAway, muxer: m } = await abortedBy({ maxPingsPerTurn: 4 }, ...frames)
    expect(error).toBeInstanceOf(type)
    expect(error).toMatchObject({ ...fields, code: 1 })
    expect(goAway).toBe(1)
    expect(m.status).toBe('closed')
  })

  it('pings up to the limit in one turn are all answered, in one write', async () => {
    const h = hostile({ maxPingsPerTurn: 4 })
    write(h.raw, ...Array.from({ length: 4 }, (_, i) => frame(FrameType.Ping, Flag.SYN, 0, i + 10)))
    await sleep(10)
    expect(h.m.status).toBe('open')
    expectMessage(
      h.received[0],
      [10, 11, 12, 13].map((length) => ({ type: 'Ping', flags: Flag.ACK, streamId: 0, length })),
    )
  })

  it('streams past maxInboundStreams are reset, and the connection stays up', async () => {
    const h = hostile({ maxInboundStreams: 3 })
    write(h.raw, ...[1, 3, 5, 7, 9].map((id) => data(Flag.SYN, id, 4)), data(0, 9, 4))
    await sleep(10)
    expect(h.streams.map((s) => s.id)).toEqual(['1', '3', '5'])
    const resets = framesOf(h.received).filter((f) => (f.header.flags & Flag.RST) !== 0)
    expect(resets.map((f) => f.header.streamId)).toEqual([7, 9])
    expect(h.m.status).toBe('open')
  })

  it('a go-away with an error code aborts the session with RemoteGoAwayError, and none is sent back', async () => {
    const { error, goAway } = await abortedBy({}, frame(FrameType.GoAway, 0, 0, 2))
    expect(error).toBeInstanceOf(RemoteGoAwayError)
    expect(error).toMatchObject({ code: 2 })
    expect(goAway).toBeUndefined()
  })

  it('a remote that never answers the keep-alive ping is dropped with KeepAliveTimeoutError', async () => {
    const h = hostile({ enableKeepAlive: true, keepAliveInterval: 30 })
    const error = await h.closed
    expect(error).toBeInstanceOf(KeepAliveTimeoutError)
    expect(error).toMatchObject({ intervalMs: 30 })
    expect(framesOf(h.received).filter((f) => f.header.type === FrameType.Ping)).toHaveLength(1)
  })

  it('any bytes either pass or end the session with a MuxError, never another throw', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const [, conn] = multiaddrConnectionPair()
        const m = muxer({ enableKeepAlive: false })().createStreamMuxer(conn) as Muxer
        try {
          for (const chunk of chunks) m.onData(chunk)
        } catch (err) {
          expect(err).toBeInstanceOf(MuxError)
        }
        m.abort(new Error('done'))
      }),
      { numRuns: 300 },
    )
  })

  it('any sequence of well-formed frames passes or ends with a MuxError', () => {
    const frameArb = fc
      .record({
        type: fc.constantFrom(0, 1, 2, 3),
        flags: fc.integer({ min: 0, max: 15 }),
        streamId: fc.integer({ min: 0, max: 8 }),
        length: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constant(0xffff_ffff)),
      })
      .map(({ type, flags, streamId, length }) =>
        type === 0 ? data(flags, streamId, Math.min(length, 40)) : frame(type, flags, streamId, length),
      )
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), (frames) => {
        const [, conn] = multiaddrConnectionPair()
        const m = muxer({ enableKeepAlive: false })().createStreamMuxer(conn) as Muxer
        try {
          m.onData(Buffer.concat(frames))
        } catch (err) {
          expect(err).toBeInstanceOf(MuxError)
        }
        m.abort(new Error('done'))
      }),
      { numRuns: 300 },
    )
  })
})
