import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream, StreamMuxer } from '@libp2p/interface'
import { StreamResetError } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import {
  Flag,
  FrameType,
  INITIAL_STREAM_WINDOW,
  MAX_DATA_FRAME_PAYLOAD,
  MAX_TRANSPORT_WRITE,
  type Muxer,
  muxer,
  RemoteGoAwayError,
  TooManyStreamsError,
} from '../src/index.js'
import {
  expectBytes,
  expectMessage,
  framesOf,
  muxerPair,
  nextStream,
  pattern,
  readAll,
  sleep,
} from './helpers.js'

/** Our muxer without keep-alive; the window fixed at 256 KiB unless a test asks (no round-trip ping). */
const ours = (init: Parameters<typeof muxer>[0] = {}) =>
  muxer({ enableKeepAlive: false, streamOptions: { maxStreamWindowSize: INITIAL_STREAM_WINDOW }, ...init })()

/** Echoes every inbound stream of `m` back to its opener and closes. */
function echo(m: StreamMuxer): void {
  m.addEventListener('stream', (evt) => {
    const s = evt.detail
    void (async () => {
      for await (const chunk of s) if (!s.send(chunk)) await s.onDrain()
      await s.close()
    })()
  })
}

async function roundTrip(m: StreamMuxer, data: Uint8Array): Promise<Uint8Array> {
  const s = await m.createStream()
  const reply = readAll(s)
  for (let i = 0; i < data.length; i += 100_000) {
    if (!s.send(data.subarray(i, i + 100_000))) await s.onDrain()
  }
  await s.close()
  return reply
}

