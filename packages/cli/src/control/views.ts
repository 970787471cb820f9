import type {
  Component,
  Coordinate,
  GateDecision,
  GateEvidence,
  HistoryEntry,
  LedgerEntry,
  Provenance,
} from '@provsync/crdt'
import { formatTimestamp, type Timestamp } from '@provsync/hlc'
import { toHex } from '../hex.js'
import { peerIdOfKey } from '../identity.js'

// What the control channel carries: plain JSON, keys as hex next to their peer ids, run ids as
// decimal strings (they exceed 2^53), times in the HLC's readable form. The `--json` output of
// every command is exactly this, so scripts see one shape whether they ask the node or a file.

export interface KeyView {
  readonly key: string
  readonly peer: string
}

export function keyView(key: Uint8Array): KeyView {
  return { key: toHex(key), peer: peerIdOfKey(key) }
}

export type ProvenanceView =
  | { readonly type: 'local' }
  | { readonly type: 'asserted'; readonly asserter: KeyView; readonly via?: KeyView }

export interface ComponentView {
  readonly run: string
  readonly provenance: ProvenanceView
  readonly corroborators: readonly KeyView[]
  readonly hlc: string
}

export function provenanceView(p: Provenance): ProvenanceView {
  if (p.type === 'local') return { type: 'local' }
  return {
    type: 'asserted',
    asserter: keyView(p.asserter),
    ...(p.via !== undefined ? { via: keyView(p.via) } : {}),
  }
}

export function componentView(c: Component): ComponentView {
  return {
    run: c.run.toString(),
    provenance: provenanceView(c.provenance),
    corroborators: c.corroborators.map(keyView),
    hlc: hlcText(c.hlc),
  }
}

export function hlcText(ts: Timestamp): string {
  return formatTimestamp(ts)
}

export interface HistoryView {
  readonly seq: number
  readonly kind: string
  readonly before: ComponentView | null
  readonly after: ComponentView | null
  readonly cause: { type: string; from?: KeyView; record?: string; ledgerSeq?: number }
  readonly hlc: string
}

export function historyView(entry: HistoryEntry): HistoryView {
  const { cause } = entry
  return {
    seq: entry.seq,
    kind: entry.kind,
    before: entry.before === undefined ? null : componentView(entry.before),
    after: entry.after === undefined ? null : componentView(entry.after),
    cause: {
      type: cause.type,
      ...(cause.from !== undefined ? { from: keyView(cause.from) } : {}),
      ...(cause.record !== undefined ? { record: toHex(cause.record) } : {}),
      ...(cause.ledgerSeq !== undefined ? { ledgerSeq: cause.ledgerSeq } : {}),
    },
    hlc: hlcText(entry.hlc),
  }
}

export interface LedgerEntryView {
  readonly seq: number
  readonly id: string
  readonly kind: string
  readonly subjectKind: string
  readonly subject?: KeyView
  readonly criteria?: unknown
  /** A lift: the invalidation it lifts. */
  readonly target?: string
  /** `networked`: a signed record that replicates; `local`: this node's own invalidation. */
  readonly origin: string
  readonly reason: string
  readonly actor: string
  readonly source: { type: string; peer?: KeyView }
  readonly correlationId: string
  readonly hlc: string
  readonly result: { invalidated: number; restored: number; viewChanges: number } | null
}

export function ledgerEntryView(entry: LedgerEntry): LedgerEntryView {
  return {
    seq: entry.seq,
    id: toHex(entry.id),
    kind: entry.kind,
    subjectKind: entry.subjectKind,
    ...(entry.subject !== undefined ? { subject: keyView(entry.subject) } : {}),
    ...(entry.criteria !== undefined ? { criteria: criteriaView(entry.criteria) } : {}),
    ...(entry.target !== undefined ? { target: toHex(entry.target) } : {}),
    origin: entry.origin,
    reason: entry.reason,
    actor: entry.actor,
    source:
      entry.source.type === 'peer'
        ? { type: 'peer', peer: keyView(entry.source.peer) }
        : { type: entry.source.type },
    correlationId: entry.correlationId,
    hlc: hlcText(entry.hlc),
    result: entry.result === undefined ? null : { ...entry.result },
  }
}

function criteriaView(criteria: NonNullable<LedgerEntry['criteria']>): unknown {
  if (criteria.type === 'signer') return { type: 'signer', key: toHex(criteria.key) }
  if (criteria.type === 'older-than') return { type: 'older-than', epoch: hlcText(criteria.epoch) }
  return { ...criteria }
}

export type EvidenceView =
  | { readonly source: 'local'; readonly run: string; readonly hlc: string }
  | {
      readonly source: 'asserted'
      readonly asserter: KeyView
      readonly via?: KeyView
      readonly run: string
      readonly hlc: string
      readonly record: string
    }

export function evidenceView(e: GateEvidence): EvidenceView {
  if (e.source === 'local') return { source: 'local', run: e.run.toString(), hlc: hlcText(e.hlc) }
  return {
    source: 'asserted',
    asserter: keyView(e.asserter),
    ...(e.via !== undefined ? { via: keyView(e.via) } : {}),
    run: e.run.toString(),
    hlc: hlcText(e.hlc),
    record: toHex(e.hash),
  }
}

export interface GateView {
  readonly allowed: boolean
  readonly coordinate: Coordinate
  readonly run: string
  readonly policy: unknown
  readonly reason: string
  readonly evidence: readonly EvidenceView[]
}

export function gateView(decision: GateDecision): GateView {
  const { policy } = decision
  return {
    allowed: decision.allowed,
    coordinate: { ...decision.coordinate },
    run: decision.run.toString(),
    policy:
      policy.type === 'ignore' ? { type: 'ignore', asserters: policy.asserters.map(keyView) } : { ...policy },
    reason: decision.reason,
    evidence: decision.evidence.map(evidenceView),
  }
}
