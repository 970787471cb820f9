import {
  type ConversationCodec,
  type ConversationLimits,
  FramedConversation,
  startDeadline,
} from '@provsync/sync/stream'
import type { Uint8ArrayList } from 'uint8arraylist'
import { BlobProtocolError } from '../errors.js'
import type { ChunkFragment } from '../wire/chunk-frames.js'
import { type BlobMessage, decodeBlobMessage, encodeBlobMessage } from '../wire/codec.js'
import type { BlobFramedStream, Taken } from './framed.js'

export type { ConversationLimits }

const CODEC: ConversationCodec<BlobMessage> = {
  encode: encodeBlobMessage,
  decode: decodeBlobMessage,
  isMalformed: () => false,
  offence(code, peer, detail, cause) {
    const err = new BlobProtocolError(code, peer, detail)
    if (cause !== undefined) err.cause = cause
    return err
  },
}

/**
 * One side of a blob stream: sync's framed conversation over blob messages, every failure the
 * remote causes a BlobProtocolError naming the offence.
 */
export class Conversation extends FramedConversation<BlobMessage> {
  private idle: IdleWatch | undefined

  constructor(
    override readonly framed: BlobFramedStream,
    peer: string,
    limits: ConversationLimits,
    signal?: AbortSignal,
  ) {
    super(framed, peer, limits, CODEC, signal)
  }

  /** The next message; a clean end here is a truncated answer. */
  async receive(what: string): Promise<BlobMessage> {
    const message = await this.receiveOrEnd()
    if (message === undefined)
      throw new BlobProtocolError('truncated', this.peer, `stream ended before ${what}`)
    return message
  }

  unexpected(message: BlobMessage, expected: string): BlobProtocolError {
    return new BlobProtocolError('unexpected-message', this.peer, `got ${message.type}, expected ${expected}`)
  }

  /**
   * Sends frames already prefixed (chunks' fragments, `encodeChunkFrames`) in one write, under
   * one write deadline: a write waits only once the stream holds more than its buffer (2 MiB) and
   * then until that buffer is empty, as each fragment's write waited before, so the remote still
   * has to drain it within the deadline (one timer per chunk instead of one per fragment).
   */
  async sendFrames(bytes: Uint8Array | Uint8ArrayList): Promise<void> {
    const deadline = startDeadline(this.limits.requestTimeoutMs, this.signal)
    try {
      await this.framed.writeFrames(bytes, { signal: deadline.signal })
    } catch (err) {
      throw this.translate(err, 'writing chunk-data')
    } finally {
      deadline.clear()
    }
  }

  /**
   * As `receiveOrEnd`, but a chunk-data frame laid out as an honest encoder lays it out comes as a
   * fragment in place (its bytes not copied yet). The idle deadline is started only when no frame
   * is buffered already (most frames are: a 256 KiB yamux frame carries four).
   */
  async receiveFragmentOrEnd(): Promise<ChunkFragment | BlobMessage | undefined> {
    if (this.signal?.aborted === true) throw this.signal.reason
    let taken: Taken
    try {
      taken = this.framed.take(true)
    } catch (err) {
      throw this.translate(err, 'waiting for a frame')
    }
    if (taken === undefined) taken = await this.waitForFrame()
    if (taken === 'end') return undefined
    if (!(taken instanceof Uint8Array)) return taken
    try {
      return decodeBlobMessage(taken)
    } catch (err) {
      throw this.translate(err, 'decoding a frame')
    }
  }

  private async waitForFrame(): Promise<Taken> {
    this.idle ??= new IdleWatch(this.limits.idleTimeoutMs, this.signal)
    const signal = this.idle.begin()
    try {
      while (true) {
        await this.framed.more({ signal })
        const taken = this.framed.take(true)
        if (taken !== undefined) return taken
      }
    } catch (err) {
      throw this.translate(err, 'waiting for a frame')
    } finally {
      this.idle.end()
    }
  }

  /** Releases what the conversation's waits for fragments hold (a timer, a listener on the reader's signal). */
  close(): void {
    this.idle?.dispose()
    this.idle = undefined
  }
}

/**
 * The idle deadline of a conversation's waits for a frame: each wait fails with a `TimeoutError`
 * once it has lasted `ms`, as a `startDeadline` per wait gave it, but with one controller, one
 * timer and one listener on the parent signal per conversation. A wait only notes when it must
 * end; the timer, when it fires, checks the wait under way and re-arms for what is left. Why: a
 * fetching process waits once per noise message it drains (~64 KiB), and a deadline per wait (an
 * AbortController, a timer, two listeners) was 2.0 % of its on-CPU samples in a 1 GiB read
 * (`perf record`, session 14).
 */
export class IdleWatch {
  private readonly controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private endsAt = 0
  private waiting = false
  private readonly onParentAbort = (): void => this.controller.abort(this.parent?.reason)

  constructor(
    private readonly ms: number,
    private readonly parent?: AbortSignal,
  ) {
    if (parent?.aborted === true) this.controller.abort(parent.reason)
    else parent?.addEventListener('abort', this.onParentAbort, { once: true })
  }

  /** A wait starts: the signal aborts if it lasts `ms`, or when the parent aborts. */
  begin(): AbortSignal {
    this.waiting = true
    if (Number.isFinite(this.ms)) {
      this.endsAt = performance.now() + this.ms
      if (this.timer === undefined) this.arm(this.ms)
    }
    return this.controller.signal
  }

  /** The wait ended (a frame came, or it failed). */
  end(): void {
    this.waiting = false
  }

  dispose(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.parent?.removeEventListener('abort', this.onParentAbort)
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(), ms)
    // Like AbortSignal.timeout: a pending deadline does not keep the process alive.
    this.timer.unref?.()
  }

  private check(): void {
    this.timer = undefined
    if (!this.waiting) return
    const left = this.endsAt - performance.now()
    if (left > 0) this.arm(left)
    else this.controller.abort(new DOMException(`deadline of ${this.ms} ms passed`, 'TimeoutError'))
  }
}
