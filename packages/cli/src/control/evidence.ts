import {
  type AssertionEvidence,
  type Coordinate,
  compileCriteria,
  formatCoordinate,
  type LedgerEntry,
  type NodeState,
} from '@provsync/crdt'
import { toHex } from '../hex.js'
import { hlcText, keyView } from './views.js'

/** What took an assertion out of force: a ledger entry, by sequence number and kind. */
export interface RemovedBy {
  readonly ledgerSeq: number
  readonly kind: 'revoke' | 'invalidate'
  readonly reason: string
}

/**
 * Every asserter's evidence for a coordinate, each saying whether it is in force and, when it
 * is not, which ledger entry removed it: the revocation of its asserter, or an invalidation
 * whose criteria match it (signer, key prefix or pattern, HLC older than an epoch).
 */
export function auditEvidence(state: NodeState, coordinate: Coordinate) {
  const keyText = formatCoordinate(coordinate)
  const invalidations = state.ledger
    .byKind('invalidate')
    .filter((e) => e.criteria !== undefined && e.result !== undefined)
    .map((e) => ({ entry: e, test: compileCriteria(e.criteria!) }))
  return state.assertions.evidence(coordinate).map((e) => {
    const removedBy = removal(state, e, keyText, invalidations)
    return {
      asserter: keyView(e.asserter),
      ...(e.via !== undefined ? { via: keyView(e.via) } : {}),
      run: e.run.toString(),
      hlc: hlcText(e.hlc),
      record: toHex(e.hash),
      revoked: state.revocations.isRevoked(e.asserter),
      inForce: removedBy === null,
      removedBy,
    }
  })
}

function removal(
  state: NodeState,
  e: AssertionEvidence,
  keyText: string,
  invalidations: { entry: LedgerEntry; test: ReturnType<typeof compileCriteria> }[],
): RemovedBy | null {
  if (state.revocations.isRevoked(e.asserter)) {
    const revocation = state.ledger
      .bySubject(e.asserter)
      .filter((entry) => entry.kind === 'revoke')
      .at(-1)
    return { ledgerSeq: revocation?.seq ?? 0, kind: 'revoke', reason: revocation?.reason ?? '' }
  }
  const matchable = { signer: e.asserter, hlc: e.hlc, keyText }
  const rule = invalidations.find(({ test }) => test(matchable))
  return rule === undefined
    ? null
    : { ledgerSeq: rule.entry.seq, kind: 'invalidate', reason: rule.entry.reason }
}
