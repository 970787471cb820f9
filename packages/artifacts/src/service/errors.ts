import { ArtifactError } from '../errors.js'

/**
 * What a lying or broken peer did, each counted and fed to sync's per-peer budgets (a peer past
 * the offence threshold is blocked): `altered-content` (an artifact whose bytes no longer match
 * its hash or signature), `forged-grant` (an operator record with a bad signature or by a key
 * outside the trust bundle), `forged-artifact` (signed by a key without a live publish grant),
 * `stale-epoch`, `out-of-scope` (a record of a scope the session does not share), `malformed-record`,
 * `unrequested-record`, `malformed-frame`, `unexpected-message`, `lying-tree` (a reconciliation
 * answer merkle rejects), `probe` (asking for a scope we did not list for it), `timeout`,
 * `too-many-sessions`, `wrong-network`.
 */
export type ArtifactOffence =
  | 'altered-content'
  | 'forged-grant'
  | 'forged-artifact'
  | 'stale-epoch'
  | 'out-of-scope'
  | 'malformed-record'
  | 'unrequested-record'
  | 'malformed-frame'
  | 'unexpected-message'
  | 'lying-tree'
  | 'probe'
  | 'timeout'
  | 'too-many-sessions'
  | 'wrong-network'

export const ARTIFACT_OFFENCES: readonly ArtifactOffence[] = [
  'altered-content',
  'forged-grant',
  'forged-artifact',
  'stale-epoch',
  'out-of-scope',
  'malformed-record',
  'unrequested-record',
  'malformed-frame',
  'unexpected-message',
  'lying-tree',
  'probe',
  'timeout',
  'too-many-sessions',
  'wrong-network',
]

/**
 * Why a session was refused, as the refusal frame names it: `not-admitted` (closed network: no
 * live member grant), `wrong-network`, `blocked`, `busy` (too many sessions), `not-shared` (a
 * scope the responder did not list for this peer), `malformed`, `internal`.
 */
export type ArtifactSyncRefusal =
  | 'not-admitted'
  | 'wrong-network'
  | 'blocked'
  | 'busy'
  | 'not-shared'
  | 'malformed'
  | 'internal'

export const ARTIFACT_SYNC_REFUSALS: readonly ArtifactSyncRefusal[] = [
  'not-admitted',
  'wrong-network',
  'blocked',
  'busy',
  'not-shared',
  'malformed',
  'internal',
]

/** Base class of the replication service's errors. */
export class ArtifactSyncError extends ArtifactError {
  static override name = 'ArtifactSyncError'
  override name = 'ArtifactSyncError'
}

/** The remote broke the protocol or lied; `reason` is the offence it is blamed for. */
export class ArtifactProtocolError extends ArtifactSyncError {
  static override name = 'ArtifactProtocolError'
  override name = 'ArtifactProtocolError'
  constructor(
    readonly reason: ArtifactOffence,
    readonly peer: string,
    readonly detail: string,
  ) {
    super(`peer ${peer}: ${reason}: ${detail}`)
  }
}

/** The remote refused the session (or a scope) with a typed refusal frame. */
export class ArtifactSyncRefusedError extends ArtifactSyncError {
  static override name = 'ArtifactSyncRefusedError'
  override name = 'ArtifactSyncRefusedError'
  constructor(
    readonly code: ArtifactSyncRefusal | 'unknown',
    readonly peer: string,
    readonly detail: string,
  ) {
    super(`peer ${peer} refused (${code}): ${detail}`)
  }
}

/** We refused the remote (it is not admitted, another network, blocked): nothing else was said. */
export class PeerNotAdmittedError extends ArtifactSyncError {
  static override name = 'PeerNotAdmittedError'
  override name = 'PeerNotAdmittedError'
  constructor(
    readonly code: ArtifactSyncRefusal,
    readonly peer: string,
  ) {
    super(`peer ${peer} refused: ${code}`)
  }
}
