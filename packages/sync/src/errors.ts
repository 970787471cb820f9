/** Base class of every failure raised by @provsync/sync, so callers can catch the package's errors. */
export class SyncError extends Error {
  static override name = 'SyncError'
  override name = 'SyncError'
}

/** A frame's announced length exceeds the maximum frame size; nothing of it was buffered. */
export class FrameTooLargeError extends SyncError {
  static override name = 'FrameTooLargeError'
  override name = 'FrameTooLargeError'
  constructor(
    readonly length: number,
    readonly maxBytes: number,
  ) {
    super(`frame of ${length} bytes exceeds the ${maxBytes}-byte limit`)
  }
}

/** Bytes that do not decode as the message the protocol expects at this point. */
export class MalformedFrameError extends SyncError {
  static override name = 'MalformedFrameError'
  override name = 'MalformedFrameError'
}

/** The remote closed the stream in the middle of a frame or a conversation. */
export class UnexpectedEndError extends SyncError {
  static override name = 'UnexpectedEndError'
  override name = 'UnexpectedEndError'
}

/**
 * A thrown value as an `Error`, for a session's report and its `sync:finished` listeners: libp2p
 * can end a stream with no reason, and a listener reading `error.message` must not throw on it
 * (seen in the sim's scenario test: `detail.error` undefined on a failed inbound session).
 */
export function asError(err: unknown): Error {
  return err instanceof Error
    ? err
    : new UnexpectedEndError(`session ended by a non-error value (${String(err)})`)
}

/** The remote peer belongs to another network or trusts another operator bundle. */
export class NetworkMismatchError extends SyncError {
  static override name = 'NetworkMismatchError'
  override name = 'NetworkMismatchError'
  constructor(
    readonly expected: string,
    readonly received: string,
  ) {
    super(`peer is on network "${received}" (or another trust bundle), expected "${expected}"`)
  }
}

export type RefusalCode =
  | 'wrong-network'
  | 'unauthorized'
  | 'blocked'
  | 'busy'
  | 'rate-limited'
  | 'malformed'
  | 'unknown-store'
  | 'too-many-keys'
  | 'internal'
  | 'not-admitted'

export const REFUSAL_CODES: readonly RefusalCode[] = [
  'wrong-network',
  'unauthorized',
  'blocked',
  'busy',
  'rate-limited',
  'malformed',
  'unknown-store',
  'too-many-keys',
  'internal',
  'not-admitted',
]

/**
 * Closed network: the peer presented no credential we admit (its hello), or, when we opened the
 * session, its welcome did not. Nothing beyond the refusal was said; no offence.
 */
export class NotAdmittedError extends SyncError {
  static override name = 'NotAdmittedError'
  override name = 'NotAdmittedError'
  constructor(readonly peer: string) {
    super(`peer ${peer} is not admitted to this network (no live member credential)`)
  }
}

/** The remote peer refused the request with a typed refusal frame. */
export class RefusedError extends SyncError {
  static override name = 'RefusedError'
  override name = 'RefusedError'
  constructor(
    readonly code: RefusalCode | 'unknown',
    message: string,
    readonly store?: string,
  ) {
    super(`refused (${code}): ${message}`)
  }
}

/** The remote broke the protocol: unexpected message, a lying tree, records it promised but did not send. */
export class ProtocolViolationError extends SyncError {
  static override name = 'ProtocolViolationError'
  override name = 'ProtocolViolationError'
  constructor(
    readonly reason: OffenceReason,
    message: string,
    /** The stream ended where a message was due: a peer going away looks the same. */
    readonly endOfStream = false,
  ) {
    super(message)
  }
}

/** A per-peer budget (sessions, bytes, request rate, time) ran out. */
export class BudgetExceededError extends SyncError {
  static override name = 'BudgetExceededError'
  override name = 'BudgetExceededError'
  constructor(
    readonly budget: 'sessions' | 'bytes' | 'rate' | 'time' | 'buffer',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** The peer is blocked after repeated offences. */
export class PeerBlockedError extends SyncError {
  static override name = 'PeerBlockedError'
  override name = 'PeerBlockedError'
  constructor(
    readonly peer: string,
    readonly untilMs: number,
  ) {
    super(`peer ${peer} is blocked until ${new Date(untilMs).toISOString()}`)
  }
}

/** This node applied a revocation of the peer's key: it refuses the peer until reinstated. */
export class PeerRevokedError extends SyncError {
  static override name = 'PeerRevokedError'
  override name = 'PeerRevokedError'
  constructor(readonly peer: string) {
    super(`peer ${peer} is revoked`)
  }
}

/** A listen address (P2P or metrics) is taken by another process. */
export class AddressInUseError extends SyncError {
  static override name = 'AddressInUseError'
  override name = 'AddressInUseError'
  constructor(
    /** The address in use: a multiaddr for P2P, `host:port` for metrics. */
    readonly address: string,
    options?: ErrorOptions,
  ) {
    super(`address ${address} is already in use`, options)
  }
}

/** The remote peer id does not carry an Ed25519 key, so it cannot be an asserter. */
export class UnsupportedPeerKeyError extends SyncError {
  static override name = 'UnsupportedPeerKeyError'
  override name = 'UnsupportedPeerKeyError'
}

/** An option of the service's init is out of its range; `option` names it, `value` is what was given. */
export class SyncInitError extends SyncError {
  static override name = 'SyncInitError'
  override name = 'SyncInitError'
  constructor(
    readonly option: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`sync init: ${option} = ${String(value)}: ${reason}`)
  }
}

/** The node's identity key file exists but cannot be read as an Ed25519 libp2p private key. */
export class IdentityKeyError extends SyncError {
  static override name = 'IdentityKeyError'
  override name = 'IdentityKeyError'
}

export type OffenceReason =
  | 'malformed-frame'
  | 'oversized-frame'
  | 'unexpected-message'
  | 'wrong-network'
  | 'unauthorized'
  | 'too-many-sessions'
  | 'rate-limited'
  | 'session-bytes'
  | 'buffered-bytes'
  | 'timeout'
  | 'lying-tree'
  | 'unrequested-record'
  | 'invalid-record'
  | 'invalid-announcement'

export const OFFENCE_REASONS: readonly OffenceReason[] = [
  'malformed-frame',
  'oversized-frame',
  'unexpected-message',
  'wrong-network',
  'unauthorized',
  'too-many-sessions',
  'rate-limited',
  'session-bytes',
  'buffered-bytes',
  'timeout',
  'lying-tree',
  'unrequested-record',
  'invalid-record',
  'invalid-announcement',
]