describe('two muxers over a connection pair', () => {
  it('opens with SYN on the first data frame and answers with ACK on the first reply frame', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    echo(p.listener)
    expect(await roundTrip(p.dialer, pattern(100))).toEqual(pattern(100))
    await sleep(5)
    expectMessage(p.dialerWrites[0], [
      { type: 'Data', flags: Flag.SYN, streamId: 1, length: 100 },
      { type: 'WindowUpdate', flags: Flag.FIN, streamId: 1, length: 0 },
    ])
    expectMessage(p.listenerWrites[0], [{ type: 'Data', flags: Flag.ACK, streamId: 1, length: 100 }])
    expectMessage(p.listenerWrites[1], [{ type: 'WindowUpdate', flags: Flag.FIN, streamId: 1, length: 0 }])
    expect(p.dialerWrites).toHaveLength(1)
    expect(p.dialer.streams).toHaveLength(0)
    expect(p.listener.streams).toHaveLength(0)
  })

  it('never claims a pre-negotiated protocol (libp2p would skip multistream-select)', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    const s = await p.dialer.createStream({ protocol: '/x/1.0.0' })
    expect(s.protocol).toBe('')
  })

  it('a stream that writes nothing still reaches the remote (SYN in a window update of its own)', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    const inbound = nextStream(p.listener)
    const s = await p.dialer.createStream()
    const r = await inbound
    expect(r.direction).toBe('inbound')
    expectMessage(p.dialerWrites[0], [{ type: 'WindowUpdate', flags: Flag.SYN, streamId: 1, length: 0 }])
    r.send(pattern(3))
    const got = readAll(s)
    await r.close()
    await s.close()
    expect(await got).toEqual(pattern(3))
  })

  it('carries many streams both ways at once, each intact', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    echo(p.listener)
    echo(p.dialer)
    const sizes = Array.from({ length: 40 }, (_, i) => 1 + i * 7919)
    const results = await Promise.all([
      ...sizes.map((n, i) => roundTrip(p.dialer, pattern(n, i))),
      ...sizes.map((n, i) => roundTrip(p.listener, pattern(n, i + 1))),
    ])
    results.forEach((got, i) => {
      expectBytes(got, pattern(sizes[i % 40]!, i < 40 ? i : i - 40 + 1))
    })
    const ids = new Set(framesOf(p.dialerWrites).map((f) => f.header.streamId))
    expect([...ids].filter((id) => id % 2 === 1)).toHaveLength(40)
    expect([...ids].filter((id) => id !== 0 && id % 2 === 0)).toHaveLength(40)
  })

  it('gathers frames of one turn into one write, never larger than a noise message', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    const inbound: Stream[] = []
    p.listener.addEventListener('stream', (evt) => inbound.push(evt.detail))
    const streams = await Promise.all(Array.from({ length: 10 }, () => p.dialer.createStream()))
    for (const s of streams) s.send(pattern(10))
    await sleep(5)
    expect(p.dialerWrites).toHaveLength(1)
    expect(framesOf(p.dialerWrites)).toHaveLength(10)
    for (const s of streams) s.send(pattern(20_000))
    await sleep(5)
    expect(p.dialerWrites.length).toBeGreaterThan(3)
    for (const w of p.dialerWrites) expect(w.byteLength).toBeLessThanOrEqual(MAX_TRANSPORT_WRITE)
    expect(inbound).toHaveLength(10)
  })

  it('moves writes far past the window, with and without auto-tuning', async () => {
    for (const maxStreamWindowSize of [INITIAL_STREAM_WINDOW, 16 * 1024 * 1024]) {
      const p = muxerPair<Muxer, Muxer>(
        ours({ streamOptions: { maxStreamWindowSize } }),
        ours({ streamOptions: { maxStreamWindowSize } }),
      )
      echo(p.listener)
      const data = pattern(3 * 1024 * 1024 + 17)
      expectBytes(await roundTrip(p.dialer, data), data)
      for (const w of [...p.dialerWrites, ...p.listenerWrites])
        expect(w.byteLength).toBeLessThanOrEqual(MAX_TRANSPORT_WRITE)
    }
  })

  it('sends data frames of a quarter of the window, over writes of one noise message each', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    const inbound = nextStream(p.listener)
    const s = await p.dialer.createStream()
    const data = pattern(INITIAL_STREAM_WINDOW, 9)
    s.send(data)
    const r = await inbound
    const messages: number[] = []
    r.addEventListener('message', (evt) => messages.push(evt.data.byteLength))
    await sleep(10)
    // A quarter of the 256 KiB window per frame, so the remote's half-window credit comes back
    // while the second half is on the way. Until session 14: frames of one noise message,
    // [65,507 × 4, 116], five messages for the reader.
    const quarter = INITIAL_STREAM_WINDOW / 4
    const lengths = framesOf(p.dialerWrites)
      .filter((f) => f.header.type === FrameType.Data)
      .map((f) => f.header.length)
    expect(lengths).toEqual([quarter, quarter, quarter, quarter])
    expect(messages).toEqual([quarter, quarter, quarter, quarter])
    // Frames run on across writes: 4 × (12 + 65,536) bytes in five writes of at most 65,519.
    expect(p.dialerWrites).toHaveLength(Math.ceil((4 * (quarter + 12)) / MAX_TRANSPORT_WRITE))
    for (const w of p.dialerWrites) expect(w.byteLength).toBeLessThanOrEqual(MAX_TRANSPORT_WRITE)
  })

  it('grows data frames with the window up to 1 MiB, and the reader gets one message per frame', async () => {
    const big = { streamOptions: { maxStreamWindowSize: 16 * 1024 * 1024 } }
    const p = muxerPair<Muxer, Muxer>(ours(big), ours(big))
    await sleep(10)
    // A round trip this long makes every window update "busy": the window doubles at each.
    p.listener.rttMs = 1e9
    const inbound = nextStream(p.listener)
    const s = await p.dialer.createStream()
    const data = pattern(16 * 1024 * 1024, 5)
    s.send(data.subarray(0, 1))
    const r = await inbound
    const messages: Uint8Array[] = []
    r.addEventListener('message', (evt) => messages.push(evt.data.subarray()))
    const ended = new Promise((resolve) => r.addEventListener('remoteCloseWrite', resolve))
    for (let i = 1; i < data.length; i += 1024 * 1024) {
      if (!s.send(data.subarray(i, i + 1024 * 1024))) await s.onDrain()
    }
    await s.close()
    await ended
    const got = new Uint8Array(data.length)
    let at = 0
    for (const m of messages) {
      got.set(m, at)
      at += m.byteLength
    }
    expectBytes(got, data)
    const lengths = framesOf(p.dialerWrites)
      .filter((f) => f.header.type === FrameType.Data)
      .map((f) => f.header.length)
    expect(Math.max(...lengths)).toBe(MAX_DATA_FRAME_PAYLOAD)
    // Frames of one noise message (until session 14) were 257 frames for 16 MiB.
    expect(lengths.length).toBeLessThan(64)
    expect(messages.length).toBe(lengths.length)
    for (const w of p.dialerWrites) expect(w.byteLength).toBeLessThanOrEqual(MAX_TRANSPORT_WRITE)
  })

  it('waits for a saturated connection to drain and still delivers everything', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours(), { capacity: 2 })
    echo(p.listener)
    const data = pattern(1024 * 1024 + 5)
    const results = await Promise.all([roundTrip(p.dialer, data), roundTrip(p.dialer, pattern(70_000, 3))])
    expectBytes(results[0]!, data)
    expectBytes(results[1]!, pattern(70_000, 3))
  })

  it('sends a window update only once half the window was read', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    const inbound = nextStream(p.listener)
    const s = await p.dialer.createStream()
    s.send(pattern(INITIAL_STREAM_WINDOW / 2 - 1))
    const r = await inbound
    const got = readAll(r)
    await sleep(10)
    const updates = () => framesOf(p.listenerWrites).filter((f) => f.header.type === 1 && f.header.length > 0)
    expect(updates()).toHaveLength(0)
    s.send(pattern(1))
    await sleep(10)
    expect(updates().map((f) => f.header.length)).toEqual([INITIAL_STREAM_WINDOW / 2])
    await s.close()
    expect((await got).length).toBe(INITIAL_STREAM_WINDOW / 2)
  })

  it('holds a writer at the window while the reader is paused, and releases it on resume', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    const inbound = nextStream(p.listener)
    const s = await p.dialer.createStream()
    s.send(pattern(1))
    const r = await inbound
    r.pause()
    let accepted = 0
    while (s.send(pattern(32 * 1024))) accepted++
    await sleep(20)
    expect(accepted).toBeLessThan(INITIAL_STREAM_WINDOW / (32 * 1024))
    expect(r.readBufferLength).toBe(INITIAL_STREAM_WINDOW)
    const drained = s.onDrain()
    const got = readAll(r)
    r.resume()
    await drained
    await s.close()
    expect((await got).length).toBe(1 + (accepted + 1) * 32 * 1024)
  })

  it('gives credit for bytes received while the reader is busy but not paused', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    const inbound = nextStream(p.listener)
    const s = await p.dialer.createStream()
    s.send(pattern(1))
    const r = await inbound
    // Nobody reads yet: the bytes wait in the read buffer, and the window is still given back.
    for (let i = 0; i < 16; i++) s.send(pattern(32 * 1024))
    await sleep(20)
    expect(r.readBufferLength).toBe(1 + 16 * 32 * 1024)
    expect(r.readBufferLength).toBeGreaterThan(INITIAL_STREAM_WINDOW)
    const got = readAll(r)
    await s.close()
    expect((await got).length).toBe(1 + 16 * 32 * 1024)
  })

  it('half-closes: the closed writer still reads the answer', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    // The reader attaches in the 'stream' event: the data and the FIN arrive in one write.
    const inbound = new Promise<[Stream, Promise<Uint8Array>]>((resolve) => {
      p.listener.addEventListener('stream', (evt) => resolve([evt.detail, readAll(evt.detail)]), {
        once: true,
      })
    })
    const s = await p.dialer.createStream()
    s.send(pattern(5))
    await s.close()
    expect(s.writeStatus).toBe('closed')
    const [r, request] = await inbound
    expect(await request).toEqual(pattern(5))
    r.send(pattern(7))
    const answer = readAll(s)
    await r.close()
    expect(await answer).toEqual(pattern(7))
    await sleep(5)
    expect(s.status).toBe('closed')
    expect(r.status).toBe('closed')
  })

  it('resets: an abort on one side closes the other with a reset error', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    const inbound = nextStream(p.listener)
    const s = await p.dialer.createStream()
    s.send(pattern(5))
    const r = await inbound
    const closed = new Promise<Event & { error?: Error }>((resolve) => r.addEventListener('close', resolve))
    s.abort(new Error('local failure'))
    const evt = await closed
    expect(evt.error).toBeInstanceOf(StreamResetError)
    expect(r.status).toBe('reset')
    expect(framesOf(p.dialerWrites).some((f) => (f.header.flags & Flag.RST) !== 0)).toBe(true)
    expect(p.listener.streams).toHaveLength(0)
    expect(p.dialer.streams).toHaveLength(0)
  })

  it('go-away: after the remote closes, new streams are refused with RemoteGoAwayError', async () => {
    const p = muxerPair<Muxer, Muxer>(ours(), ours())
    echo(p.listener)
    expect(await roundTrip(p.dialer, pattern(10))).toEqual(pattern(10))
    await p.listener.close()
    await sleep(5)
    expect(framesOf(p.listenerWrites).at(-1)?.header).toEqual({ type: 3, flags: 0, streamId: 0, length: 0 })
    await expect(p.dialer.createStream()).rejects.toBeInstanceOf(RemoteGoAwayError)
  })

  it('refuses createStream past maxOutboundStreams, and resets a remote SYN past maxInboundStreams', async () => {
    const p = muxerPair<Muxer, Muxer>(ours({ maxOutboundStreams: 3 }), ours({ maxInboundStreams: 2 }))
    const inbound: Stream[] = []
    p.listener.addEventListener('stream', (evt) => inbound.push(evt.detail))
    const streams = await Promise.all([1, 2, 3].map(() => p.dialer.createStream()))
    const err = await p.dialer.createStream().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TooManyStreamsError)
    expect(err).toMatchObject({ direction: 'outbound', limit: 3 })
    for (const s of streams) s.send(pattern(1))
    await sleep(10)
    expect(inbound).toHaveLength(2)
    expect(streams[2]!.status).toBe('reset')
    expect(streams[0]!.status).toBe('open')
  })
})

