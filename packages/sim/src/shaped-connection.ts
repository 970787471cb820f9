/**
 * One end of a connection on sim's memory network: a libp2p MultiaddrConnection built on
 * @libp2p/utils' public AbstractMultiaddrConnection, whose `sendData` (the method a transport
 * implements) shapes what this end sends to the other: delay, and loss as a reliable transport
 * shows it (see links.ts). Both ends live in one process; a chunk reaches the other end's
 * `onData` in a microtask, as @libp2p/memory's pipe hands it over asynchronously.
 */
import { StreamResetError } from '@libp2p/interface'
import {
  AbstractMultiaddrConnection,
  type AbstractMultiaddrConnectionInit,
  type SendResult,
} from '@libp2p/utils'
import type { LinkFault } from './faults.js'
import type { Rng } from './prng.js'

/** The first retransmission timeout of a lost chunk: Linux's minimum RTO. */
export const INITIAL_RTO_MS = 200

/**
 * Retransmissions of one chunk before the connection is reset. Linux retries for minutes
 * (tcp_retries2 = 15); a simulation of seconds gives up after a few seconds instead, so a dead
 * link shows up as a reset within one run while 30 % loss still resets rarely (0.3^5 per chunk).
 */
export const MAX_RETRANSMISSIONS = 4

/** What loss did to one link (both directions, every connection), for the run report. */
export interface LinkCounters {
  /** The two ends, peer ids in sorted order. */
  readonly peers: readonly [string, string]
  /** Chunks handed to the link. */
  chunks: number
  /** Transmissions lost, retransmissions included. */
  lost: number
  retransmitted: number
  /** Connections reset because a chunk was lost on every transmission. */
  resets: number
}

/** What one direction of a connection needs from the network. */
export interface LinkDirection {
  /** Peer ids of this end and of the other. */
  readonly local: string
  readonly remote: string
  /** The fault on the link from `local` to `remote`, as it is now. */
  fault(): LinkFault
  readonly counters: LinkCounters
  /** This direction's own loss draws. */
  readonly losses: Rng
  /** Counts bytes handed to the other end. */
  delivered(bytes: number): void
  /** A chunk was lost on every transmission: the network resets the connection (both ends). */
  giveUp(end: ShapedConnection, lossPct: number): void
}

type Data = Parameters<AbstractMultiaddrConnection['sendData']>[0]
type Chunk = { readonly data: Data; arrived: boolean }

/**
 * What an end hands its chunks, its close and its reset to: the other {@link ShapedConnection}
 * in this thread, or a {@link PortPeer} posting them to the other end in another thread.
 */
export interface PeerEnd {
  onData(data: Uint8Array | Data): void
  onTransportClosed(): void
  abort(err: Error): void
}

export class ShapedConnection extends AbstractMultiaddrConnection {
  /** The other end; set once both ends exist. */
  peer: PeerEnd | undefined
  private readonly link: LinkDirection
  /** Chunks sent and not yet delivered, in the order sent. */
  private readonly queue: Chunk[] = []
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()
  /** Waiting for the queue to empty (a graceful close goes out after everything sent before it). */
  private readonly idle: (() => void)[] = []
  private ended = false

  constructor(init: AbstractMultiaddrConnectionInit, link: LinkDirection) {
    super(init)
    this.link = link
    this.addEventListener('close', () => this.end())
  }

  /** Stops shaping: timers cleared, undelivered chunks dropped, close waiters released. */
  private end(): void {
    this.ended = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.queue.length = 0
    for (const resolve of this.idle.splice(0)) resolve()
  }

  private after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (!this.ended) run()
    }, ms)
    this.timers.add(timer)
  }

  /** Hands `data` to the other end, counted as received there. */
  private pass(data: Data): void {
    this.link.delivered(data.byteLength)
    const peer = this.peer
    queueMicrotask(() => peer?.onData(data))
  }

  /** In order: a chunk that arrived waits for every chunk sent before it. */
  private deliver(): void {
    while (this.queue[0]?.arrived === true) this.pass(this.queue.shift()!.data)
    if (this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve()
  }

  /** Each transmission meets the link as it is then, so a link that heals stops losing. */
  private transmit(chunk: Chunk, retransmissions: number): void {
    const { counters } = this.link
    const fault = this.link.fault()
    if (fault.lossPct > 0 && this.link.losses.chance(fault.lossPct / 100)) {
      counters.lost++
      const rto = INITIAL_RTO_MS * 2 ** retransmissions
      if (retransmissions === MAX_RETRANSMISSIONS) {
        this.after(rto, () => {
          counters.resets++
          this.end()
          this.link.giveUp(this, fault.lossPct)
        })
      } else {
        this.after(rto, () => {
          counters.retransmitted++
          this.transmit(chunk, retransmissions + 1)
        })
      }
    } else if (fault.delayMs > 0) {
      this.after(fault.delayMs, () => {
        chunk.arrived = true
        this.deliver()
      })
    } else {
      chunk.arrived = true
      this.deliver()
    }
  }

  sendData(data: Data): SendResult {
    this.link.counters.chunks++
    const fault = this.queue.length === 0 ? this.link.fault() : undefined
    if (fault !== undefined && fault.lossPct === 0 && fault.delayMs === 0) this.pass(data)
    else {
      const chunk: Chunk = { data, arrived: false }
      this.queue.push(chunk)
      this.transmit(chunk, 0)
    }
    return { sentBytes: data.byteLength, canSendMore: true }
  }

  /** Closes both ends once everything sent before is delivered, as @libp2p/memory's pipe does. */
  async sendClose(options?: { signal?: AbortSignal }): Promise<void> {
    if (this.queue.length > 0 && !this.ended) await new Promise<void>((resolve) => this.idle.push(resolve))
    if (this.status === 'aborted' || this.status === 'reset') return
    const peer = this.peer
    queueMicrotask(() => peer?.onTransportClosed())
    options?.signal?.throwIfAborted()
  }

  /** The other end fails with a reset after what was already handed to it. */
  sendReset(): void {
    this.end()
    const peer = this.peer
    queueMicrotask(() => peer?.abort(new StreamResetError()))
  }

  sendPause(): void {
    // read backpressure is not modelled (nor by @libp2p/memory)
  }

  sendResume(): void {
    // read backpressure is not modelled
  }
}
