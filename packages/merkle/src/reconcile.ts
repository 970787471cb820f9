/**
 * The public face of reconciliation: byte frames in and out. A logical message larger than the
 * frame limit travels as several frames; the other side acknowledges each partial frame with a
 * one-byte control frame, and the initiator pulls the rest of a long answer with the same byte.
 * Frame: one flag byte (0 = last frame of a message, 1 = more frames follow, 2 = control), then
 * the payload.
 */
import {
  MalformedMessageError,
  MerkleInputError,
  OversizedMessageError,
  ReconcileStateError,
  SessionLimitError,
} from './errors.js'
import { FRAME_HEADROOM, MIN_FRAME_BYTES, MIN_MESSAGE_BYTES, type Role } from './session.js'
import type { MerkleTree } from './tree.js'
import {
  checkVersionOptions,
  createVersionedSession,
  type ReconcileResult,
  type VersionedSession,
  type VersionOptions,
} from './versioned-session.js'

export type { ReconcileResult, ReconcileVersion } from './versioned-session.js'

export interface ReconcileOptions extends VersionOptions {
  /** Largest frame sent or accepted, flag byte included. Default 4 MiB, at least 4 KiB. */
  maxFrameBytes?: number
  /** Largest logical message sent or accepted. Default 16 MiB, at least 256 KiB. */
  maxMessageBytes?: number
  /** Bytes both ways after which the session fails. Default 1 GiB. */
  maxSessionBytes?: number
  /** Frames after which the session fails. Default 100,000. */
  maxRounds?: number
}

export interface ReconcileStats {
  /** Frames exchanged by this side in each direction (one request plus its response is a round). */
  rounds: number
  bytesSent: number
  bytesReceived: number
}

export interface Reconciler {
  /** The next request frame, or `undefined` once the session is done. */
  next(): Uint8Array | undefined
  /** The responder's answer to the last request. Throws a {@link ReconcileError} and ends the session on bad input. */
  receive(response: Uint8Array): void
  readonly done: boolean
  result(): ReconcileResult
  readonly stats: ReconcileStats
  /**
   * Ends the session and releases its tree snapshot (an LMDB read transaction). Idempotent.
   * Completion and failure release it already; call this for a session you abandon.
   */
  close(): void
}

export interface Responder {
  /** Answers one request frame. One responder serves one session. */
  respond(request: Uint8Array): Uint8Array
  /** Everything is sent: the snapshot is released, and further requests are refused. */
  readonly done: boolean
  readonly stats: ReconcileStats
  /**
   * Ends the session and releases its tree snapshot (an LMDB read transaction). Idempotent.
   * Completion and failure release it already; call this for a session you abandon.
   */
  close(): void
}

const LAST = 0
const MORE = 1
const CONTROL = 2
const CONTROL_FRAME = new Uint8Array([CONTROL])

interface Limits {
  maxFrameBytes: number
  maxMessageBytes: number
  maxSessionBytes: number
  maxRounds: number
}

function limitsOf(options: ReconcileOptions = {}): Limits {
  checkVersionOptions(options)
  const pick = (name: keyof Limits, fallback: number, min: number): number => {
    const value = options[name] ?? fallback
    if (!Number.isSafeInteger(value) || value < min)
      throw new MerkleInputError(name, `expected an integer >= ${min}`)
    return value
  }
  return {
    maxFrameBytes: pick('maxFrameBytes', 4 * 1024 * 1024, MIN_FRAME_BYTES),
    maxMessageBytes: pick('maxMessageBytes', 16 * 1024 * 1024, MIN_MESSAGE_BYTES),
    maxSessionBytes: pick('maxSessionBytes', 1024 * 1024 * 1024, MIN_MESSAGE_BYTES),
    maxRounds: pick('maxRounds', 100_000, 1),
  }
}

/** Frame plumbing shared by both ends: splitting, reassembly, limits and failure latching. */
class Channel {
  readonly stats: ReconcileStats = { rounds: 0, bytesSent: 0, bytesReceived: 0 }
  readonly session: VersionedSession
  private outbox: Uint8Array[] = []
  private inbox: Uint8Array[] = []
  private inboxBytes = 0
  private failed: unknown
  private closed = false

  constructor(
    tree: MerkleTree,
    role: Role,
    private readonly limits: Limits,
    options: VersionOptions,
  ) {
    this.session = createVersionedSession(tree, role, limits, options)
  }

  get sending(): boolean {
    return this.outbox.length > 0
  }

