import {
  type ConversationCodec,
  type ConversationLimits,
  FramedConversation,
  type FramedStream,
} from '@provsync/sync'
import { BlobProtocolError } from '../errors.js'
import { type BlobMessage, decodeBlobMessage, encodeBlobMessage } from '../wire/codec.js'

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
  constructor(framed: FramedStream, peer: string, limits: ConversationLimits, signal?: AbortSignal) {
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
}