describe('keep-alive and round trip', () => {
  it('answered keep-alive pings keep the session up and measure the round trip', async () => {
    const live = () => muxer({ keepAliveInterval: 20 })()
    const p = muxerPair<Muxer, Muxer>(live(), live())
    await sleep(120)
    expect(p.dialer.status).toBe('open')
    expect(p.listener.status).toBe('open')
    expect(p.dialer.rttMs).toBeGreaterThan(0)
    const pings = framesOf(p.dialerWrites).filter((f) => f.header.type === 2 && f.header.flags === Flag.SYN)
    expect(pings.length).toBeGreaterThanOrEqual(3)
    await p.dialer.close()
    await p.listener.close()
  })
})

describe('transport writes per request/response, against @chainsafe/libp2p-yamux', () => {
  /** Writes both sides make for `rounds` request/response exchanges on one stream. */
  async function writesFor(factory: () => ReturnType<typeof ours>, rounds: number): Promise<number> {
    const p = muxerPair<StreamMuxer, StreamMuxer>(factory(), factory())
    p.listener.addEventListener('stream', (evt) => {
      const r = evt.detail
      r.addEventListener('message', (m) => r.send(m.data))
      r.addEventListener('remoteCloseWrite', () => void r.close())
    })
    const s = await p.dialer.createStream()
    for (let i = 0; i < rounds; i++) {
      const answered = new Promise((resolve) => s.addEventListener('message', resolve, { once: true }))
      s.send(pattern(200, i))
      await answered
    }
    await s.close()
    await sleep(10)
    return p.dialerWrites.length + p.listenerWrites.length
  }

  it('costs fewer writes with ours than with chainsafe', async () => {
    const chainsafe = () => yamux({ enableKeepAlive: false })() as unknown as ReturnType<typeof ours>
    const theirs = await writesFor(chainsafe, 20)
    const mine = await writesFor(() => ours(), 20)
    // Ours: one data frame per message, the SYN and ACK ride on data, FINs alone at the end.
    // Measured: 42 against chainsafe's 83 (a window update answers each of its data frames).
    expect(mine).toBe(42)
    expect(mine).toBeLessThan(theirs)
  })
})
