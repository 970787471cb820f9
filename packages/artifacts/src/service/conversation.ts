import {
  type ConversationCodec,
  type ConversationLimits,
  FramedConversation,
  type FramedStream,
} from '@provsync/sync'
import { ARTIFACT_SYNC_REFUSALS, ArtifactProtocolError, ArtifactSyncRefusedError } from './errors.js'
import {
  type ArtifactMessage,
  decodeArtifactMessage,
  encodeArtifactMessage,
  MalformedArtifactFrameError,
} from './wire.js'

export type { ConversationLimits }

const CODEC: ConversationCodec<ArtifactMessage> = {
  encode: encodeArtifactMessage,
  decode: decodeArtifactMessage,
  isMalformed: (err) => err instanceof MalformedArtifactFrameError,
  offence(code, peer, detail, cause) {
    const err = new ArtifactProtocolError(code, peer, detail)
    if (cause !== undefined) err.cause = cause
    return err
  },
}

/**
 * One side of an artifact stream: sync's framed conversation over artifact messages; whatever the
 * remote causes becomes an ArtifactProtocolError naming its offence (a reset stream is an
 * UnexpectedEndError: no offence).
 */
export class Conversation extends FramedConversation<ArtifactMessage> {
  constructor(
    framed: FramedStream,
    peer: string,
    limits: ConversationLimits,
    signal?: AbortSignal,
    /** Test hook: sees every frame body sent and received. */
    tap?: (side: 'sent' | 'received', bytes: Uint8Array) => void,
  ) {
    super(framed, peer, limits, CODEC, signal, tap)
  }

  /** The next message of type `type`; a refusal becomes ArtifactSyncRefusedError, anything else an offence. */
  async expect<T extends ArtifactMessage['type']>(
    type: T,
    timeoutMs?: number,
  ): Promise<Extract<ArtifactMessage, { type: T }>> {
    const message = await this.receiveOrEnd(timeoutMs)
    if (message?.type === type) return message as Extract<ArtifactMessage, { type: T }>
    if (message?.type === 'refusal') throw refusalError(message, this.peer)
    throw this.unexpected(message, type)
  }

  unexpected(message: ArtifactMessage | undefined, expected: string): ArtifactProtocolError {
    const got = message === undefined ? 'end of stream' : message.type
    return new ArtifactProtocolError('unexpected-message', this.peer, `got ${got}, expected ${expected}`)
  }
}

const KNOWN: ReadonlySet<string> = new Set(ARTIFACT_SYNC_REFUSALS)

export function refusalError(
  message: Extract<ArtifactMessage, { type: 'refusal' }>,
  peer: string,
): ArtifactSyncRefusedError {
  const code = KNOWN.has(message.code) ? (message.code as ArtifactSyncRefusedError['code']) : 'unknown'
  return new ArtifactSyncRefusedError(code, peer, message.message)
}
