/** Base class of every error this package throws. */
export class ArtifactError extends Error {
  override name = 'ArtifactError'
}

/** Why a record was refused; each reason is counted separately. */
export type ArtifactRefusal =
  | 'malformed'
  | 'oversized'
  | 'wrong-network'
  | 'bad-signature'
  | 'untrusted-operator'
  | 'revoked-signer'
  | 'no-publish-grant'
  | 'stale-epoch'
  | 'content-mismatch'
  | 'out-of-scope'
  | 'expired'

export const REFUSAL_REASONS: readonly ArtifactRefusal[] = [
  'malformed',
  'oversized',
  'wrong-network',
  'bad-signature',
  'untrusted-operator',
  'revoked-signer',
  'no-publish-grant',
  'stale-epoch',
  'content-mismatch',
  'out-of-scope',
  'expired',
]

/** A record failed a check; `reason` says which one. */
export class ArtifactRefusedError extends ArtifactError {
  override name = 'ArtifactRefusedError'
  constructor(
    readonly reason: ArtifactRefusal,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`)
  }
}

/** Bytes that are not a canonical record encoding (`field` names the first bad field). */
export class MalformedRecordError extends ArtifactRefusedError {
  override name = 'MalformedRecordError'
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super('malformed', `${field}: ${detail}`)
  }
}

/** A field (or the whole record) over its bound. */
export class OversizedFieldError extends ArtifactRefusedError {
  override name = 'OversizedFieldError'
  constructor(
    readonly field: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('oversized', `${field} is ${size} bytes, limit ${limit}`)
  }
}

/** A scope path that breaks the scope grammar. */
export class InvalidScopeError extends ArtifactError {
  override name = 'InvalidScopeError'
  constructor(
    readonly scope: string,
    readonly detail: string,
  ) {
    super(`invalid scope ${JSON.stringify(scope)}: ${detail}`)
  }
}

/** A text field that is not canonical text (UTF-8, NFC, no BOM or control characters). */
export class InvalidTextError extends ArtifactError {
  override name = 'InvalidTextError'
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`)
  }
}

/** A bad call (wrong argument type or range), not bad data from a peer. */
export class InvalidArgumentError extends ArtifactError {
  override name = 'InvalidArgumentError'
  constructor(
    readonly argument: string,
    readonly detail: string,
  ) {
    super(`${argument}: ${detail}`)
  }
}

/** Why a trust-bundle link was refused. */
export type TrustLinkRefusal = 'malformed' | 'replayed' | 'skipped' | 'below-threshold' | 'wrong-family'

/** A trust-bundle link that does not follow from the bundle in force. */
export class TrustChainError extends ArtifactError {
  override name = 'TrustChainError'
  constructor(
    readonly reason: TrustLinkRefusal,
    readonly version: bigint,
    readonly detail: string,
  ) {
    super(`trust bundle v${version} refused (${reason}): ${detail}`)
  }
}

/** The store was closed. */
export class StoreClosedError extends ArtifactError {
  override name = 'StoreClosedError'
  constructor() {
    super('the artifact store is closed')
  }
}
