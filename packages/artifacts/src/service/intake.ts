import { toHex } from '../bytes.js'
import { decodeRecord } from '../codec/signed.js'
import type { ArtifactRefusal } from '../errors.js'
import type { ArtifactStore } from '../store/store.js'
import type { ArtifactOffence } from './errors.js'
import { OPERATOR_SCOPE } from './wire.js'

/** What the receiving side needs to take records from a peer. */
export interface IntakeContext {
  readonly store: ArtifactStore
  readonly networkId: string
  readonly tag: Uint8Array
  /** The peer's raw key: the `from` of every record it sends. */
  readonly remoteKey: Uint8Array
  /** Blames the peer once for a reason of a batch that `records` of its records gave. */
  blame(reason: ArtifactOffence, detail: string, records: number): void
}

export interface IntakeTally {
  received: number
  applied: number
  refused: number
  refusedByReason: Record<string, number>
}

export const emptyIntake = (): IntakeTally => ({ received: 0, applied: 0, refused: 0, refusedByReason: {} })

export function addIntake(into: IntakeTally, from: IntakeTally): void {
  into.received += from.received
  into.applied += from.applied
  into.refused += from.refused
  for (const [k, n] of Object.entries(from.refusedByReason))
    into.refusedByReason[k] = (into.refusedByReason[k] ?? 0) + n
}

/** Refusals of `store.apply` that an honest peer never relays after the operator phase, and whom they blame. */
function offenceOf(reason: ArtifactRefusal, operator: boolean): ArtifactOffence | undefined {
  switch (reason) {
    case 'malformed':
    case 'oversized':
    case 'wrong-network':
      return 'malformed-record'
    case 'bad-signature':
      return operator ? 'forged-grant' : 'altered-content'
    case 'untrusted-operator':
      return 'forged-grant'
    case 'content-mismatch':
      return 'altered-content'
    case 'no-publish-grant':
      return 'forged-artifact'
    case 'stale-epoch':
      return 'stale-epoch'
    case 'out-of-scope':
      return 'out-of-scope'
    default:
      // revoked-signer, expired: an honest peer may relay them in a race with a revocation or a clock.
      return undefined
  }
}

/**
 * Checks records a peer sent for `scope` (each must be of that scope), applies them in one call and
 * blames the peer for every kind of lie, once per reason per batch: a record of another scope is
 * never applied nor verified; one we did not ask for (`wanted`) is blamed by the reason its checks
 * give (altered on the way) or as unrequested.
 */
export async function intake(
  ctx: IntakeContext,
  scope: string,
  records: readonly Uint8Array[],
  wanted?: ReadonlySet<string>,
): Promise<IntakeTally> {
  const tally = emptyIntake()
  tally.received = records.length
  const offences = new Map<ArtifactOffence, number>()
  const note = (reason: ArtifactOffence) => offences.set(reason, (offences.get(reason) ?? 0) + 1)
  const kept: Uint8Array[] = []
  const screened: Array<{ operator: boolean; unrequested: boolean }> = []
  const refuse = (reason: string) => {
    tally.refused++
    tally.refusedByReason[reason] = (tally.refusedByReason[reason] ?? 0) + 1
  }
  for (const bytes of records) {
    const verdict = screen(ctx, scope, bytes, wanted)
    if (typeof verdict === 'string') {
      note(verdict)
      refuse(verdict)
      continue
    }
    kept.push(bytes)
    screened.push(verdict)
  }
  const outcomes = kept.length === 0 ? [] : await ctx.store.apply(kept, { from: ctx.remoteKey })
  outcomes.forEach((outcome, i) => {
    const { operator, unrequested } = screened[i]!
    if (outcome.status === 'applied') tally.applied++
    if (outcome.status !== 'refused' || outcome.reason === undefined) {
      // Valid, but not what we asked for: harmless to keep, still a lie about the tree.
      if (unrequested) note('unrequested-record')
      return
    }
    refuse(outcome.reason)
    // An unrequested record that fails its checks was most likely altered on the way: its reason names how.
    const offence = offenceOf(outcome.reason, operator) ?? (unrequested ? 'unrequested-record' : undefined)
    if (offence !== undefined) note(offence)
  })
  for (const [reason, n] of offences) ctx.blame(reason, `${n} record(s) of ${scope || 'operator records'}`, n)
  return tally
}

/** The record's kind and scope against the session's scope, and its hash against what we asked for. */
function screen(
  ctx: IntakeContext,
  scope: string,
  bytes: Uint8Array,
  wanted: ReadonlySet<string> | undefined,
): ArtifactOffence | { operator: boolean; unrequested: boolean } {
  let decoded: ReturnType<typeof decodeRecord>
  try {
    decoded = decodeRecord(bytes, ctx.networkId, ctx.tag, false)
  } catch {
    return 'malformed-record'
  }
  const record = decoded.record
  const operator = record.kind !== 'artifact'
  if (scope === OPERATOR_SCOPE ? !operator : operator || record.scope !== scope) return 'out-of-scope'
  return { operator, unrequested: wanted !== undefined && !wanted.has(toHex(decoded.hash)) }
}
