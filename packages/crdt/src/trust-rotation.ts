import { toHex } from './bytes.js'
import type { Context } from './context.js'
import { InvalidArgumentError } from './errors.js'
import { networkedEntriesOutOfLine } from './invalidations.js'
import { isPublicKey } from './keys.js'
import { applyEntry, reconcileSubjects } from './ledger.js'
import { placeAtOpen } from './membership.js'
import { loadRevoked } from './revocations.js'

/**
 * Puts another operator set in force on a running state (a trust-bundle rotation followed by the
 * embedder), with the effects a restart with those keys has at open, in the same order: who is
 * revoked is re-derived from the stored revocations of the operators now trusted, subjects whose
 * state changed are brought in line (views, trees), invalidations whose standing changed are
 * applied or undone, and revocation and invalidation records move in or out of their trees.
 * Records of a removed operator stay stored (audit) but no longer act; new ones are refused.
 *
 * The new keys take effect for checks at once; commits already under way finish first (they were
 * checked against the old keys), then the state is re-derived, so none of them escapes it.
 * Returns false (and does nothing) when the set is the one in force.
 */
export async function replaceTrust(
  ctx: Context,
  keys: readonly Uint8Array[],
  hooks: {
    readonly inFlight: ReadonlySet<Promise<unknown>>
    readonly watchRoots: <T>(fn: () => T) => T
    readonly checkOpen: () => void
  },
): Promise<boolean> {
  hooks.checkOpen()
  if (!Array.isArray(keys) || !keys.every(isPublicKey))
    throw new InvalidArgumentError('trust', 'every key must be 32 bytes')
  const next = new Set(keys.map(toHex))
  // The context's set is the state's own Set (made in openNodeState): replaced in place, so every
  // module holding the context sees the new keys.
  const trust = ctx.trust as Set<string>
  if (next.size === trust.size && [...next].every((k) => trust.has(k))) return false
  trust.clear()
  for (const key of next) trust.add(key)
  await Promise.allSettled([...hooks.inFlight])
  hooks.checkOpen()
  hooks.watchRoots(() => {
    loadRevoked(ctx)
    reconcileSubjects(ctx)
    for (const entry of networkedEntriesOutOfLine(ctx)) applyEntry(ctx, entry)
    placeAtOpen(ctx)
  })
  return true
}
