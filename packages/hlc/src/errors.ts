import type { Timestamp } from './timestamp.js'

/** Base class of every failure this package reports, so callers can catch them all at once. */
export class HlcError extends Error {
  constructor(message: string) {
    super(message)
    this.name = new.target.name
  }
}

export type TimestampField = 'timestamp' | 'wallMs' | 'counter' | 'nodeId'

/** A timestamp given to this package has a field outside its encodable range. */
export class InvalidTimestampError extends HlcError {
  readonly field: TimestampField
  constructor(field: TimestampField, message: string) {
    super(message)
    this.field = field
  }
}

/** Bytes or text that do not hold a well-formed timestamp. */
export class TimestampDecodeError extends HlcError {
  readonly reason: string
  constructor(reason: string) {
    super(`cannot decode timestamp: ${reason}`)
    this.reason = reason
  }
}

/** A remote timestamp is further ahead of the local wall clock than `maxDriftMs` allows. */
export class ClockDriftError extends HlcError {
  readonly remote: Timestamp
  readonly wallMs: number
  readonly driftMs: number
  readonly maxDriftMs: number
  constructor(remote: Timestamp, wallMs: number, maxDriftMs: number) {
    const driftMs = remote.wallMs - wallMs
    super(`remote timestamp is ${driftMs} ms ahead of the local wall clock (limit ${maxDriftMs} ms)`)
    this.remote = remote
    this.wallMs = wallMs
    this.driftMs = driftMs
    this.maxDriftMs = maxDriftMs
  }
}

/**
 * The clock cannot issue another timestamp without running its logical time more than
 * `maxDriftMs` ahead of the wall clock (or past the largest encodable wall time).
 * It clears itself once the wall clock catches up.
 */
export class ClockExhaustedError extends HlcError {
  readonly wallMs: number
  readonly logicalMs: number
  readonly maxDriftMs: number
  constructor(wallMs: number, logicalMs: number, maxDriftMs: number) {
    super(
      `issuing would move logical time to ${logicalMs}, ${logicalMs - wallMs} ms ahead of the wall clock ` +
        `(limit ${maxDriftMs} ms); wait for the wall clock to catch up`,
    )
    this.wallMs = wallMs
    this.logicalMs = logicalMs
    this.maxDriftMs = maxDriftMs
  }
}

/** The injected wall clock returned something that is not a millisecond time in the encodable range. */
export class WallClockError extends HlcError {
  readonly value: unknown
  constructor(value: unknown) {
    super(`wall clock returned ${String(value)}, expected milliseconds in [0, 2^48)`)
    this.value = value
  }
}

/** `createClock` was given an option it cannot work with. */
export class ClockOptionsError extends HlcError {
  readonly option: string
  constructor(option: string, message: string) {
    super(`${option}: ${message}`)
    this.option = option
  }
}
