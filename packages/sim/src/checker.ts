/**
 * The checker: invariants as pure functions over node snapshots taken at quiescence, so they can
 * be tested with made-up snapshots and re-run on a saved report.
 */
export type StoreName = 'revocations' | 'supersessions' | 'assertions'
export const STORES: readonly StoreName[] = ['revocations', 'supersessions', 'assertions']

export interface ViewEntry {
  /** Decimal run id. */
  readonly run: string
  /** `local`, or the hex key of the asserter the component rests on. */
  readonly provenance: string
  /** Hex keys of the asserters that corroborate `run`. */
  readonly corroborators: readonly string[]
}

export interface LedgerLine {
  /** Hex id of the entry (the revocation record's hash). */
  readonly id: string
  readonly kind: string
  readonly subject?: string
}

/** What one node holds at one moment, in plain comparable strings. */
export interface NodeSnapshot {
  readonly name: string
  readonly peerId: string
  /** Hex public key. */
  readonly key: string
  readonly atMs: number
  readonly roots: Readonly<Record<StoreName, string>>
  /** Hex tree keys per store. */
  readonly keys: Readonly<Record<StoreName, readonly string[]>>
  /** Durability view by coordinate. */
  readonly view: Readonly<Record<string, ViewEntry>>
  /**
   * The view the replicated, admissible assertions alone give (no local evidence). Replicas must
   * agree on it; local evidence may only raise a node's own view above it. Defaults to `view`.
   */
  readonly sharedView?: Readonly<Record<string, ViewEntry>>
  /**
   * One digest per history entry, in sequence order: every entry, or (a final snapshot) at least as
   * many as the longest earlier snapshot of the node holds, which is all history-prefix compares.
   */
  readonly history: readonly string[]
  /** Entries in the history when `history` holds only the first of them; absent when it holds all. */
  readonly historyLength?: number
  readonly ledger: readonly LedgerLine[]
  /** Hex keys this node holds revoked. */
  readonly revoked: readonly string[]
}

/** What history-prefix needs of an earlier snapshot: a full {@link NodeSnapshot} will do. */
export type HistorySnapshot = Pick<NodeSnapshot, 'name' | 'atMs' | 'history' | 'historyLength'>

/** A record an honest node's local API accepted (the harness saw `applied`). */
export interface Acknowledgement {
  readonly store: StoreName
  readonly key: string
  readonly signer: string
  readonly node: string
}

/** An honest node refused input, or blamed a peer for an offence. */
export interface Refusal {
  readonly node: string
  /** Peer id of the peer the input came from. */
  readonly peer: string
  readonly reason: string
  readonly count: number
  /** What the refusing node said about it (offences carry a detail). */
  readonly detail?: string
}

export interface ByzantineExpectation {
  readonly peerIds: readonly string[]
  /** Tree keys of forged or refused records that must be on no honest node. */
  readonly forged: readonly { readonly store: StoreName; readonly key: string }[]
  /** Behaviours that ran, each with the refusal reasons any one of which proves it was caught. */
  readonly behaviours: readonly { readonly name: string; readonly reasons: readonly string[] }[]
}

/** What the harness saw of one register a Byzantine peer equivocated on. */
export interface EquivocationEvidence {
  /** The Byzantine peer's name and peer id: both versions are signed by its key. */
  readonly name: string
  readonly peer: string
  readonly store: StoreName
  /** Hex tree key of the register. */
  readonly key: string
  /** Hex hashes of the versions it signed for that register. */
  readonly versions: readonly string[]
  /** Versions honest nodes pulled straight from the Byzantine peer (node name, hash). */
  readonly received: readonly { readonly node: string; readonly version: string }[]
  /** The version each honest node holds at the end; undefined when it holds none. */
  readonly held: readonly { readonly node: string; readonly version: string | undefined }[]
}

export interface CheckInput {
  readonly seed: string
  /** Honest nodes at quiescence. */
  readonly final: readonly NodeSnapshot[]
  /** Earlier snapshots of the same nodes (by name), oldest first. */
  readonly earlier?: readonly HistorySnapshot[]
  readonly acknowledged?: readonly Acknowledgement[]
  /** Hex ids of the revocation records operators issued. */
  readonly revocations?: readonly string[]
  readonly byzantine?: ByzantineExpectation
  readonly refusals?: readonly Refusal[]
  /** Reasons an honest peer never causes; blaming an honest peer for one is a violation. */
  readonly forgeryReasons?: readonly string[]
  /** Registers Byzantine peers equivocated on. */
  readonly equivocations?: readonly EquivocationEvidence[]
}

