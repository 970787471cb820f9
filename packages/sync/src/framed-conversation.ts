import { startDeadline } from './deadline.js'
import { FrameTooLargeError, MalformedFrameError, UnexpectedEndError } from './errors.js'
import type { FramedStream } from './framing.js'

/** Deadlines of one framed conversation. */
export interface ConversationLimits {
  /** Time to get one frame written. */
  requestTimeoutMs: number
  /** Time to wait for the remote's next frame. */
  idleTimeoutMs: number
}

/** How a protocol's messages become frame bodies and back, and how a remote's fault is named. */
export interface ConversationCodec<M extends { type: string }> {
  encode(message: M): Uint8Array
  /** Throws on a body that is not a message; `isMalformed` recognises that error. */
  decode(body: Uint8Array): M
  isMalformed(err: unknown): boolean
  /** The protocol's typed error for an offence of the remote (`timeout` or `malformed-frame`). */
  offence(code: 'timeout' | 'malformed-frame', peer: string, detail: string, cause?: unknown): Error
}

/**
 * One side of a stream of a provsync protocol built on sync's frames (@provsync/blobs,
 * @provsync/artifacts): typed messages, each write and each wait under its own deadline, and
 * every failure the remote causes turned into the protocol's offence error. A stream the remote
 * resets stays an `UnexpectedEndError` (no offence); an abort of `signal` rethrows its reason.
 */
export class FramedConversation<M extends { type: string }> {
  constructor(
    readonly framed: FramedStream,
    readonly peer: string,
    protected readonly limits: ConversationLimits,
    protected readonly codec: ConversationCodec<M>,
    protected readonly signal?: AbortSignal,
    /** Test hook: sees every frame body sent and received. */
    protected readonly tap?: (side: 'sent' | 'received', body: Uint8Array) => void,
  ) {}

  async send(message: M): Promise<void> {
    const deadline = startDeadline(this.limits.requestTimeoutMs, this.signal)
    try {
      const body = this.codec.encode(message)
      this.tap?.('sent', body)
      await this.framed.write(body, { signal: deadline.signal })
    } catch (err) {
      throw this.translate(err, `writing ${message.type}`)
    } finally {
      deadline.clear()
    }
  }

  /** The next message, or undefined when the remote closed its side cleanly between frames. */
  async receiveOrEnd(timeoutMs = this.limits.idleTimeoutMs): Promise<M | undefined> {
    const deadline = startDeadline(timeoutMs, this.signal)
    let frame: Uint8Array | undefined
    try {
      frame = await this.framed.read({ signal: deadline.signal })
    } catch (err) {
      throw this.translate(err, 'waiting for a frame')
    } finally {
      deadline.clear()
    }
    if (frame === undefined) return undefined
    this.tap?.('received', frame)
    try {
      return this.codec.decode(frame)
    } catch (err) {
      throw this.translate(err, 'decoding a frame')
    }
  }

  protected translate(err: unknown, what: string): unknown {
    if (err instanceof DOMException && err.name === 'TimeoutError') {
      return this.codec.offence('timeout', this.peer, `${what} took too long`)
    }
    if (
      this.codec.isMalformed(err) ||
      err instanceof MalformedFrameError ||
      err instanceof FrameTooLargeError
    ) {
      return this.codec.offence('malformed-frame', this.peer, `${what}: ${(err as Error).message}`, err)
    }
    if (err instanceof UnexpectedEndError) return err
    if (this.signal?.aborted === true) return this.signal.reason
    return err
  }
}
