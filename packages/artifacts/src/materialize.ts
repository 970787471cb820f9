import type { Version } from './select.js'
import { compareVersions } from './select.js'

/** A family materialized: the newest full snapshot and the increments applied to it in order. */
export interface Materialized {
  readonly snapshot: Version | undefined
  readonly increments: readonly Version[]
  /** The version reached (the snapshot's, or the last increment's). */
  readonly version: bigint | undefined
  /** Set when a newer increment exists that cannot be reached: the link after `version` is missing. */
  readonly gap?: { readonly after: bigint | undefined; readonly newest: bigint }
}

/**
 * Follows base versions from the newest full snapshot (no base) among `versions` (admissible,
 * live, not tombstones): at each step the best increment whose base is the version reached.
 * A newer increment that no chain reaches is reported as a gap, never guessed across.
 */
export function materialize(versions: readonly Version[]): Materialized {
  const sorted = [...versions].sort(compareVersions)
  const snapshot = sorted.find((v) => v.artifact.base === undefined)
  if (snapshot === undefined) {
    const newest = sorted[0]
    return newest === undefined
      ? { snapshot, increments: [], version: undefined }
      : {
          snapshot,
          increments: [],
          version: undefined,
          gap: { after: undefined, newest: newest.artifact.version },
        }
  }
  const byBase = new Map<bigint, Version>()
  for (const v of sorted) {
    const base = v.artifact.base
    if (base !== undefined && v.artifact.version > base && !byBase.has(base)) byBase.set(base, v)
  }
  const increments: Version[] = []
  let version = snapshot.artifact.version
  for (let next = byBase.get(version); next !== undefined; next = byBase.get(version)) {
    increments.push(next)
    version = next.artifact.version
    if (increments.length > versions.length) break
  }
  let newest = version
  for (const v of sorted)
    if (v.artifact.base !== undefined && v.artifact.version > newest) newest = v.artifact.version
  return newest > version
    ? { snapshot, increments, version, gap: { after: version, newest } }
    : { snapshot, increments, version }
}