export type InvariantName =
  | 'same-roots'
  | 'same-durability-view'
  | 'acknowledged-everywhere'
  | 'no-revoked-provenance'
  | 'history-prefix'
  | 'ledger-complete'
  | 'byzantine-excluded'
  | 'byzantine-attributed'
  | 'equivocation-resolved'

export const INVARIANTS: readonly InvariantName[] = [
  'same-roots',
  'same-durability-view',
  'acknowledged-everywhere',
  'no-revoked-provenance',
  'history-prefix',
  'ledger-complete',
  'byzantine-excluded',
  'byzantine-attributed',
  'equivocation-resolved',
]

export interface Violation {
  readonly invariant: InvariantName
  readonly nodes: readonly string[]
  readonly detail: string
}

export interface CheckResult {
  readonly ok: boolean
  readonly seed: string
  readonly checked: readonly InvariantName[]
  readonly violations: readonly Violation[]
}

export const DEFAULT_FORGERY_REASONS: readonly string[] = [
  'malformed',
  'bad-signature',
  'oversized',
  'untrusted-operator',
  'wrong-network',
  'unknown-kind',
  'invalid-run',
  'malformed-frame',
  'oversized-frame',
  'invalid-announcement',
]

const short = (hex: string): string => (hex.length > 12 ? `${hex.slice(0, 12)}…` : hex)

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [item])
    else group.push(item)
  }
  return groups
}

function describeGroups(groups: Map<string, NodeSnapshot[]>, label: (key: string) => string): string {
  return [...groups].map(([key, nodes]) => `{${nodes.map((n) => n.name).join(',')}}=${label(key)}`).join(' ')
}

export function checkSameRoots(final: readonly NodeSnapshot[]): Violation[] {
  return STORES.flatMap((store) => {
    const groups = groupBy(final, (n) => n.roots[store])
    if (groups.size <= 1) return []
    return [
      {
        invariant: 'same-roots' as const,
        nodes: final.map((n) => n.name),
        detail: `${store}: ${groups.size} distinct roots ${describeGroups(groups, short)}`,
      },
    ]
  })
}

/**
 * Run and corroborators per coordinate of the shared view (replicated evidence) must be equal on
 * every honest node, and no node's own view may sit below it: local evidence may only add (a node
 * that verified while revoked keeps evidence its peers never received).
 */
export function checkSameView(final: readonly NodeSnapshot[]): Violation[] {
  const shared = (n: NodeSnapshot) => n.sharedView ?? n.view
  const entryOf = (view: NodeSnapshot['view'], c: string): string => {
    const e = view[c]
    return e === undefined
      ? 'absent'
      : `run ${e.run} by ${[...e.corroborators].sort().map(short).join('+') || 'none'}`
  }
  const canonical = (n: NodeSnapshot): string =>
    JSON.stringify(
      Object.keys(shared(n))
        .sort()
        .map((c) => [c, entryOf(shared(n), c)]),
    )
  const violations: Violation[] = []
  const groups = groupBy(final, canonical)
  if (groups.size > 1) {
    const [first, ...rest] = [...groups.values()]
    const a = first![0]!
    const b = rest[0]![0]!
    const coordinates = [...new Set([...Object.keys(shared(a)), ...Object.keys(shared(b))])].sort()
    const differing = coordinates.find((c) => entryOf(shared(a), c) !== entryOf(shared(b), c)) ?? '?'
    violations.push({
      invariant: 'same-durability-view',
      nodes: final.map((n) => n.name),
      detail: `${groups.size} distinct views; first difference at ${differing}: ${a.name} has ${entryOf(shared(a), differing)}, ${b.name} has ${entryOf(shared(b), differing)}`,
    })
  }
  for (const node of final) {
    for (const [c, e] of Object.entries(shared(node))) {
      const own = node.view[c]
      if (own === undefined || BigInt(own.run) < BigInt(e.run)) {
        violations.push({
          invariant: 'same-durability-view',
          nodes: [node.name],
          detail: `${c}: the view has ${own === undefined ? 'nothing' : `run ${own.run}`} below the evidence's run ${e.run}`,
        })
      }
    }
  }
  return violations
}

