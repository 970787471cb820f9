import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { toHex } from './bytes.js'
import type { ArtifactRefusal } from './errors.js'
import type { ArtifactStore } from './store/store.js'

/** Why a fetch of a scope from a peer failed, as the network service reports it. */
export type FetchFailure = 'timeout' | 'refused' | 'protocol' | 'connection' | 'invalid'

/** Why this node denied a peer: no live member grant, a scope not granted, a blocked peer, another network. */
export type DenialReason = 'not-member' | 'not-granted' | 'blocked' | 'wrong-network'

export interface ArtifactMetricsOptions {
  /** Where the series are registered (the node's `/metrics` registry); default a registry of their own. */
  readonly registry?: Registry
  /** The store whose scopes, current versions, refusals and view changes the gauges read at each scrape. */
  readonly store?: ArtifactStore
  /** Whether a scope is fresh: the same function the store was opened with; default always fresh. */
  readonly freshness?: (scope: string) => boolean
}

/**
 * The artifact layer's Prometheus series, per scope (the list of observability in 004). Gauges
 * read the store when scraped; the network service feeds fetches, failures, denials and the
 * roots its peers announce through the methods below.
 */
export interface ArtifactMetrics {
  readonly registry: Registry
  /** A peer's root of `scope` as it announced it: counted while it differs from ours. */
  notePeerRoot(scope: string, peer: string, root: Uint8Array): void
  /**
   * Everything `peer` listed in its last scope list (the service's `artifacts:peer-roots` event):
   * replaces what was noted of it before; an empty map forgets it.
   */
  notePeerRoots(peer: string, roots: ReadonlyMap<string, Uint8Array>): void
  /** Forgets a peer (disconnected, or no longer granted the scope). */
  forgetPeer(peer: string): void
  /** One reconciliation of `scope` with a peer finished in `seconds`. */
  observeFetch(scope: string, seconds: number): void
  fetchFailed(scope: string, reason: FetchFailure): void
  /** A peer's request denied; `scope` only when this node holds it (anything else is the peer's text). */
  denied(reason: DenialReason, scope?: string): void
  /** Reads the view changes since the last call (lag of arrivals); the scrape does it too. */
  poll(): number
}

// Lag from issue (the publisher's HLC) to the view change here: publish-to-holder on loopback is
// tens of ms (issue #14, publish_to_all_ms), an offline holder catches up in minutes to hours.
const LAG_BUCKETS = [0.05, 0.25, 1, 5, 30, 120, 600, 3600]
const FETCH_BUCKETS = [0.005, 0.02, 0.1, 0.5, 2, 10, 60]
/** Label of a denial whose scope this node does not hold: a peer's text never becomes a label. */
export const OTHER_SCOPE = '(other)'

export function createArtifactMetrics(options: ArtifactMetricsOptions = {}): ArtifactMetrics {
  const registry = options.registry ?? new Registry()
  const registers = [registry]
  const store = options.store
  const fresh = options.freshness ?? (() => true)
  const peerRoots = new Map<string, Map<string, string>>()
  const lag = new Histogram({
    name: 'provsync_artifact_replication_lag_seconds',
    help: 'Time from an artifact being issued (publisher HLC) to it becoming current here, by scope',
    labelNames: ['scope'],
    buckets: LAG_BUCKETS,
    registers,
    collect: () => {
      poll()
    },
  })
  let seq = 0
  const poll = (): number => {
    if (store !== undefined) seq = observeLag(store, seq, lag)
    return seq
  }
  scopeGauges(registers, store, fresh, poll)
  new Gauge({
    name: 'provsync_artifact_holders_root_differs',
    help: 'Peers holding a scope whose last announced root differs from ours, by scope',
    labelNames: ['scope'],
    registers,
    collect() {
      this.reset()
      if (store === undefined) return
      const ours = store.scopeRoots()
      for (const [scope, root] of ours) {
        const theirs = peerRoots.get(scope)
        const hex = toHex(root)
        let n = 0
        for (const r of theirs?.values() ?? []) if (r !== hex) n++
        this.set({ scope }, n)
      }
    },
  })
  const fetchSeconds = new Histogram({
    name: 'provsync_artifact_fetch_seconds',
    help: 'Time of one reconciliation of a scope with a peer, by scope',
    labelNames: ['scope'],
    buckets: FETCH_BUCKETS,
    registers,
  })
  const failures = new Counter({
    name: 'provsync_artifact_fetch_failures_total',
    help: 'Reconciliations of a scope with a peer that failed, by scope and reason',
    labelNames: ['scope', 'reason'],
    registers,
  })
  const denials = new Counter({
    name: 'provsync_artifact_authorization_denials_total',
    help: 'Peer requests this node denied (not a member, scope not granted), by reason and held scope',
    labelNames: ['reason', 'scope'],
    registers,
  })
  refusalCounter(registers, store)
  const notePeerRoot = (scope: string, peer: string, root: Uint8Array): void => {
    let roots = peerRoots.get(scope)
    if (roots === undefined) peerRoots.set(scope, (roots = new Map()))
    roots.set(peer, toHex(root))
  }
  const forgetPeer = (peer: string): void => {
    for (const [scope, roots] of peerRoots)
      if (roots.delete(peer) && roots.size === 0) peerRoots.delete(scope)
  }
  return {
    registry,
    notePeerRoot,
    notePeerRoots(peer, roots) {
      forgetPeer(peer)
      for (const [scope, root] of roots) notePeerRoot(scope, peer, root)
    },
    forgetPeer,
    observeFetch: (scope, seconds) => fetchSeconds.observe({ scope }, seconds),
    fetchFailed: (scope, reason) => failures.inc({ scope, reason }),
    denied(reason, scope) {
      const held = scope !== undefined && store !== undefined && store.scopes().includes(scope)
      denials.inc({ reason, scope: held ? scope : OTHER_SCOPE })
    },
    poll,
  }
}

