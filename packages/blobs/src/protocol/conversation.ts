import {
  type FramedStream,
  FrameTooLargeError,
  MalformedFrameError,
  startDeadline,
  UnexpectedEndError,
} from '@provsync/sync'
import { BlobProtocolError } from '../errors.js'
import { type BlobMessage, decodeBlobMessage, encodeBlobMessage } from '../wire/codec.js'

export interface ConversationLimits {
  /** Time to get one frame written. */
  requestTimeoutMs: number
  /** Time to wait for the remote's next frame. */
  idleTimeoutMs: number
}

/**
 * One side of a blob stream: typed messages in length-prefixed frames, each write and each wait
 * under its own deadline, and every failure the remote causes turned into a BlobProtocolError
 * naming the offence (a peer that resets the stream gets an UnexpectedEndError, which is no offence).
 */
export class Conversation {
  constructor(
    readonly framed: FramedStream,
    readonly peer: string,
    private readonly limits: ConversationLimits,
    private readonly signal?: AbortSignal,
  ) {}

  async send(message: BlobMessage): Promise<void> {
    const deadline = startDeadline(this.limits.requestTimeoutMs, this.signal)
    try {
      await this.framed.write(encodeBlobMessage(message), { signal: deadline.signal })
    } catch (err) {
      throw this.translate(err, `writing ${message.type}`)
    } finally {
      deadline.clear()
    }
  }

  /** The next message, or undefined when the remote closed its side cleanly between frames. */
  async receiveOrEnd(): Promise<BlobMessage | undefined> {
    const deadline = startDeadline(this.limits.idleTimeoutMs, this.signal)
    let frame: Uint8Array | undefined
    try {
      frame = await this.framed.read({ signal: deadline.signal })
    } catch (err) {
      throw this.translate(err, 'waiting for a frame')
    } finally {
      deadline.clear()
    }
    if (frame === undefined) return undefined
    try {
      return decodeBlobMessage(frame)
    } catch (err) {
      throw this.translate(err, 'decoding a frame')
    }
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

  private translate(err: unknown, what: string): unknown {
    if (err instanceof DOMException && err.name === 'TimeoutError') {
      return new BlobProtocolError('timeout', this.peer, `${what} took too long`)
    }
    if (err instanceof MalformedFrameError || err instanceof FrameTooLargeError) {
      const wrapped = new BlobProtocolError('malformed-frame', this.peer, `${what}: ${err.message}`)
      wrapped.cause = err
      return wrapped
    }
    if (err instanceof UnexpectedEndError) return err
    if (this.signal?.aborted === true) return this.signal.reason
    return err
  }
}