  get receiving(): boolean {
    return this.inbox.length > 0
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Runs `step`, latching any failure so the session refuses all later input. */
  guard<T>(step: () => T): T {
    if (this.failed !== undefined)
      throw new ReconcileStateError('the session already failed', { cause: this.failed })
    if (this.closed) throw new ReconcileStateError('the session is closed')
    try {
      return step()
    } catch (error) {
      this.failed = error
      this.close()
      throw error
    }
  }

  /** Releases the snapshot; every later step is refused. */
  close(): void {
    if (this.closed) return
    this.closed = true
    // Stryker disable next-line ArrayDeclaration: equivalent, a closed channel refuses every call before reading its queues
    this.outbox = []
    // Stryker disable next-line ArrayDeclaration: equivalent, a closed channel refuses every call before reading its queues
    this.inbox = []
    this.session.close()
  }

  /** Queues a message built with FRAME_HEADROOM spare bytes in front. */
  queue(built: Uint8Array): void {
    const payload = this.session.frameBytes - 1
    const message = built.subarray(FRAME_HEADROOM)
    // Stryker disable next-line BlockStatement: equivalent, without the fast path the loop below sends the same single frame (a copy)
    if (message.length <= payload) {
      // One frame: the flag goes into the spare byte, and the message is sent as it was built.
      built[FRAME_HEADROOM - 1] = LAST
      this.outbox.push(built.subarray(FRAME_HEADROOM - 1))
      return
    }
    for (let at = 0; at < message.length; at += payload) {
      const end = Math.min(message.length, at + payload)
      const frame = new Uint8Array(1 + end - at)
      frame[0] = end < message.length ? MORE : LAST
      frame.set(message.subarray(at, end), 1)
      this.outbox.push(frame)
      if (end === message.length) break
    }
  }

  send(frame?: Uint8Array): Uint8Array {
    const out = frame ?? this.outbox.shift()!
    this.stats.bytesSent += out.length
    this.checkSession()
    return out
  }

  /** Takes a frame in; returns the whole message once its last frame arrived, `'control'` for a control frame. */
  take(frame: Uint8Array): Uint8Array | 'control' | 'partial' {
    if (!(frame instanceof Uint8Array)) throw new MalformedMessageError('frame is not a Uint8Array')
    this.stats.bytesReceived += frame.length
    this.stats.rounds++
    if (this.stats.rounds > this.limits.maxRounds) throw new SessionLimitError(this.limits.maxRounds)
    this.checkSession()
    if (frame.length > this.limits.maxFrameBytes) {
      throw new OversizedMessageError('frame', frame.length, this.limits.maxFrameBytes)
    }
    if (frame.length === 0) throw new MalformedMessageError('empty frame')
    const flag = frame[0]
    if (flag === CONTROL) {
      if (frame.length !== 1) throw new MalformedMessageError('control frame with a payload')
      return 'control'
    }
    if (flag !== LAST && flag !== MORE) throw new MalformedMessageError(`unknown frame flag ${flag}`)
    this.inboxBytes += frame.length - 1
    if (this.inboxBytes > this.limits.maxMessageBytes) {
      throw new OversizedMessageError('message', this.inboxBytes, this.limits.maxMessageBytes)
    }
    this.inbox.push(frame.subarray(1))
    if (flag === MORE) return 'partial'
    const message = concat(this.inbox, this.inboxBytes)
    this.inbox = []
    this.inboxBytes = 0
    return message
  }

  private checkSession(): void {
    const total = this.stats.bytesSent + this.stats.bytesReceived
    if (total > this.limits.maxSessionBytes)
      throw new OversizedMessageError('session', total, this.limits.maxSessionBytes)
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(length)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/**
 * Starts a session as the initiator: call `next()` for a request, hand it to the peer's
 * responder, pass the answer to `receive()`, until `next()` returns `undefined`; then `result()`
 * says which keys only this side has, only the peer has, and which differ.
 */
export function createReconciler(tree: MerkleTree, options?: ReconcileOptions): Reconciler {
  const channel = new Channel(tree, 'initiator', limitsOf(options), options ?? {})
  let inFlight = false
  let result: ReconcileResult | undefined
  const done = () => result !== undefined
  // Keys of subtrees only this side has are read from the snapshot, so the result is collected
  // before the snapshot is released.
  const finishIfDone = () => {
    if (!channel.session.done || channel.sending || channel.receiving) return
    result = channel.session.result()
    channel.close()
  }
  const copyOf = (r: ReconcileResult): ReconcileResult => ({
    localOnly: r.localOnly.slice(),
    remoteOnly: r.remoteOnly.slice(),
    differing: r.differing.slice(),
    collision: r.collision,
  })
  return {
    get stats() {
      return channel.stats
    },
    get done() {
      return done()
    },
    next() {
      if (done()) return undefined
      if (inFlight) throw new ReconcileStateError('receive() the answer to the previous request first')
      return channel.guard(() => {
        inFlight = true
        if (channel.sending) return channel.send()
        if (channel.receiving) return channel.send(CONTROL_FRAME)
        channel.queue(channel.session.build())
        return channel.send()
      })
    },
    receive(response) {
      if (!inFlight) throw new ReconcileStateError('no request is waiting for an answer')
      channel.guard(() => {
        inFlight = false
        const got = channel.take(response)
        if (channel.sending) {
          // The responder must only acknowledge while the request is still arriving.
          if (got !== 'control') throw new MalformedMessageError('answer before the request was complete')
          return
        }
        if (got === 'control') throw new MalformedMessageError('unexpected control frame')
        if (got !== 'partial') channel.session.absorb(got)
        finishIfDone()
      })
    },
    result() {
      if (result === undefined) throw new ReconcileStateError('the session is not done')
      return copyOf(result)
    },
    close: () => channel.close(),
  }
}

/** Serves one session for a peer's reconciler, answering from `tree`. */
export function createResponder(tree: MerkleTree, options?: ReconcileOptions): Responder {
  const channel = new Channel(tree, 'responder', limitsOf(options), options ?? {})
  let done = false
  const finishIfDone = (frame: Uint8Array): Uint8Array => {
    if (channel.session.finished && !channel.sending && !channel.receiving) {
      done = true
      channel.close()
    }
    return frame
  }
  return {
    get stats() {
      return channel.stats
    },
    get done() {
      return done
    },
    respond(request) {
      if (done) throw new ReconcileStateError('the session is over: everything was sent')
      return channel.guard(() => {
        const got = channel.take(request)
        if (got === 'control') {
          if (!channel.sending) throw new MalformedMessageError('nothing left to send')
          return finishIfDone(channel.send())
        }
        if (channel.sending) throw new MalformedMessageError('new request before the last answer was pulled')
        if (got === 'partial') return channel.send(CONTROL_FRAME)
        channel.session.absorb(got)
        channel.queue(channel.session.build())
        return finishIfDone(channel.send())
      })
    },
    close: () => channel.close(),
  }
}
