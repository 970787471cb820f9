import type { AbortOptions, CreateStreamOptions, MessageStream, StreamOptions } from '@libp2p/interface'
import { MuxerClosedError } from '@libp2p/interface'
import { AbstractStreamMuxer } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
import { FrameBatcher } from './batch.js'
import { INITIAL_STREAM_WINDOW, MAX_TRANSPORT_WRITE, PROTOCOL } from './constants.js'
import {
  KeepAliveTimeoutError,
  MuxProtocolError,
  PingFloodError,
  RemoteGoAwayError,
  StreamIdError,
  TooManyStreamsError,
  UnexpectedPongError,
} from './errors.js'
import { Flag, type Frame, FrameDecoder, type FrameHeader, FrameType, GoAwayCode } from './frame.js'
import { MuxStream, type StreamHost } from './stream.js'

/** The muxer's options with every default applied (see `MuxerInit` in index.ts). */
export interface ResolvedMuxerInit {
  readonly maxInboundStreams: number
  readonly maxOutboundStreams: number
  readonly maxEarlyStreams: number
  readonly enableKeepAlive: boolean
  readonly keepAliveInterval: number
  readonly maxPingsPerTurn: number
  readonly maxStreamWindowSize: number
  readonly streamOptions: StreamOptions
}

/** Counts of one muxer's traffic, for tests and probes. */
export interface MuxerStats {
  /** Transport writes (over noise: noise messages) this muxer made. */
  readonly writes: number
  /** Frames it wrote. */
  readonly framesOut: number
  /** Frames it read. */
  readonly framesIn: number
}

/**
 * A yamux session over one connection: stream ids (odd for the dialer, even for the listener),
 * the stream limits, pings and go-away. Frames go out through a `FrameBatcher`, one transport
 * write per turn of the event loop.
 */
export class Muxer extends AbstractStreamMuxer<MuxStream> implements StreamHost {
  rttMs = 0
  transportFull = false
  private readonly config: ResolvedMuxerInit
  /** The encrypted connection under the muxer (our own reference: the base class's is protected). */
  private readonly connection: MessageStream
  private readonly decoder: FrameDecoder
  private readonly batcher: FrameBatcher
  private readonly byId = new Map<number, MuxStream>()
  private readonly opening = new Set<MuxStream>()
  private readonly local = { nextId: 0, open: 0 }
  private readonly remote = { highestId: 0, open: 0 }
  private readonly pings = new Map<number, number>()
  private nextPing = 1
  private pingsThisTurn = 0
  private framesIn = 0
  private goAwaySent = false
  private remoteGoAway: number | undefined
  private keepAlive: ReturnType<typeof setInterval> | undefined
  private keepAlivePing: number | undefined
  private openingTimer: ReturnType<typeof setImmediate> | undefined

  constructor(maConn: MessageStream, config: ResolvedMuxerInit) {
    super(maConn, { protocol: PROTOCOL, name: 'mux', maxEarlyStreams: config.maxEarlyStreams })
    this.config = config
    this.connection = maConn
    this.local.nextId = maConn.direction === 'outbound' ? 1 : 2
    this.decoder = new FrameDecoder(Math.max(config.maxStreamWindowSize, INITIAL_STREAM_WINDOW))
    this.batcher = new FrameBatcher({
      maxWrite: MAX_TRANSPORT_WRITE,
      sink: (data) => this.sendToTransport(data),
      beforeFlush: () => this.beforeFlush(),
    })
    maConn.addEventListener('drain', () => {
      this.transportFull = false
    })
    // The round trip feeds window auto-tuning only: no ping when the window cannot grow.
    if (config.maxStreamWindowSize > INITIAL_STREAM_WINDOW) this.ping()
    if (config.enableKeepAlive) this.startKeepAlive()
  }

  get stats(): MuxerStats {
    return { writes: this.batcher.writes, framesOut: this.batcher.frames, framesIn: this.framesIn }
  }

  writeFrame(header: FrameHeader, payload?: Uint8ArrayList): void {
    if (this.status === 'closed') return
    this.batcher.write(header, payload)
  }

  /**
   * `options.protocol` is not passed on: yamux cannot pre-negotiate a protocol, and a stream whose
   * `protocol` is set skips multistream-select in libp2p.
   */
  override onCreateStream({ protocol: _, signal: __, ...options }: CreateStreamOptions): MuxStream {
    if (this.remoteGoAway !== undefined) throw new RemoteGoAwayError(this.remoteGoAway)
    if (this.goAwaySent) throw new MuxerClosedError('the muxer sent go-away')
    if (this.local.open >= this.config.maxOutboundStreams) {
      throw new TooManyStreamsError('outbound', this.config.maxOutboundStreams)
    }
    const id = this.local.nextId
    this.local.nextId += 2
    return this.newStream(id, 'outbound', options)
  }

  override onData(data: Uint8Array | Uint8ArrayList): void {
    for (const frame of this.decoder.decode(data)) {
      this.framesIn++
      this.onFrame(frame)
    }
  }

  override async close(options?: AbortOptions): Promise<void> {
    if (this.status !== 'open') return
    try {
      await super.close(options)
    } finally {
      this.sendGoAway(GoAwayCode.Normal)
      this.shutdown()
    }
  }

  override abort(err: Error): void {
    if (this.status === 'closed') return
    super.abort(err)
    this.sendGoAway(err instanceof MuxProtocolError ? err.code : GoAwayCode.InternalError)
    this.shutdown()
  }

  override onTransportClosed(err?: Error): void {
    this.goAwaySent = true
    this.shutdown()
    super.onTransportClosed(err)
  }