type ScopeFigures = ReturnType<typeof scopeFigures> & { stale: number }

/** Records, current versions, stale current versions and version gaps per stored scope. */
function scopeGauges(
  registers: Registry[],
  store: ArtifactStore | undefined,
  fresh: (scope: string) => boolean,
  poll: () => number,
): void {
  // One read of the store per scrape, shared by the four gauges (prom-client collects each
  // gauge separately): kept until the scrape's turn of the event loop ends, or the store changes.
  let cached: { key: string; figures: Map<string, ScopeFigures> } | undefined
  const figures = (): Map<string, ScopeFigures> => {
    const out = new Map<string, ScopeFigures>()
    if (store === undefined) return out
    const key = `${poll()}/${store.counters.applied}`
    if (cached?.key === key) return cached.figures
    for (const scope of store.scopes()) {
      const f = scopeFigures(store, scope)
      out.set(scope, { ...f, stale: fresh(scope) ? 0 : f.current })
    }
    const entry = { key, figures: out }
    cached = entry
    setImmediate(() => {
      if (cached === entry) cached = undefined
    })
    return out
  }
  const gauge = (name: string, help: string, field: keyof ScopeFigures) =>
    new Gauge({
      name,
      help,
      labelNames: ['scope'],
      registers,
      collect() {
        this.reset()
        for (const [scope, f] of figures()) this.set({ scope }, f[field])
      },
    })
  gauge('provsync_artifacts', 'Admissible artifacts stored (the scope tree), by scope', 'records')
  gauge('provsync_artifact_current_versions', 'Names with a current version, by scope', 'current')
  gauge(
    'provsync_artifact_stale_current_versions',
    'Current versions of scopes that are not fresh (no recent sync), answered only to allowStale',
    'stale',
  )
  gauge(
    'provsync_artifact_version_gaps',
    'Families whose increments stop before the newest (a missing base version), by scope',
    'gaps',
  )
}

/** The figures of one scope: O(names of the scope), read at scrape time only. */
export function scopeFigures(
  store: ArtifactStore,
  scope: string,
): { records: number; current: number; gaps: number } {
  const entries = store.list(scope, { allowStale: true })
  const incremental = new Set<string>()
  let current = 0
  for (const e of entries) {
    if (e.result.status !== 'current') continue
    current++
    if (e.result.version.artifact.base !== undefined) incremental.add(e.family)
  }
  let gaps = 0
  for (const family of incremental) if (store.materialize(scope, family).gap !== undefined) gaps++
  return { records: store.tree(scope)?.count() ?? 0, current, gaps }
}

/** Arrival lag of the advances applied from peers since view change `since`; returns the new cursor. */
function observeLag(store: ArtifactStore, since: number, lag: Histogram<'scope'>): number {
  const own = toHex(store.nodeKey)
  let seq = since
  for (;;) {
    const changes = store.viewChanges(seq, 1000)
    if (changes.length === 0) return seq
    for (const c of changes) {
      seq = c.seq
      if (c.kind !== 'advance' || c.cause.type !== 'apply' || c.cause.from === own) continue
      // From the name's history, not its current version: a later change may have replaced it.
      const arrived = store.history(c.scope, c.family, c.name).find((h) => toHex(h.version.hash) === c.after)
      if (arrived === undefined) continue
      lag.observe({ scope: c.scope }, Math.max(0, c.atMs - arrived.version.artifact.hlc.wallMs) / 1000)
    }
  }
}

/** Refusals by reason, from the store's own counters (the store counts every record it refuses). */
function refusalCounter(registers: Registry[], store: ArtifactStore | undefined): void {
  const seen = new Map<ArtifactRefusal, number>()
  new Counter({
    name: 'provsync_artifact_refusals_total',
    help: 'Artifact and operator records refused on arrival, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      if (store === undefined) return
      for (const [reason, n] of Object.entries(store.counters.refused) as [ArtifactRefusal, number][]) {
        const delta = n - (seen.get(reason) ?? 0)
        if (delta > 0) this.inc({ reason }, delta)
        else if (!seen.has(reason)) this.inc({ reason }, 0)
        seen.set(reason, n)
      }
    },
  })
}
