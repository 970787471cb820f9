/**
 * @provsync/mux: a yamux muxer (`/yamux/1.0.0`, HashiCorp's spec) for libp2p 3 that speaks to any
 * other yamux (chainsafe's, go-yamux) and costs fewer transport writes: window updates only at
 * half the window, and every frame of one event-loop turn in one write.
 */
import type { StreamMuxerFactory, StreamOptions } from '@libp2p/interface'
import {
  DEFAULT_KEEP_ALIVE_INTERVAL_MS,
  DEFAULT_MAX_INBOUND_STREAMS,
  DEFAULT_MAX_OUTBOUND_STREAMS,
  DEFAULT_MAX_PINGS_PER_TURN,
  DEFAULT_MAX_STREAM_WINDOW,
  INITIAL_STREAM_WINDOW,
  PROTOCOL,
} from './constants.js'
import { MuxOptionsError } from './errors.js'
import { Muxer, type ResolvedMuxerInit } from './muxer.js'

export { FrameBatcher, type FrameBatcherInit } from './batch.js'
export {
  DEFAULT_KEEP_ALIVE_INTERVAL_MS,
  DEFAULT_MAX_INBOUND_STREAMS,
  DEFAULT_MAX_OUTBOUND_STREAMS,
  DEFAULT_MAX_PINGS_PER_TURN,
  DEFAULT_MAX_STREAM_WINDOW,
  HEADER_BYTES,
  INITIAL_STREAM_WINDOW,
  MAX_DATA_FRAME_PAYLOAD,
  MAX_TRANSPORT_WRITE,
  PROTOCOL,
} from './constants.js'
export {
  BadFrameTypeError,
  BadVersionError,
  FrameTooLargeError,
  KeepAliveTimeoutError,
  MuxError,
  MuxOptionsError,
  MuxProtocolError,
  PingFloodError,
  ReceiveWindowExceededError,
  RemoteGoAwayError,
  StreamIdError,
  type StreamIdProblem,
  TooManyStreamsError,
  UnexpectedPongError,
  WindowOverflowError,
} from './errors.js'
export {
  decodeHeader,
  encodeHeader,
  Flag,
  type Frame,
  FrameDecoder,
  type FrameHeader,
  FrameType,
  GoAwayCode,
  writeHeader,
} from './frame.js'
export { Muxer, type MuxerStats } from './muxer.js'
export { MuxStream } from './stream.js'

/** Stream options: libp2p's, plus the receive window's ceiling. */
export interface MuxStreamOptions extends StreamOptions {
  /**
   * The largest receive window a stream's auto-tuning may grant. At 256 KiB (the spec's initial
   * window) there is no tuning and no round-trip ping.
   * @default 16 MiB (`DEFAULT_MAX_STREAM_WINDOW`)
   */
  maxStreamWindowSize?: number
}

export interface MuxerInit {
  /**
   * Streams the remote may have open at once; a SYN past it is answered with a reset.
   * @default 1024
   */
  maxInboundStreams?: number
  /**
   * Streams this side may have open at once; `createStream` past it throws `TooManyStreamsError`.
   * @default 1024
   */
  maxOutboundStreams?: number
  /**
   * Inbound streams held before libp2p listens for them; past it the connection is reset.
   * @default 10
   */
  maxEarlyStreams?: number
  /**
   * Ping the remote every `keepAliveInterval`; no answer by the next ping aborts the connection.
   * @default true
   */
  enableKeepAlive?: boolean
  /**
   * @default 30_000 ms
   */
  keepAliveInterval?: number
  /**
   * Ping requests the remote may send in one event-loop turn before it is taken for a flood.
   * @default 64
   */
  maxPingsPerTurn?: number
  /**
   * Options of every stream (window ceiling, read and write buffer bounds).
   * @default {}
   */
  streamOptions?: MuxStreamOptions
}

/** `init` with every default applied; `MuxOptionsError` names an option out of range. */
export function resolveMuxerInit(init: MuxerInit = {}): ResolvedMuxerInit {
  const { maxStreamWindowSize, ...streamOptions } = init.streamOptions ?? {}
  const resolved: ResolvedMuxerInit = {
    maxInboundStreams: init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS,
    maxOutboundStreams: init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS,
    maxEarlyStreams: init.maxEarlyStreams ?? 10,
    enableKeepAlive: init.enableKeepAlive ?? true,
    keepAliveInterval: init.keepAliveInterval ?? DEFAULT_KEEP_ALIVE_INTERVAL_MS,
    maxPingsPerTurn: init.maxPingsPerTurn ?? DEFAULT_MAX_PINGS_PER_TURN,
    maxStreamWindowSize: maxStreamWindowSize ?? DEFAULT_MAX_STREAM_WINDOW,
    streamOptions,
  }
  for (const key of [
    'maxInboundStreams',
    'maxOutboundStreams',
    'keepAliveInterval',
    'maxPingsPerTurn',
  ] as const) {
    if (!Number.isInteger(resolved[key]) || resolved[key] <= 0) {
      throw new MuxOptionsError(key, `must be a positive integer, got ${resolved[key]}`)
    }
  }
  if (
    !Number.isInteger(resolved.maxStreamWindowSize) ||
    resolved.maxStreamWindowSize < INITIAL_STREAM_WINDOW
  ) {
    throw new MuxOptionsError(
      'maxStreamWindowSize',
      `must be an integer of at least ${INITIAL_STREAM_WINDOW}`,
    )
  }
  return resolved
}

/**
 * The muxer for libp2p's `streamMuxers`: `createLibp2p({ streamMuxers: [muxer()] })`. The
 * dialer's side opens odd stream ids, the listener's even ones (from the connection's direction).
 */
export function muxer(init: MuxerInit = {}): () => StreamMuxerFactory<Muxer> {
  const config = resolveMuxerInit(init)
  return () => ({
    protocol: PROTOCOL,
    createStreamMuxer: (maConn) => new Muxer(maConn, config),
  })
}

export type { ResolvedMuxerInit }
