import type { MultiaddrConnection, Stream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { expect } from 'vitest'
import { type Frame, FrameDecoder, type FrameHeader, FrameType } from '../src/index.js'

/** Two muxers over an in-memory connection pair, with the transport writes each side received. */
export interface MuxerPair<A extends StreamMuxer, B extends StreamMuxer> {
  readonly dialer: A
  readonly listener: B
  readonly conns: [MultiaddrConnection, MultiaddrConnection]
  /** Transport writes the dialer made (each a message the listener's connection received). */
  readonly dialerWrites: Uint8ArrayList[]
  /** Transport writes the listener made. */
  readonly listenerWrites: Uint8ArrayList[]
}

/** Copies each transport message as it arrives, so it can be decoded later. */
function recordInbound(conn: MultiaddrConnection, into: Uint8ArrayList[]): void {
  conn.addEventListener('message', (evt) => {
    into.push(new Uint8ArrayList(evt.data.subarray()))
  })
}

export function muxerPair<A extends StreamMuxer, B extends StreamMuxer>(
  dialerFactory: StreamMuxerFactory<A>,
  listenerFactory: StreamMuxerFactory<B>,
  options: { capacity?: number; delay?: number } = {},
): MuxerPair<A, B> {
  // The pair's default capacity (5 queued writes) merges writes under backpressure, which would
  // blur the counts; tests of transport backpressure pass a capacity of their own.
  const conns = multiaddrConnectionPair({ capacity: 1_000_000, ...options })
  const dialerWrites: Uint8ArrayList[] = []
  const listenerWrites: Uint8ArrayList[] = []
  recordInbound(conns[1], dialerWrites)
  recordInbound(conns[0], listenerWrites)
  return {
    dialer: dialerFactory.createStreamMuxer(conns[0]),
    listener: listenerFactory.createStreamMuxer(conns[1]),
    conns,
    dialerWrites,
    listenerWrites,
  }
}

/** Every frame of a sequence of transport writes, in order. */
export function framesOf(writes: readonly Uint8ArrayList[]): Frame[] {
  const decoder = new FrameDecoder(2 ** 32)
  return writes.flatMap((w) => [...decoder.decode(w)])
}

/** The header of a frame as the assertions spell it: the type by name. */
export interface ExpectedFrame {
  readonly type: keyof typeof FrameType
  readonly flags: number
  readonly streamId: number
  readonly length: number
}

const TYPE_NAMES = Object.fromEntries(Object.entries(FrameType).map(([name, value]) => [value, name]))

/**
 * Asserts that one transport write holds exactly `expected`, frame for frame (headers only:
 * type, flags, stream id, length), and nothing else.
 */
export function expectMessage(write: Uint8ArrayList | undefined, expected: readonly ExpectedFrame[]): void {
  expect(write, 'no such transport write').toBeDefined()
  const decoder = new FrameDecoder(2 ** 32)
  const frames = [...decoder.decode(write!)]
  expect(decoder.bufferedBytes, 'a partial frame at the end of the write').toBe(0)
  expect(frames.map((f) => named(f.header))).toEqual(expected)
}

function named(header: FrameHeader): ExpectedFrame {
  return {
    type: TYPE_NAMES[header.type] as keyof typeof FrameType,
    flags: header.flags,
    streamId: header.streamId,
    length: header.length,
  }
}

/** Resolves after `ms` (a real timer: the in-memory pair delivers on timers). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The next inbound stream of `muxer`. */
export function nextStream(muxer: StreamMuxer): Promise<Stream> {
  return new Promise((resolve) => {
    muxer.addEventListener('stream', (evt) => resolve(evt.detail), { once: true })
  })
}

/** Reads `stream` to its end and returns the bytes. */
export async function readAll(stream: Stream): Promise<Uint8Array> {
  const out = new Uint8ArrayList()
  for await (const chunk of stream) out.append(chunk)
  return out.subarray()
}

/** Bytes 0..n-1 mod 251, so a misordered or lost chunk shows. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i + seed) % 251
  return out
}

/** What `fn` throws (fails the test when it does not throw). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  expect.fail('expected a throw')
}

/** Byte equality without vitest's element-by-element diff (slow on megabytes). */
export function expectBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.byteLength).toBe(want.byteLength)
  expect(Buffer.compare(got, want), 'bytes differ').toBe(0)
}
