/** Base class of every failure this package reports, so callers can catch them all at once. */
export class MerkleError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A key, value hash or option given to this package is not something it can store or use. */
export class MerkleInputError extends MerkleError {
  readonly field: string
  constructor(field: string, message: string) {
    super(`${field}: ${message}`)
    this.field = field
  }
}

/**
 * The tree's stored bytes are not what this package writes (a node that does not decode, a
 * leaf of the wrong size). Reads stop instead of guessing; `verify()` reports the details.
 */
export class TreeCorruptError extends MerkleError {
  readonly where: string
  constructor(where: string, message: string) {
    super(`tree corrupt at ${where}: ${message}`)
    this.where = where
  }
}

/** A tree snapshot was read after `release()`. */
export class SnapshotStateError extends MerkleError {}

/**
 * Base class of reconciliation failures. Any of them ends the session: the reconciler or
 * responder that threw refuses further input.
 */
export class ReconcileError extends MerkleError {}

/** A frame or message does not parse: truncated, trailing bytes, unknown header, bad counts. */
export class MalformedMessageError extends ReconcileError {
  readonly reason: string
  constructor(reason: string) {
    super(`malformed reconciliation message: ${reason}`)
    this.reason = reason
  }
}

/** A frame, a message or the whole session exceeds the configured size limit. */
export class OversizedMessageError extends ReconcileError {
  readonly limit: number
  readonly size: number
  readonly what: 'frame' | 'message' | 'session'
  constructor(what: 'frame' | 'message' | 'session', size: number, limit: number) {
    super(`${what} of ${size} bytes exceeds the limit of ${limit} bytes`)
    this.what = what
    this.size = size
    this.limit = limit
  }
}

/**
 * The peer's answers contradict each other or the tree they describe: a node claimed to differ
 * whose content matches ours, leaves outside the node they are listed under, keys out of order,
 * an answer where none was asked for, a session that stops making progress.
 */
export class InconsistentPeerError extends ReconcileError {
  readonly reason: string
  constructor(reason: string) {
    super(`peer is inconsistent: ${reason}`)
    this.reason = reason
  }
}

/** The peer speaks another protocol version or builds its tree with other parameters. */
export class IncompatiblePeerError extends ReconcileError {}

/** The session used more round trips than `maxRounds` allows. */
export class SessionLimitError extends ReconcileError {
  readonly limit: number
  constructor(limit: number) {
    super(`reconciliation needs more than ${limit} round trips`)
    this.limit = limit
  }
}

/** `next()`, `receive()` or `respond()` called out of turn, or after the session ended. */
export class ReconcileStateError extends ReconcileError {}