  /** Sends a ping; its answer measures the round trip. Returns the ping's opaque value. */
  ping(): number {
    const opaque = this.nextPing
    this.nextPing = (this.nextPing + 1) >>> 0 || 1
    this.pings.set(opaque, performance.now())
    this.writeFrame({ type: FrameType.Ping, flags: Flag.SYN, streamId: 0, length: opaque })
    return opaque
  }

  private onFrame({ header, payload }: Frame): void {
    if (header.type === FrameType.Ping) this.onPing(header)
    else if (header.type === FrameType.GoAway) this.onGoAway(header.length)
    else this.onStreamFrame(header, payload)
  }

  private onStreamFrame(header: FrameHeader, payload: Uint8ArrayList | undefined): void {
    const id = header.streamId
    if (id === 0) throw new StreamIdError(id, 'zero')
    const syn = (header.flags & Flag.SYN) !== 0
    const stream = syn ? this.accept(id) : this.byId.get(id)
    if (stream !== undefined) {
      stream.receive(header, payload)
      return
    }
    // A frame for a stream closed here (a reset crossing the remote's frames) is dropped; a frame
    // for an id never opened is a protocol error.
    const neverOpened = this.isLocalId(id) ? id >= this.local.nextId : id > this.remote.highestId
    if (neverOpened && !syn) throw new StreamIdError(id, 'unopened')
  }

  /** A remote SYN: the new stream, or undefined when refused (over the limit, or after go-away). */
  private accept(id: number): MuxStream | undefined {
    if (this.isLocalId(id)) throw new StreamIdError(id, 'parity')
    if (id <= this.remote.highestId) throw new StreamIdError(id, 'reused')
    this.remote.highestId = id
    if (this.goAwaySent || this.remote.open >= this.config.maxInboundStreams) {
      this.log('refusing inbound stream %d: %d open, go-away sent %s', id, this.remote.open, this.goAwaySent)
      this.writeFrame({ type: FrameType.WindowUpdate, flags: Flag.RST, streamId: id, length: 0 })
      return undefined
    }
    const stream = this.newStream(id, 'inbound', {})
    this.onRemoteStream(stream)
    return stream
  }

  private newStream(id: number, direction: 'inbound' | 'outbound', options: StreamOptions): MuxStream {
    const counts = direction === 'inbound' ? this.remote : this.local
    const stream = new MuxStream({
      ...this.config.streamOptions,
      ...options,
      id: `${id}`,
      streamId: id,
      direction,
      log: this.log.newScope(`${direction}:${id}`),
      host: this,
      maxWindow: this.config.maxStreamWindowSize,
      openingFlag: direction === 'inbound' ? Flag.ACK : Flag.SYN,
    })
    counts.open++
    this.byId.set(id, stream)
    this.opening.add(stream)
    this.scheduleOpenings()
    stream.addEventListener('close', () => {
      counts.open--
      this.byId.delete(id)
      this.opening.delete(stream)
    })
    return stream
  }

  private onPing(header: FrameHeader): void {
    if ((header.flags & Flag.SYN) !== 0) {
      if (++this.pingsThisTurn > this.config.maxPingsPerTurn) {
        throw new PingFloodError(this.pingsThisTurn, this.config.maxPingsPerTurn)
      }
      this.writeFrame({ type: FrameType.Ping, flags: Flag.ACK, streamId: 0, length: header.length })
      return
    }
    const sentAt = this.pings.get(header.length)
    if (sentAt === undefined) throw new UnexpectedPongError(header.length)
    this.pings.delete(header.length)
    if (this.keepAlivePing === header.length) this.keepAlivePing = undefined
    this.rttMs = Math.max(performance.now() - sentAt, Number.MIN_VALUE)
  }

  private onGoAway(code: number): void {
    this.remoteGoAway = code
    if (code !== GoAwayCode.Normal) throw new RemoteGoAwayError(code)
  }

  private isLocalId(id: number): boolean {
    return id % 2 === this.local.nextId % 2
  }

  /**
   * A new stream's SYN (or ACK) rides on its first frame. libp2p writes a stream's first bytes
   * (multistream-select) a few microtasks after `createStream` resolves, so the fallback, a window
   * update of its own for a stream that wrote nothing, waits for the next macrotask, not the flush.
   */
  private scheduleOpenings(): void {
    if (this.openingTimer !== undefined) return
    this.openingTimer = setImmediate(() => {
      this.openingTimer = undefined
      for (const stream of this.opening) stream.sendOpening()
      this.opening.clear()
    })
  }

  private beforeFlush(): void {
    this.pingsThisTurn = 0
  }

  private sendToTransport(data: Uint8ArrayList): void {
    if (this.connection.status !== 'open') return
    try {
      if (!this.send(data)) this.transportFull = true
    } catch (err) {
      // The connection closed its write side under us: nothing more can go out.
      this.log('dropping %d bytes for a closed connection - %e', data.byteLength, err)
    }
  }

  private sendGoAway(code: number): void {
    if (this.goAwaySent || this.remoteGoAway !== undefined) return
    this.goAwaySent = true
    this.batcher.write({ type: FrameType.GoAway, flags: 0, streamId: 0, length: code })
    this.batcher.flush()
  }

  private startKeepAlive(): void {
    this.keepAlive = setInterval(() => {
      if (this.keepAlivePing !== undefined) {
        const err = new KeepAliveTimeoutError(this.config.keepAliveInterval)
        this.abort(err)
        this.connection.abort(err)
        return
      }
      this.keepAlivePing = this.ping()
    }, this.config.keepAliveInterval)
    this.keepAlive.unref?.()
  }

  private shutdown(): void {
    clearInterval(this.keepAlive)
    this.keepAlive = undefined
    clearImmediate(this.openingTimer)
    this.openingTimer = undefined
  }
}
