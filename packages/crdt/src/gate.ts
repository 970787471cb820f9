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

export interface GateOptions {
  /**
   * How the reason names a peer's key (asserter or relay), e.g. as its libp2p peer id; default hex.
   * One form everywhere: the CLI passes the same formatter its evidence lines use.
   */
  readonly describeKey?: ((key: Uint8Array) => string) | undefined
}

export interface GateInput extends GateOptions {
  readonly coordinate: Coordinate
  readonly run: bigint
  readonly policy: GatePolicy
  readonly local: LocalEvidence | undefined
  /** Admissible evidence only: revoked and invalidated asserters already left out. */
  readonly assertions: readonly AssertionEvidence[]
}

export function describeEvidence(
  evidence: GateEvidence,
  describeKey: (key: Uint8Array) => string = toHex,
): string {
  if (evidence.source === 'local') return `locally verified at run ${evidence.run}`
  const via = evidence.via === undefined ? '' : ` via ${describeKey(evidence.via)}`
  return `asserted by ${describeKey(evidence.asserter)}${via} at run ${evidence.run}`
}

/** "1 distinct asserter", "2 distinct asserters". */
function asserters(n: number): string {
  return `${n} distinct asserter${n === 1 ? '' : 's'}`
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

// Strongest first: higher run, then the first to assert it, then key order, then record hash, so
// the order (and the evidence and reason a decision names) is a function of the evidence alone.
function strongestFirst(a: AssertionEvidence, b: AssertionEvidence): number {
  const byRun = Number(b.run > a.run) - Number(a.run > b.run)
  return (
    byRun ||
    compareTimestamps(a.hlc, b.hlc) ||
    compareBytes(a.asserter, b.asserter) ||
    compareBytes(a.hash, b.hash)
  )
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

/** The gate's decision, a pure function of the evidence (its order does not matter). */
export function decideGate(input: GateInput): GateDecision {
  const { coordinate, run, policy, local } = input
  assertRun(run)
  validatePolicy(policy)
  const describeKey = input.describeKey ?? toHex
  const describe = (evidence: GateEvidence): string => describeEvidence(evidence, describeKey)
  const where = `run ${run} of ${formatCoordinate(coordinate)}`
  const decision = (allowed: boolean, reason: string, evidence: GateEvidence[]): GateDecision => ({
    allowed,
    coordinate,
    run,
    policy,
    reason: `${where} ${allowed ? 'is durable' : 'not gated'}: ${reason}`,
    evidence,
  })
  // Stryker disable next-line ArrayDeclaration: equivalent, a seeded string is never equal to a 32-byte key
  const ignored = policy.type === 'ignore' ? policy.asserters : []
  const assertions = input.assertions
    .filter((item) => !ignored.some((key) => equalBytes(key, item.asserter)))
    .sort(strongestFirst)
  const covering = assertions.filter((item) => item.run >= run)
  const localEvidence: GateEvidence | undefined =
    local === undefined ? undefined : { source: 'local', run: local.run, hlc: local.hlc }

  if (policy.type === 'min-asserters') {
    const evidence = distinctAsserters(covering).map(fromAssertion)
    const names = evidence.map(describe).join('; ')
    const allowed = evidence.length >= policy.k
    const count = allowed
      ? `${asserters(evidence.length)} (need ${policy.k}): ${names}`
      : `${asserters(evidence.length)} ${evidence.length === 1 ? 'covers' : 'cover'} it, need ${policy.k}${names ? `: ${names}` : ''}`
    return decision(allowed, count, evidence)
  }
  if (localEvidence !== undefined && localEvidence.run >= run)
    return decision(true, describe(localEvidence), [localEvidence])

  const best = covering[0] === undefined ? undefined : fromAssertion(covering[0])
  if (policy.type === 'local-only') {
    const localText =
      local === undefined ? 'no local evidence' : `locally verified only up to run ${local.run}`
    const other = best === undefined ? '' : ` (also ${describe(best)}, not accepted)`
    return decision(false, `${localText}${other}`, present([localEvidence, best]))
  }
  if (best !== undefined) return decision(true, describe(best), [best])
  const considered = present([localEvidence, assertions[0] && fromAssertion(assertions[0])])
  const bestText =
    considered.length === 0 ? 'no evidence' : `best evidence: ${considered.map(describe).join('; ')}`
  return decision(false, `nothing covers it (${bestText})`, considered)
}

/** The first (strongest) evidence of each asserter, in the order given. */
function distinctAsserters(sorted: readonly AssertionEvidence[]): AssertionEvidence[] {
  return sorted.filter((item, i) => sorted.findIndex((o) => equalBytes(o.asserter, item.asserter)) === i)
}

function present(items: readonly (GateEvidence | undefined)[]): GateEvidence[] {
  return items.filter((e): e is GateEvidence => e !== undefined)
}
