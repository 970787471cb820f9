/** Reads a live node's state into the plain {@link NodeSnapshot} the checker compares. */
import { hash } from 'node:crypto'
import { type Component, deriveComponent, formatCoordinate, type NodeState, toHex } from '@provsync/crdt'
import { type HistorySnapshot, type NodeSnapshot, STORES, type StoreName, type ViewEntry } from './checker.js'

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return v.toString()
    if (v instanceof Uint8Array) return toHex(v)
    return v
  })
}

function viewEntry(component: Component): ViewEntry {
  return {
    run: component.run.toString(),
    provenance: component.provenance.type === 'local' ? 'local' : toHex(component.provenance.asserter),
    corroborators: component.corroborators.map(toHex),
  }
}

/**
 * One digest per history entry, in sequence order: all of them, or the first `upTo`. Reading and
 * digesting an entry costs 22-26 µs of CPU (decode 10-15, `canonical` 8, SHA-256 1.4-3; README,
 * "Session 15 (node thread)"), so the final snapshot reads only what history-prefix compares.
 */
function historyDigests(state: NodeState, upTo = Number.POSITIVE_INFINITY): string[] {
  const history: string[] = []
  for (let seq = 0; history.length < upTo; ) {
    const page = state.history.since(seq, Math.min(10_000, upTo - history.length))
    if (page.length === 0) break
    // One-shot hash: 1.4-1.7 µs per entry against createHash's 2.0-3.1 (same digest).
    for (const entry of page) history.push(hash('sha256', canonical(entry), 'hex').slice(0, 32))
    seq = page[page.length - 1]!.seq
  }
  return history
}

/** Just the history of a live node, for the history-prefix invariant's earlier snapshots. */
export function snapshotHistory(state: NodeState, meta: { name: string; atMs: number }): HistorySnapshot {
  return { name: meta.name, atMs: meta.atMs, history: historyDigests(state) }
}

/** The history of a final snapshot, cut to `prefix` entries when given (see {@link snapshotNode}). */
function finalHistory(
  state: NodeState,
  prefix: number | undefined,
): Pick<NodeSnapshot, 'history' | 'historyLength'> {
  const history = historyDigests(state, prefix)
  // Cut short: the rest is counted, not read (crdt numbers history entries 1, 2, 3, ... and never deletes one).
  return prefix !== undefined && history.length === prefix
    ? { history, historyLength: state.history.latestSeq() }
    : { history }
}

export function rootTriple(state: NodeState): string {
  return STORES.map((s) => toHex(state.tree(s).root())).join(':')
}

/**
 * A node's final snapshot for the checker. `historyPrefix`: digest only the first this many history
 * entries, the most any earlier snapshot of the node holds (history-prefix compares nothing past
 * them); `historyLength` then gives the whole count. Without it, every entry.
 */
export function snapshotNode(
  state: NodeState,
  meta: {
    name: string
    peerId: string
    atMs: number
    knownKeys: readonly Uint8Array[]
    historyPrefix?: number | undefined
  },
): NodeSnapshot {
  const roots = Object.fromEntries(STORES.map((s) => [s, toHex(state.tree(s).root())])) as Record<
    StoreName,
    string
  >
  const keys = Object.fromEntries(
    STORES.map((s) => [s, [...state.tree(s).leaves()].map((leaf) => toHex(leaf.key))]),
  ) as Record<StoreName, string[]>
  const entries = [...state.view.entries()]
  const view: NodeSnapshot['view'] = Object.fromEntries(
    entries.map(({ coordinate, component }) => [formatCoordinate(coordinate), viewEntry(component)]),
  )
  // What the replicated evidence alone gives: the part of the view every replica must agree on.
  const sharedView: Record<string, ViewEntry> = {}
  for (const { coordinate } of entries) {
    const shared = deriveComponent(
      undefined,
      state.assertions.evidence(coordinate),
      (e) => !state.revocations.isRevoked(e.asserter),
    )
    if (shared !== undefined) sharedView[formatCoordinate(coordinate)] = viewEntry(shared)
  }
  const ledger = state.ledger.since(0).map((e) => ({
    id: toHex(e.id),
    kind: e.kind,
    ...(e.subject === undefined ? {} : { subject: toHex(e.subject) }),
  }))
  return {
    name: meta.name,
    peerId: meta.peerId,
    key: toHex(state.publicKey),
    atMs: meta.atMs,
    roots,
    keys,
    view,
    sharedView,
    ...finalHistory(state, meta.historyPrefix),
    ledger,
    revoked: meta.knownKeys.filter((k) => state.revocations.isRevoked(k)).map(toHex),
  }
}
