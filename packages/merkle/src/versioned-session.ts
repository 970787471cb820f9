/**
 * Which reconciliation protocol a session speaks. The initiator is told (protocol 2 only to a peer
 * that announced it; the sync layer learns that in its opening frames). The responder serves
 * either: the first byte of the initiator's first message names the version, so a node of the
 * previous release keeps syncing with protocol 1, byte for byte.
 */
import { MerkleInputError } from './errors.js'
import { MAX_FINGERPRINT_BYTES, MIN_FINGERPRINT_BYTES, SALT_BYTES } from './fingerprint.js'
import { createSaltedSession, type SaltedOptions } from './salted-session.js'
import { SALTED_PROTOCOL_VERSION } from './salted-wire.js'
import {
  createSession,
  type ReconcileResult as KeysResult,
  type Role,
  type Session,
  type SessionLimits,
} from './session.js'
import type { MerkleTree } from './tree.js'
import { PROTOCOL_VERSION } from './wire.js'

/** Protocol 1: 128-bit hashes (the previous release). Protocol 2: salted fingerprints. */
export type ReconcileVersion = typeof PROTOCOL_VERSION | typeof SALTED_PROTOCOL_VERSION

export interface ReconcileResult extends KeysResult {
  /**
   * Protocol 2: a fingerprint collision was seen, so differences may be missing from this result;
   * run another session (it draws a new salt). Always false in protocol 1.
   */
  collision: boolean
}

export interface VersionOptions extends SaltedOptions {
  /**
   * Initiator: the protocol to speak; 2 only to a peer that announced it. A responder serves both.
   *
   * @default 1
   */
  version?: ReconcileVersion
}

export interface VersionedSession extends Session {
  result(): ReconcileResult
}

/** Checks the protocol options a caller passed (typed errors, never a bad session). */
export function checkVersionOptions(options: VersionOptions): void {
  const { version, salt, fingerprintBytes } = options
  if (version !== undefined && version !== PROTOCOL_VERSION && version !== SALTED_PROTOCOL_VERSION)
    throw new MerkleInputError('version', `expected ${PROTOCOL_VERSION} or ${SALTED_PROTOCOL_VERSION}`)
  if (salt !== undefined && (!(salt instanceof Uint8Array) || salt.length !== SALT_BYTES))
    throw new MerkleInputError('salt', `expected ${SALT_BYTES} bytes`)
  if (
    fingerprintBytes !== undefined &&
    (!Number.isInteger(fingerprintBytes) ||
      fingerprintBytes < MIN_FINGERPRINT_BYTES ||
      fingerprintBytes > MAX_FINGERPRINT_BYTES)
  )
    throw new MerkleInputError(
      'fingerprintBytes',
      `expected an integer from ${MIN_FINGERPRINT_BYTES} to ${MAX_FINGERPRINT_BYTES}`,
    )
}

export function createVersionedSession(
  tree: MerkleTree,
  role: Role,
  limits: SessionLimits,
  options: VersionOptions = {},
): VersionedSession {
  if (role === 'initiator') {
    return options.version === SALTED_PROTOCOL_VERSION
      ? createSaltedSession(tree, role, limits, options)
      : withoutCollisions(createSession(tree, role, limits))
  }
  return createDispatchingResponder(tree, limits, options)
}

/** Protocol 1 compares 128-bit hashes: it never reports a collision. */
function withoutCollisions(session: Session): VersionedSession {
  const keys = session.result
  return Object.assign(session, { result: (): ReconcileResult => ({ ...keys(), collision: false }) })
}

/**
 * The responder reads its snapshot from the moment it is created, as before; the session of the
 * version the initiator names is built on that snapshot when the first message arrives.
 */
function createDispatchingResponder(
  tree: MerkleTree,
  limits: SessionLimits,
  options: VersionOptions,
): VersionedSession {
  const snapshot = tree.snapshot()
  const onSnapshot = { keysAreHashes: tree.keysAreHashes, snapshot: () => snapshot } as unknown as MerkleTree
  let inner: Session | undefined
  let closed = false
  const started = (): Session => {
    if (inner === undefined) throw new Error('unreachable: the responder builds before it absorbs')
    return inner
  }
  return {
    absorb(message) {
      if (inner === undefined) {
        inner =
          message[0] === SALTED_PROTOCOL_VERSION
            ? // Stryker disable next-line StringLiteral: equivalent, a session is the initiator only for role 'initiator'
              createSaltedSession(onSnapshot, 'responder', limits, options)
            : // Stryker disable next-line StringLiteral: equivalent, a session is the initiator only for role 'initiator'
              createSession(onSnapshot, 'responder', limits)
      }
      inner.absorb(message)
    },
    build: () => started().build(),
    get frameBytes() {
      return inner?.frameBytes ?? limits.maxFrameBytes
    },
    get finished() {
      return inner?.finished ?? false
    },
    get done() {
      return false
    },
    // Only the initiator collects a result; a responder has none to give.
    result: () => ({ ...started().result(), collision: false }),
    close() {
      if (closed) return
      closed = true
      if (inner === undefined) snapshot.release()
      else inner.close()
    },
  }
}
