import { compareBytes } from './bytes.js'
import type { Artifact } from './codec/types.js'

/** An artifact version with its content address, as the selection reads it. */
export interface Version {
  readonly artifact: Artifact
  readonly hash: Uint8Array
}

/** Orders versions: higher (epoch, version) first, then higher record hash. */
export function compareVersions(a: Version, b: Version): number {
  if (a.artifact.epoch !== b.artifact.epoch) return a.artifact.epoch > b.artifact.epoch ? -1 : 1
  if (a.artifact.version !== b.artifact.version) return a.artifact.version > b.artifact.version ? -1 : 1
  return -compareBytes(a.hash, b.hash)
}

/**
 * The winner among `versions` that `admissible` accepts: highest (epoch, version), then record
 * hash. A pure max over a set, so order, batching and duplication never change it.
 */
export function selectWinner<V extends Version>(
  versions: Iterable<V>,
  admissible: (v: V) => boolean,
): V | undefined {
  let best: V | undefined
  for (const v of versions) {
    if (admissible(v) && (best === undefined || compareVersions(v, best) < 0)) best = v
  }
  return best
}

/** What `current` answers. `stale` is true only when the caller allowed stale answers. */
export type CurrentResult =
  | { readonly status: 'current'; readonly version: Version; readonly stale: boolean }
  | { readonly status: 'expired'; readonly version: Version; readonly stale: boolean }
  | { readonly status: 'deleted'; readonly version: Version; readonly stale: boolean }
  | { readonly status: 'none'; readonly stale: boolean }
  /** The scope is not fresh (no peer reachable) and the caller did not allow stale answers. */
  | { readonly status: 'stale' }

/**
 * Describes the winner: a tombstone is `deleted`, an expired one `expired` (never current).
 * When the scope is not fresh, the answer is given only if `allowStale`, and marked stale.
 */
export function describeWinner(
  winner: Version | undefined,
  nowMs: number,
  fresh: boolean,
  allowStale: boolean,
): CurrentResult {
  if (!fresh && !allowStale) return { status: 'stale' }
  const stale = !fresh
  if (winner === undefined) return { status: 'none', stale }
  if (winner.artifact.tombstone) return { status: 'deleted', version: winner, stale }
  const expiry = winner.artifact.expiresAt
  if (expiry !== undefined && expiry <= nowMs) return { status: 'expired', version: winner, stale }
  return { status: 'current', version: winner, stale }
}
