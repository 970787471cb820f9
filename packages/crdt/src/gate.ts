import { compareTimestamps } from '@provsync/hlc'
import { compareBytes, equalBytes, toHex } from './bytes.js'
import { type Coordinate, formatCoordinate } from './codec/coordinate.js'
import { assertRun } from './codec/records.js'
import { InvalidArgumentError } from './errors.js'
import type { AssertionEvidence, LocalEvidence } from './view.js'

/** Which evidence may let this node act on "run R of this coordinate is durable". */
export type GatePolicy =
  | { readonly type: 'any' }
  | { readonly type: 'local-only' }
  | { readonly type: 'min-asserters'; readonly k: number }
  | { readonly type: 'ignore'; readonly asserters: readonly Uint8Array[] }

export const anyEvidence: GatePolicy = { type: 'any' }
export const locallyVerifiedOnly: GatePolicy = { type: 'local-only' }
export const atLeastAsserters = (k: number): GatePolicy => ({ type: 'min-asserters', k })
export const ignoring = (asserters: readonly Uint8Array[]): GatePolicy => ({ type: 'ignore', asserters })

/** One piece of evidence that covers (run >= the asked run) or was considered. */
export type GateEvidence =
  | { readonly source: 'local'; readonly run: bigint; readonly hlc: LocalEvidence['hlc'] }
  | {
      readonly source: 'asserted'
      readonly asserter: Uint8Array
      readonly via?: Uint8Array | undefined
      readonly run: bigint
      readonly hlc: LocalEvidence['hlc']
      readonly hash: Uint8Array
    }

export interface GateDecision {
  readonly allowed: boolean
  readonly coordinate: Coordinate
  readonly run: bigint
  readonly policy: GatePolicy
  /** Names the deciding evidence: "locally verified" or "asserted by <key>[ via <key>]". */
  readonly reason: string
  /** The evidence that decided (allowed), or the best evidence there was (refused). */
  readonly evidence: readonly GateEvidence[]
}

export interface GateInput {
  readonly coordinate: Coordinate
  readonly run: bigint
  readonly policy: GatePolicy
  readonly local: LocalEvidence | undefined
  /** Admissible evidence only: revoked and invalidated asserters already left out. */
  readonly assertions: readonly AssertionEvidence[]
}

export function describeEvidence(evidence: GateEvidence): string {
  if (evidence.source === 'local') return `locally verified at run ${evidence.run}`
  const via = evidence.via === undefined ? '' : ` via ${toHex(evidence.via)}`
  return `asserted by ${toHex(evidence.asserter)}${via} at run ${evidence.run}`
}

// Copies: the evidence may be views into buffers read from LMDB.
function fromAssertion(item: AssertionEvidence): GateEvidence {
  return {
    source: 'asserted',
    asserter: new Uint8Array(item.asserter),
    via:
      item.via !== undefined && !equalBytes(item.via, item.asserter) ? new Uint8Array(item.via) : undefined,
    run: item.run,
    hlc: { wallMs: item.hlc.wallMs, counter: item.hlc.counter, nodeId: new Uint8Array(item.hlc.nodeId) },
    hash: new Uint8Array(item.hash),
  }
}

// Strongest first: higher run, then the first to assert it, then key order.
function strongestFirst(a: AssertionEvidence, b: AssertionEvidence): number {
  if (a.run !== b.run) return a.run > b.run ? -1 : 1
  return compareTimestamps(a.hlc, b.hlc) || compareBytes(a.asserter, b.asserter)
}

export function validatePolicy(policy: GatePolicy): void {
  if (typeof policy !== 'object' || policy === null)
    throw new InvalidArgumentError('policy', 'must be an object')
  switch (policy.type) {
    case 'any':
    case 'local-only':
      return
    case 'min-asserters':
      if (!Number.isSafeInteger(policy.k) || policy.k < 1) {
        throw new InvalidArgumentError('policy.k', `must be a positive integer, got ${policy.k}`)
      }
      return
    case 'ignore':
      if (!Array.isArray(policy.asserters) || !policy.asserters.every((k) => k instanceof Uint8Array)) {
        throw new InvalidArgumentError('policy.asserters', 'must be an array of public keys')
      }
      return
    default:
      throw new InvalidArgumentError(
        'policy.type',
        `unknown policy ${JSON.stringify((policy as { type: unknown }).type)}`,
      )
  }
}

/** The gate's decision, a pure function of the evidence. */
export function decideGate(input: GateInput): GateDecision {
  const { coordinate, run, policy, local } = input
  assertRun(run)
  validatePolicy(policy)
  const where = `run ${run} of ${formatCoordinate(coordinate)}`
  const decision = (allowed: boolean, reason: string, evidence: GateEvidence[]): GateDecision => ({
    allowed,
    coordinate,
    run,
    policy,
    reason,
    evidence,
  })
  let assertions = input.assertions
  if (policy.type === 'ignore') {
    assertions = assertions.filter((item) => !policy.asserters.some((key) => equalBytes(key, item.asserter)))
  }
  const covering = assertions.filter((item) => item.run >= run).sort(strongestFirst)
  const localEvidence: GateEvidence | undefined =
    local === undefined ? undefined : { source: 'local', run: local.run, hlc: local.hlc }
  const localCovers = local !== undefined && local.run >= run

  if (policy.type === 'min-asserters') {
    const distinct = covering.filter(
      (item, i) => covering.findIndex((o) => equalBytes(o.asserter, item.asserter)) === i,
    )
    const evidence = distinct.map(fromAssertion)
    const names = evidence.map(describeEvidence).join('; ')
    if (distinct.length >= policy.k) {
      return decision(
        true,
        `${where} is durable: ${distinct.length} distinct asserters (need ${policy.k}): ${names}`,
        evidence,
      )
    }
    return decision(
      false,
      `${where} not gated: ${distinct.length} distinct asserters cover it, need ${policy.k}${names ? `: ${names}` : ''}`,
      evidence,
    )
  }

  if (localCovers)
    return decision(true, `${where} is durable: ${describeEvidence(localEvidence!)}`, [localEvidence!])

  if (policy.type === 'local-only') {
    const best = [localEvidence, covering[0] === undefined ? undefined : fromAssertion(covering[0])].filter(
      (e): e is GateEvidence => e !== undefined,
    )
    const localText =
      local === undefined ? 'no local evidence' : `locally verified only up to run ${local.run}`
    const other =
      covering[0] === undefined ? '' : ` (also ${describeEvidence(fromAssertion(covering[0]))}, not accepted)`
    return decision(false, `${where} not gated: ${localText}${other}`, best)
  }

  const best = covering[0]
  if (best !== undefined) {
    const evidence = fromAssertion(best)
    return decision(true, `${where} is durable: ${describeEvidence(evidence)}`, [evidence])
  }
  const highest = [...assertions].sort(strongestFirst)[0]
  const considered = [localEvidence, highest === undefined ? undefined : fromAssertion(highest)].filter(
    (e): e is GateEvidence => e !== undefined,
  )
  const bestText =
    considered.length === 0 ? 'no evidence' : `best evidence: ${considered.map(describeEvidence).join('; ')}`
  return decision(false, `${where} not gated: nothing covers it (${bestText})`, considered)
}
