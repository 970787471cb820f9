import type { Authority } from '../authority.js'
import { isAdmissible } from '../checks.js'
import type { Artifact } from '../codec/types.js'
import { type Materialized, materialize } from '../materialize.js'
import { type CurrentResult, compareVersions, describeWinner } from '../select.js'
import type { Context } from './context.js'
import { versionRange, viewKey } from './db.js'
import { refreshAll, viewKeysUnder } from './maintenance.js'
import { type StoredVersion, storedVersions, storedWinner, writeTransaction } from './view.js'

export interface CurrentOptions {
  /** Answer from local state when the scope is not fresh (no peer reachable); marked `stale`. */
  readonly allowStale?: boolean
}

/** One stored version and whether it counts now. */
export interface HistoryEntry {
  readonly version: StoredVersion
  readonly admissible: boolean
}

export interface ListEntry {
  readonly family: string
  readonly name: string
  readonly result: CurrentResult
}

/** An admissible answer, valid while the authority's generation holds and until `until` (grant expiry). */
interface AdmitMemo {
  readonly authority: Authority
  readonly generation: number
  readonly until: number
}

/**
 * Admissible answers per decoded artifact. A decision hit spent most of its time in the
 * admissibility join (grant slot lookup, trusted-operator scan, scope cover, epoch scan); the
 * answer only moves with the authority's generation, the grant's expiry and revocation, and
 * revocation is still asked on every read.
 */
const admitted = new WeakMap<Artifact, AdmitMemo>()

function admissibleNow(ctx: Context, a: Artifact, nowMs: number): boolean {
  if (ctx.revocations.isRevoked(a.publisher)) return false
  const authority = ctx.authority
  const memo = admitted.get(a)
  if (memo !== undefined && memo.authority === authority && memo.generation === authority.generation)
    return nowMs < memo.until
  const until = authority.publishUntil(a.publisher, a.scope, nowMs, ctx.revocations)
  if (until === undefined || a.epoch < authority.minEpoch(a.scope)) return false
  admitted.set(a, { authority, generation: authority.generation, until })
  return true
}

/**
 * The winner of a view key, re-derived first when its publisher's status moved since the last
 * refresh (revoked, grant withdrawn or expired), so nothing revoked is answered from the view.
 */
function liveWinner(
  ctx: Context,
  scope: string,
  family: string,
  name: string,
  nowMs: number,
): StoredVersion | undefined {
  const id = `${scope}\u0000${family}\u0000${name}`
  const cached = ctx.viewCache.get(id)
  const winner =
    cached === undefined ? storedWinner(ctx, viewKey(scope, family, name), id) : (cached ?? undefined)
  if (winner === undefined) return undefined
  if (admissibleNow(ctx, winner.artifact, nowMs)) return winner
  writeTransaction(
    ctx,
    () => refreshAll(ctx, winner.artifact.publisher),
    () => {},
  )
  return storedWinner(ctx, viewKey(scope, family, name), id)
}

export function current(
  ctx: Context,
  scope: string,
  family: string,
  name: string,
  options: CurrentOptions = {},
) {
  const fresh = ctx.freshness(scope)
  const allowStale = options.allowStale === true
  if (!fresh && !allowStale) return { status: 'stale' } as const
  const now = ctx.wallClock()
  return describeWinner(liveWinner(ctx, scope, family, name, now), now, fresh, allowStale)
}

/** Every stored version of (scope, family, name), newest (epoch, version) first. */
export function history(ctx: Context, scope: string, family: string, name: string): HistoryEntry[] {
  const now = ctx.wallClock()
  return storedVersions(ctx, viewKey(scope, family, name))
    .sort(compareVersions)
    .map((version) => ({
      version,
      admissible: isAdmissible(version.artifact, ctx.authority, ctx.revocations, now),
    }))
}

/** The current version of every (family, name) stored in exactly `scope` (optionally one family). */
export function list(
  ctx: Context,
  scope: string,
  options: { family?: string } & CurrentOptions = {},
): ListEntry[] {
  const out: ListEntry[] = []
  for (const view of viewKeysUnder(ctx, scope)) {
    const [s = '', family = '', name = ''] = new TextDecoder().decode(view).split('\u0000')
    if (s !== scope || (options.family !== undefined && family !== options.family)) continue
    out.push({ family, name, result: current(ctx, scope, family, name, options) })
  }
  return out
}

/** Materializes a family of a scope over its admissible, unexpired, non-tombstone versions. */
export function materializeFamily(ctx: Context, scope: string, family: string): Materialized {
  const now = ctx.wallClock()
  const versions: StoredVersion[] = []
  for (const view of viewKeysUnder(ctx, scope)) {
    const [s, f] = new TextDecoder().decode(view).split('\u0000')
    if (s !== scope || f !== family) continue
    for (const v of storedVersions(ctx, view)) {
      const a = v.artifact
      const live = a.expiresAt === undefined || a.expiresAt > now
      if (!a.tombstone && live && isAdmissible(a, ctx.authority, ctx.revocations, now)) versions.push(v)
    }
  }
  return materialize(versions)
}

export function hasVersions(ctx: Context, scope: string, family: string, name: string): boolean {
  for (const _ of ctx.dbs.versions.getKeys({ ...versionRange(viewKey(scope, family, name)), limit: 1 }))
    return true
  return false
}
