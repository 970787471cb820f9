import { coveredByAny } from '@provsync/artifacts'

/** What one node ended with, as the artifact checker reads it (no I/O: a snapshot). */
export interface ArtifactNodeSnapshot {
  readonly id: string
  readonly honest: boolean
  /** Prefixes of its live hold grant. */
  readonly granted: readonly string[]
  /** Exact scopes it stores. */
  readonly scopes: readonly string[]
  /** Per stored scope: `family/name` → record hash (hex) of the current version. */
  readonly current: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** Per stored scope: its root (hex). */
  readonly roots: Readonly<Record<string, string>>
}

/** An artifact's content seen in a frame `node` received from `from`, by the artifact's scope. */
export interface ReceivedArtifact {
  readonly node: string
  readonly from: string
  readonly scope: string
}

/** An offence a node recorded against a peer. */
export interface BlameSeen {
  readonly at: string
  readonly peer: string
  readonly reason: string
}

export interface ArtifactRunSnapshot {
  readonly nodes: readonly ArtifactNodeSnapshot[]
  readonly received: readonly ReceivedArtifact[]
  readonly offences: readonly BlameSeen[]
  /** Reasons the hostile node's lies must each have been blamed for at least once. */
  readonly expectedOffences: readonly string[]
}

export type ArtifactInvariant = 'isolation' | 'convergence' | 'attribution'

export interface ArtifactViolation {
  readonly invariant: ArtifactInvariant
  readonly detail: string
}

/**
 * The artifact scenario's invariants: no node holds, or received from an honest peer, an artifact
 * outside its scopes; every honest holder of a scope ends with the same root and current
 * versions; every offence names a hostile peer, and each expected lie was blamed.
 */
export function checkArtifactRun(run: ArtifactRunSnapshot): ArtifactViolation[] {
  return [...isolation(run), ...convergence(run), ...attribution(run)]
}

function isolation(run: ArtifactRunSnapshot): ArtifactViolation[] {
  const out: ArtifactViolation[] = []
  const byId = new Map(run.nodes.map((n) => [n.id, n]))
  for (const n of run.nodes) {
    for (const scope of n.scopes)
      if (!coveredByAny(n.granted, scope))
        out.push({ invariant: 'isolation', detail: `${n.id} holds ${scope}, outside its grant` })
  }
  for (const r of run.received) {
    const node = byId.get(r.node)
    const from = byId.get(r.from)
    if (node === undefined || from === undefined || !from.honest) continue
    if (!coveredByAny(node.granted, r.scope))
      out.push({
        invariant: 'isolation',
        detail: `${r.node} received an artifact of ${r.scope} from ${r.from}`,
      })
  }
  return out
}

function convergence(run: ArtifactRunSnapshot): ArtifactViolation[] {
  const out: ArtifactViolation[] = []
  const scopes = new Set(run.nodes.flatMap((n) => n.scopes))
  for (const scope of [...scopes].sort()) {
    const holders = run.nodes.filter((n) => n.honest && coveredByAny(n.granted, scope))
    const first = holders[0]
    if (first === undefined) continue
    const want = JSON.stringify(sorted(first.current[scope] ?? {}))
    for (const n of holders.slice(1)) {
      if (n.roots[scope] !== first.roots[scope])
        out.push({
          invariant: 'convergence',
          detail: `${n.id} and ${first.id} differ on the root of ${scope}`,
        })
      else if (JSON.stringify(sorted(n.current[scope] ?? {})) !== want)
        out.push({
          invariant: 'convergence',
          detail: `${n.id} and ${first.id} differ on current versions of ${scope}`,
        })
    }
  }
  return out
}

function attribution(run: ArtifactRunSnapshot): ArtifactViolation[] {
  const out: ArtifactViolation[] = []
  const honest = new Set(run.nodes.filter((n) => n.honest).map((n) => n.id))
  for (const o of run.offences)
    if (honest.has(o.peer))
      out.push({ invariant: 'attribution', detail: `${o.at} blamed honest ${o.peer} for ${o.reason}` })
  const blamed = new Set(run.offences.filter((o) => !honest.has(o.peer)).map((o) => o.reason))
  for (const reason of run.expectedOffences)
    if (!blamed.has(reason))
      out.push({ invariant: 'attribution', detail: `no node blamed the hostile peer for ${reason}` })
  return out
}

function sorted(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}
