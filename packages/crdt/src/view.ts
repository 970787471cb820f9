import { compareTimestamps, type Timestamp } from '@provsync/hlc'
import { compareBytes, equalBytes } from './bytes.js'

/** What one asserter's current max-register says about a coordinate, as this node received it. */
export interface AssertionEvidence {
  readonly asserter: Uint8Array
  readonly run: bigint
  readonly hlc: Timestamp
  /** Content hash of the assertion record. */
  readonly hash: Uint8Array
  /** The peer this node pulled the record from, when that is not the asserter (a relay). */
  readonly via?: Uint8Array | undefined
}

/** This node's own verification of a coordinate. */
export interface LocalEvidence {
  readonly run: bigint
  readonly hlc: Timestamp
}

export type Provenance =
  | { readonly type: 'local' }
  | { readonly type: 'asserted'; readonly asserter: Uint8Array; readonly via?: Uint8Array | undefined }

/** One coordinate's entry in the durability view. */
export interface Component {
  readonly run: bigint
  readonly provenance: Provenance
  /** Every admissible asserter whose register holds exactly `run`, sorted by key bytes. */
  readonly corroborators: readonly Uint8Array[]
  /** HLC of the evidence that gives the provenance. */
  readonly hlc: Timestamp
}

export type ChangeKind = 'advance' | 'reclaim' | 'corroborate' | 'revoke' | 'reinstate'
export type CauseType = 'local' | 'pull' | 'revoke' | 'reinstate' | 'invalidate' | 'replay'

/**
 * The view is a pure function of the evidence, so replicas holding the same evidence hold the
 * same view whatever the order it arrived in. Provenance rules (DESIGN.md):
 *  1. the highest run wins, so a strict advance adopts the provenance of what advanced it;
 *  2, 3. at equal runs local evidence wins, so it reclaims a peer-asserted component and a peer
 *     assertion at the recorded run only joins the corroborators;
 *  4. a lower run never wins, so it never lowers the view;
 *  5. excluded (revoked) asserters are simply not evidence, so the best remaining evidence,
 *     possibly at a lower run, takes over.
 * Among asserters at the top run without local evidence, the earliest HLC (then the smallest key)
 * gives the provenance: the first to assert it, decided the same way on every replica.
 */
export function deriveComponent(
  local: LocalEvidence | undefined,
  evidence: readonly AssertionEvidence[],
  admissible: (evidence: AssertionEvidence) => boolean = () => true,
): Component | undefined {
  let top: bigint | undefined = local?.run
  // Stryker disable next-line ArrayDeclaration: equivalent, a seeded element has no run, so it never reaches atTop
  const kept: AssertionEvidence[] = []
  for (const item of evidence) {
    if (!admissible(item)) continue
    kept.push(item)
    if (top === undefined) top = item.run
    // Stryker disable next-line EqualityOperator: `>=` is equivalent (it reassigns the same run); `<=` is killed, see README
    else if (item.run > top) top = item.run
  }
  if (top === undefined) return undefined
  const atTop = kept.filter((item) => item.run === top).sort(byFirstAsserted)
  const corroborators = uniqueSorted(atTop.map((item) => item.asserter))
  if (local !== undefined && local.run === top) {
    return { run: top, provenance: { type: 'local' }, corroborators, hlc: local.hlc }
  }
  const first = atTop[0]!
  const provenance: Provenance =
    first.via === undefined || equalBytes(first.via, first.asserter)
      ? { type: 'asserted', asserter: first.asserter }
      : { type: 'asserted', asserter: first.asserter, via: first.via }
  return { run: top, provenance, corroborators, hlc: first.hlc }
}

function byFirstAsserted(a: AssertionEvidence, b: AssertionEvidence): number {
  return compareTimestamps(a.hlc, b.hlc) || compareBytes(a.asserter, b.asserter)
}

function uniqueSorted(keys: Uint8Array[]): Uint8Array[] {
  const sorted = [...keys].sort(compareBytes)
  // sorted[-1] is undefined, which equals no key: the first key is always kept.
  // Stryker disable next-line ArithmeticOperator: equivalent, comparing with the next key keeps the last of equal keys instead of the first: the same bytes
  return sorted.filter((key, i) => !equalBytes(key, sorted[i - 1]))
}

type ProvenanceKeys = {
  readonly type: string
  readonly asserter?: Uint8Array | undefined
  readonly via?: Uint8Array | undefined
}

/**
 * The same asserter and relay. A local provenance has neither, and an asserted one always has an
 * asserter, so equal keys also mean an equal type.
 */
export function sameProvenance(a: Provenance, b: Provenance): boolean {
  const [x, y]: ProvenanceKeys[] = [a, b]
  return equalBytes(x!.asserter, y!.asserter) && equalBytes(x!.via, y!.via)
}

export function sameComponent(a: Component | undefined, b: Component | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return (
    a.run === b.run &&
    sameProvenance(a.provenance, b.provenance) &&
    a.corroborators.length === b.corroborators.length &&
    a.corroborators.every((key, i) => equalBytes(key, b.corroborators[i]))
  )
}

/** How a view change is written in the history, or undefined when nothing changed. */
export function classifyChange(
  before: Component | undefined,
  after: Component | undefined,
  cause: CauseType,
): ChangeKind | undefined {
  if (sameComponent(before, after)) return undefined
  if (cause === 'revoke' || cause === 'invalidate') return 'revoke'
  if (cause === 'reinstate') return 'reinstate'
  if (after === undefined || (before !== undefined && after.run < before.run)) return 'revoke'
  if (before === undefined || after.run > before.run) return 'advance'
  if (after.provenance.type === 'local' && before.provenance.type !== 'local') return 'reclaim'
  return 'corroborate'
}
