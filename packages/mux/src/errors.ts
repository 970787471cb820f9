import type { GoAwayCode } from './frame.js'

/** Base class of every failure this package reports, so callers can catch them all at once. */
export class MuxError extends Error {
  constructor(message: string) {
    super(message)
    this.name = new.target.name
  }
}

/**
 * The remote broke the yamux protocol: the session ends with a go-away carrying `code` (protocol
 * error) and the connection is aborted with this error.
 */
export class MuxProtocolError extends MuxError {
  readonly code: GoAwayCode = 1
}

/** A frame header whose version is not 0. */
export class BadVersionError extends MuxProtocolError {
  readonly version: number
  constructor(version: number) {
    super(`frame header version ${version}, expected 0`)
    this.version = version
  }
}

/** A frame header whose type is none of data, window update, ping, go-away. */
export class BadFrameTypeError extends MuxProtocolError {
  readonly type: number
  constructor(type: number) {
    super(`frame type ${type} is not one of 0-3`)
    this.type = type
  }
}

/** A data frame longer than any receive window this muxer ever grants. */
export class FrameTooLargeError extends MuxProtocolError {
  readonly length: number
  readonly max: number
  constructor(length: number, max: number) {
    super(`data frame of ${length} bytes, larger than the largest window (${max})`)
    this.length = length
    this.max = max
  }
}

/** A data frame larger than what the stream's receive window still allows. */
export class ReceiveWindowExceededError extends MuxProtocolError {
  readonly streamId: number
  readonly length: number
  readonly window: number
  constructor(streamId: number, length: number, window: number) {
    super(`stream ${streamId}: ${length} bytes received with ${window} left in its window`)
    this.streamId = streamId
    this.length = length
    this.window = window
  }
}

/** A window update that would take the send window past 2^32 - 1. */
export class WindowOverflowError extends MuxProtocolError {
  readonly streamId: number
  readonly window: number
  readonly delta: number
  constructor(streamId: number, window: number, delta: number) {
    super(`stream ${streamId}: window ${window} + update ${delta} overflows 32 bits`)
    this.streamId = streamId
    this.window = window
    this.delta = delta
  }
}

/**
 * Why a stream id is refused: `zero` (a stream frame on the session id), `parity` (a remote SYN
 * with an id of this side's parity), `reused` (a SYN for an id already opened), `unopened` (a
 * frame for an id the remote never opened or this side never allocated), `after-fin` (data after
 * the remote closed its side of the stream).
 */
export type StreamIdProblem = 'zero' | 'parity' | 'reused' | 'unopened' | 'after-fin'

/** A frame naming a stream id it may not name. */
export class StreamIdError extends MuxProtocolError {
  readonly streamId: number
  readonly problem: StreamIdProblem
  constructor(streamId: number, problem: StreamIdProblem) {
    super(`stream id ${streamId}: ${problem}`)
    this.streamId = streamId
    this.problem = problem
  }
}

/** More ping requests in one event-loop turn than `maxPingsPerTurn`. */
export class PingFloodError extends MuxProtocolError {
  readonly pings: number
  readonly limit: number
  constructor(pings: number, limit: number) {
    super(`${pings} ping requests in one turn (limit ${limit})`)
    this.pings = pings
    this.limit = limit
  }
}

/** A ping answer (ACK) whose opaque value matches no ping this side sent. */
export class UnexpectedPongError extends MuxProtocolError {
  readonly opaque: number
  constructor(opaque: number) {
    super(`ping answer ${opaque} answers no ping sent`)
    this.opaque = opaque
  }
}

/** A go-away from this side's or the remote's point of view; see `code`. */
export class RemoteGoAwayError extends MuxError {
  readonly code: number
  constructor(code: number) {
    super(`the remote sent go-away with code ${code}`)
    this.code = code
  }
}

/** The keep-alive ping got no answer before the next was due. */
export class KeepAliveTimeoutError extends MuxError {
  readonly intervalMs: number
  constructor(intervalMs: number) {
    super(`no answer to the keep-alive ping within ${intervalMs} ms`)
    this.intervalMs = intervalMs
  }
}

/** `createStream` with `maxOutboundStreams` streams of this side already open. */
export class TooManyStreamsError extends MuxError {
  readonly direction: 'inbound' | 'outbound'
  readonly limit: number
  constructor(direction: 'inbound' | 'outbound', limit: number) {
    super(`${direction} stream limit ${limit} reached`)
    this.direction = direction
    this.limit = limit
  }
}

/** An option of `muxer()` out of its range. */
export class MuxOptionsError extends MuxError {
  readonly option: string
  constructor(option: string, message: string) {
    super(`${option}: ${message}`)
    this.option = option
  }
}