/** Records by a key revoked at the end are exempt: a node may refuse them after the revocation. */
export function checkAcknowledged(
  final: readonly NodeSnapshot[],
  acknowledged: readonly Acknowledgement[],
): Violation[] {
  const revokedKeys = new Set(final.flatMap((n) => n.revoked))
  const sets = new Map(
    final.map((n) => [n.name, Object.fromEntries(STORES.map((s) => [s, new Set(n.keys[s])]))]),
  )
  const missing = new Map<string, { count: number; example: Acknowledgement }>()
  for (const ack of acknowledged) {
    if (revokedKeys.has(ack.signer)) continue
    for (const node of final) {
      if (sets.get(node.name)![ack.store]!.has(ack.key)) continue
      const entry = missing.get(node.name)
      if (entry === undefined) missing.set(node.name, { count: 1, example: ack })
      else entry.count++
    }
  }
  return [...missing].map(([node, { count, example }]) => ({
    invariant: 'acknowledged-everywhere' as const,
    nodes: [node, example.node],
    detail: `${node} lacks ${count} acknowledged record(s), e.g. ${example.store} ${short(example.key)} acknowledged by ${example.node}`,
  }))
}

export function checkRevokedProvenance(final: readonly NodeSnapshot[]): Violation[] {
  return final.flatMap((node) => {
    const revoked = new Set(node.revoked)
    return Object.entries(node.view).flatMap(([coordinate, entry]) => {
      const resting = entry.provenance !== 'local' && revoked.has(entry.provenance)
      const corroborating = entry.corroborators.filter((k) => revoked.has(k))
      if (!resting && corroborating.length === 0) return []
      return [
        {
          invariant: 'no-revoked-provenance' as const,
          nodes: [node.name],
          detail: `${coordinate} run ${entry.run} ${resting ? `rests on revoked ${short(entry.provenance)}` : `counts revoked corroborator ${short(corroborating[0]!)}`}`,
        },
      ]
    })
  })
}

/** For each node, the most history entries any of `earlier` holds: what a final snapshot must digest. */
export function historyPrefixes(earlier: readonly HistorySnapshot[]): Map<string, number> {
  const prefixes = new Map<string, number>()
  for (const s of earlier) prefixes.set(s.name, Math.max(prefixes.get(s.name) ?? 0, s.history.length))
  return prefixes
}

export function checkHistoryPrefix(
  final: readonly HistorySnapshot[],
  earlier: readonly HistorySnapshot[],
): Violation[] {
  const byName = groupBy([...earlier, ...final], (n) => n.name)
  return [...byName].flatMap(([name, snapshots]) => {
    const ordered = [...snapshots].sort((x, y) => x.atMs - y.atMs)
    for (let i = 1; i < ordered.length; i++) {
      const before = ordered[i - 1]!.history
      const after = ordered[i]!.history
      const afterLength = ordered[i]!.historyLength ?? after.length
      const diverge = before.findIndex((digest, seq) => after[seq] !== digest)
      // Stryker disable next-line ConditionalExpression: equivalent, a shorter history always diverges (a missing digest is undefined)
      if (diverge >= 0 || afterLength < before.length) {
        // Stryker disable next-line ConditionalExpression: equivalent, diverge is never negative here (see above)
        const at = diverge >= 0 ? diverge : afterLength
        return [
          {
            invariant: 'history-prefix' as const,
            nodes: [name],
            detail: `history at ${ordered[i]!.atMs} ms rewrites entry ${at + 1} of the one at ${ordered[i - 1]!.atMs} ms (${before.length} -> ${afterLength} entries)`,
          },
        ]
      }
    }
    return []
  })
}

export function checkLedgers(final: readonly NodeSnapshot[], revocations: readonly string[]): Violation[] {
  return final.flatMap((node) => {
    const ids = new Set(node.ledger.map((l) => l.id))
    const missing = revocations.filter((id) => !ids.has(id))
    if (missing.length === 0) return []
    return [
      {
        invariant: 'ledger-complete' as const,
        nodes: [node.name],
        detail: `ledger lacks ${missing.length} of ${revocations.length} revocation(s), e.g. ${short(missing[0]!)}`,
      },
    ]
  })
}

