import {
  type ConversationCodec,
  type ConversationLimits,
  FramedConversation,
  IdleDeadline,
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
  private idle: IdleDeadline | undefined

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
    // One idle deadline per conversation, on this thread's stall clock (sync's `IdleDeadline`).
    this.idle ??= new IdleDeadline(this.limits.idleTimeoutMs, this.signal)
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
