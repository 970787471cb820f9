import { DEFAULT_FRESHNESS_MS } from './constants.js'

/**
 * The freshness signal of degraded operation: when each scope last completed a session with a
 * peer that holds it. The service feeds it (`synced`); the store reads it (`isFresh`, given as
 * `openArtifactStore({ freshness: f.isFresh })`), so `current` answers `stale` for a scope no
 * holder confirmed within `maxAgeMs` unless the caller allows stale answers.
 */
export interface ScopeFreshness {
  readonly maxAgeMs: number
  synced(scope: string, atMs?: number): void
  lastSync(scope: string): number | undefined
  isFresh(scope: string): boolean
}

export interface ScopeFreshnessOptions {
  /** @default 120_000 */
  maxAgeMs?: number
  /** @default Date.now */
  wallClock?: () => number
}

export function scopeFreshness(options: ScopeFreshnessOptions = {}): ScopeFreshness {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_FRESHNESS_MS
  const now = options.wallClock ?? Date.now
  const last = new Map<string, number>()
  return {
    maxAgeMs,
    synced: (scope, atMs = now()) => {
      if ((last.get(scope) ?? Number.NEGATIVE_INFINITY) < atMs) last.set(scope, atMs)
    },
    lastSync: (scope) => last.get(scope),
    isFresh: (scope) => {
      const at = last.get(scope)
      return at !== undefined && now() - at <= maxAgeMs
    },
  }
}
