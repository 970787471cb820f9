import { blake3 } from '@provsync/crdt'
import type { Authority, RevocationSource } from './authority.js'
import { equalBytes } from './bytes.js'
import type { Artifact, Grant, ScopeEpoch, Withdrawal } from './codec/types.js'
import type { ArtifactRefusal } from './errors.js'

/** What the checks read: all of it supplied by the caller, so the checks are pure. */
export interface CheckContext {
  readonly authority: Authority
  readonly revocations: RevocationSource
  /** Whether this node holds `scope` (a live `hold` grant of its own key covers it). */
  readonly holds: (scope: string) => boolean
  readonly nowMs: number
  /** Families whose artifacts are refused when they arrive already expired (default: `decision`). */
  readonly refuseExpiredFamilies?: ReadonlySet<string>
}

export type CheckResult = { ok: true } | { ok: false; reason: ArtifactRefusal; detail: string }

const OK: CheckResult = { ok: true }
const DEFAULT_REFUSE_EXPIRED: ReadonlySet<string> = new Set(['decision'])

function refuse(reason: ArtifactRefusal, detail: string): CheckResult {
  return { ok: false, reason, detail }
}

/** Checks that need no signature: scope held first, so nothing of a scope not held is looked at further. */
export function checkArtifact(a: Artifact, ctx: CheckContext): CheckResult {
  if (!ctx.holds(a.scope)) return refuse('out-of-scope', `this node does not hold ${a.scope}`)
  if (ctx.revocations.isRevoked(a.publisher)) return refuse('revoked-signer', 'the publisher key is revoked')
  if (!ctx.authority.allows(a.publisher, 'publish', a.scope, ctx.nowMs, ctx.revocations)) {
    return refuse('no-publish-grant', `no live publish grant covers ${a.scope}`)
  }
  const min = ctx.authority.minEpoch(a.scope)
  if (a.epoch < min)
    return refuse('stale-epoch', `epoch ${a.epoch} is below ${min}, the minimum of ${a.scope}`)
  if (a.content !== undefined && !equalBytes(blake3(a.content), a.contentHash)) {
    return refuse('content-mismatch', 'the inline content does not match its hash')
  }
  const refuseExpired = ctx.refuseExpiredFamilies ?? DEFAULT_REFUSE_EXPIRED
  if (a.expiresAt !== undefined && a.expiresAt <= ctx.nowMs && refuseExpired.has(a.family)) {
    return refuse('expired', `a ${a.family} that expired at ${a.expiresAt}`)
  }
  return OK
}

/** Operator records answer to the trust bundle only. */
export function checkOperatorRecord(r: Grant | Withdrawal | ScopeEpoch, authority: Authority): CheckResult {
  if (!authority.isTrusted(r.operator))
    return refuse('untrusted-operator', 'the operator is not in the trust bundle')
  return OK
}

/**
 * Whether a stored artifact counts now: its publisher is not revoked and holds a live publish
 * grant covering its scope, and its epoch is not below the scope's minimum. The replicated set
 * (the scope's Merkle tree) and the current versions are taken over admissible artifacts only.
 */
export function isAdmissible(
  a: Artifact,
  authority: Authority,
  revocations: RevocationSource,
  nowMs: number,
): boolean {
  return (
    !revocations.isRevoked(a.publisher) &&
    authority.allows(a.publisher, 'publish', a.scope, nowMs, revocations) &&
    a.epoch >= authority.minEpoch(a.scope)
  )
}