export function checkByzantine(
  final: readonly NodeSnapshot[],
  byzantine: ByzantineExpectation,
  refusals: readonly Refusal[],
  forgeryReasons: readonly string[],
): Violation[] {
  const violations: Violation[] = []
  for (const node of final) {
    const sets = Object.fromEntries(STORES.map((s) => [s, new Set(node.keys[s])]))
    const held = byzantine.forged.filter((f) => sets[f.store]!.has(f.key))
    if (held.length > 0) {
      violations.push({
        invariant: 'byzantine-excluded',
        nodes: [node.name],
        detail: `holds ${held.length} forged record(s), e.g. ${held[0]!.store} ${short(held[0]!.key)}`,
      })
    }
  }
  const byzantinePeers = new Set(byzantine.peerIds)
  const forgery = new Set(forgeryReasons)
  const honestPeers = new Map(final.map((n) => [n.peerId, n.name]))
  for (const refusal of refusals) {
    const honest = honestPeers.get(refusal.peer)
    if (honest !== undefined && forgery.has(refusal.reason)) {
      violations.push({
        invariant: 'byzantine-attributed',
        nodes: [refusal.node, honest],
        detail: `${refusal.node} blamed honest ${honest} for ${refusal.reason} (${refusal.count}x)${refusal.detail === undefined ? '' : `: ${refusal.detail}`}`,
      })
    }
  }
  for (const behaviour of byzantine.behaviours) {
    const caught = refusals.some(
      (r) => byzantinePeers.has(r.peer) && r.count > 0 && behaviour.reasons.includes(r.reason),
    )
    if (!caught) {
      violations.push({
        invariant: 'byzantine-attributed',
        nodes: [],
        detail: `behaviour ${behaviour.name} was never refused with ${behaviour.reasons.join('/')} and attributed to a Byzantine peer`,
      })
    }
  }
  return violations
}

/**
 * A register a Byzantine peer equivocated on must end as one version on every honest node, and
 * a version that peer signed: the register merge picks the same winner whatever each node was
 * served first.
 */
export function checkEquivocations(evidence: readonly EquivocationEvidence[]): Violation[] {
  return evidence.flatMap((e) => {
    const register = `${e.name} equivocated on ${e.store} ${short(e.key)}`
    const groups = groupBy([...e.held], (h) => h.version ?? 'nothing')
    if (groups.size > 1) {
      const described = [...groups]
        .map(([version, nodes]) => `{${nodes.map((n) => n.node).join(',')}}=${short(version)}`)
        .join(' ')
      return [
        {
          invariant: 'equivocation-resolved' as const,
          nodes: e.held.map((h) => h.node),
          detail: `${register}: honest nodes hold ${groups.size} versions ${described}`,
        },
      ]
    }
    const version = e.held[0]?.version
    if (version !== undefined && !e.versions.includes(version)) {
      return [
        {
          invariant: 'equivocation-resolved' as const,
          nodes: e.held.map((h) => h.node),
          detail: `${register}: honest nodes hold ${short(version)}, which ${e.name} never signed`,
        },
      ]
    }
    return []
  })
}

/** Runs every invariant the input has data for. */
export function checkInvariants(input: CheckInput): CheckResult {
  const checked: InvariantName[] = ['same-roots', 'same-durability-view', 'no-revoked-provenance']
  const violations = [
    ...checkSameRoots(input.final),
    ...checkSameView(input.final),
    ...checkRevokedProvenance(input.final),
  ]
  if (input.acknowledged !== undefined) {
    checked.push('acknowledged-everywhere')
    violations.push(...checkAcknowledged(input.final, input.acknowledged))
  }
  if (input.earlier !== undefined) {
    checked.push('history-prefix')
    violations.push(...checkHistoryPrefix(input.final, input.earlier))
  }
  if (input.revocations !== undefined) {
    checked.push('ledger-complete')
    violations.push(...checkLedgers(input.final, input.revocations))
  }
  if (input.byzantine !== undefined) {
    checked.push('byzantine-excluded', 'byzantine-attributed')
    violations.push(
      ...checkByzantine(
        input.final,
        input.byzantine,
        // Stryker disable next-line ArrayDeclaration: equivalent, a seeded string is no refusal of any peer
        input.refusals ?? [],
        input.forgeryReasons ?? DEFAULT_FORGERY_REASONS,
      ),
    )
  }
  if (input.equivocations !== undefined && input.equivocations.length > 0) {
    checked.push('equivocation-resolved')
    violations.push(...checkEquivocations(input.equivocations))
  }
  return { ok: violations.length === 0, seed: input.seed, checked, violations }
}

/** One line per violation, naming the invariant, the nodes and the seed to replay. */
export function formatCheck(result: CheckResult): string {
  if (result.ok) return `all ${result.checked.length} invariants hold (seed ${JSON.stringify(result.seed)})`
  return [
    `${result.violations.length} invariant violation(s); replay with --seed ${JSON.stringify(result.seed)}`,
    ...result.violations.map((v) => `  ${v.invariant} [${v.nodes.join(', ') || 'cluster'}]: ${v.detail}`),
  ].join('\n')
}
