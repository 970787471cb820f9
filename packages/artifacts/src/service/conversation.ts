import {
  type FramedStream,
  FrameTooLargeError,
  MalformedFrameError,
  startDeadline,
  UnexpectedEndError,
} from '@provsync/sync'
import { ArtifactProtocolError, ArtifactSyncRefusedError } from './errors.js'
import {
  type ArtifactMessage,
  decodeArtifactMessage,
  encodeArtifactMessage,
  MalformedArtifactFrameError,
} from './wire.js'

export interface ConversationLimits {
  requestTimeoutMs: number
  idleTimeoutMs: number
}

/**
 * One side of an artifact stream: typed messages in sync's length-prefixed frames, each write and
 * each wait under its own deadline; whatever the remote causes becomes an ArtifactProtocolError
 * naming its offence (a reset stream is an UnexpectedEndError: no offence).
 */
export class Conversation {
  constructor(
    readonly framed: FramedStream,
    readonly peer: string,
    private readonly limits: ConversationLimits,
    private readonly signal?: AbortSignal,
    /** Test hook: sees every frame body sent and received. */
    private readonly tap?: (side: 'sent' | 'received', bytes: Uint8Array) => void,
  ) {}

  async send(message: ArtifactMessage): Promise<void> {
    const deadline = startDeadline(this.limits.requestTimeoutMs, this.signal)
    try {
      const bytes = encodeArtifactMessage(message)
      this.tap?.('sent', bytes)
      await this.framed.write(bytes, { signal: deadline.signal })
    } catch (err) {
      throw this.translate(err, `writing ${message.type}`)
    } finally {
      deadline.clear()
    }
  }

  /** The next message, or undefined on a clean end between frames. */
  async receiveOrEnd(timeoutMs = this.limits.idleTimeoutMs): Promise<ArtifactMessage | undefined> {
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
      return decodeArtifactMessage(frame)
    } catch (err) {
      throw this.translate(err, 'decoding a frame')
    }
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

  private translate(err: unknown, what: string): unknown {
    if (err instanceof DOMException && err.name === 'TimeoutError') {
      return new ArtifactProtocolError('timeout', this.peer, `${what} took too long`)
    }
    if (
      err instanceof MalformedArtifactFrameError ||
      err instanceof MalformedFrameError ||
      err instanceof FrameTooLargeError
    ) {
      const wrapped = new ArtifactProtocolError('malformed-frame', this.peer, `${what}: ${err.message}`)
      wrapped.cause = err
      return wrapped
    }
    if (err instanceof UnexpectedEndError) return err
    if (this.signal?.aborted === true) return this.signal.reason
    return err
  }
}

const KNOWN = new Set([
  'not-admitted',
  'wrong-network',
  'blocked',
  'busy',
  'not-shared',
  'malformed',
  'internal',
])

export function refusalError(
  message: Extract<ArtifactMessage, { type: 'refusal' }>,
  peer: string,
): ArtifactSyncRefusedError {
  const code = KNOWN.has(message.code) ? (message.code as ArtifactSyncRefusedError['code']) : 'unknown'
  return new ArtifactSyncRefusedError(code, peer, message.message)
}
