import type { HybridLogicalClock, Timestamp } from '@provsync/hlc'
import type { MerkleTree } from '@provsync/merkle'
import { equalBytes, toHex } from './bytes.js'
import type { Matchable } from './criteria.js'
import type { Databases } from './db.js'
import type { Signer } from './signing.js'

export type StoreName = 'revocations' | 'supersessions' | 'assertions' | 'invalidations'
/**
 * Sync order: revocations first, so a revoked signer's records are refused, not applied.
 * `invalidations` (networked invalidation) came in a later release: it is last, and the sync layer
 * offers it only to peers that name it in their hello.
 */
export const STORE_NAMES: readonly StoreName[] = [
  'revocations',
  'supersessions',
  'assertions',
  'invalidations',
]
/** The stores of the first release, which every node syncs. */
export const LEGACY_STORE_NAMES: readonly StoreName[] = ['revocations', 'supersessions', 'assertions']

export interface ActiveRule {
  readonly seq: number
  readonly test: (record: Matchable) => boolean
}

/**
 * Signature verifications of the records handed to this state, and those skipped because the
 * record was a byte-identical copy of one the store holds (see ingest's `heldCopy`).
 */
export interface VerificationCounts {
  /** Verify every signature, copies of held records included (the option `verifyHeldCopies`). */
  readonly verifyHeldCopies: boolean
  /** Signatures sent for verification. */
  verified: number
  /** Signatures not verified: the record was byte-identical to one the store holds. */
  skipped: number
  /** Lookups of held copies since the last one that found one (see ingest's `lookUp`). */
  missesSinceHit: number
  /** Records passed over while lookups are sampled. */
  sampled: number
}

/**
 * The next history sequence number and each asserter's last index entry number, as the last
 * append left them. A hint is a guess, checked with point reads before it is used (see
 * `nextHistorySeq` in durability.ts and `lastIndexNumber` in asserter-index.ts): it spares a
 * reverse range read per write transaction (a cursor: 11-41 µs against 2-6 µs for the two point
 * reads, `bench/call-probe.ts` at load 21; three cursors per `apply` call before), and a wrong hint
 * (a transaction that aborted after advancing it) costs only the range read it replaces.
 */
export interface SequenceHints {
  history: number | undefined
  /** By asserter (hex): the number of its last asserter index entry. */
  readonly asserters: Map<string, number>
}

/** Everything the store modules share; one per open node state. */
export interface Context {
  readonly dbs: Databases
  readonly networkId: string
  readonly signer: Signer
  readonly clock: HybridLogicalClock
  readonly trees: Readonly<Record<StoreName, MerkleTree>>
  /** Operator keys (hex) whose revocations this node obeys. */
  readonly trust: ReadonlySet<string>
  /** Keys whose latest revocation record is a revoke, derived from the stored records. */
  readonly revoked: RevokedKeys
  /** Invalidation criteria in force, by ledger sequence number. */
  readonly rules: ActiveRule[]
  readonly verification: VerificationCounts
  /** Where the sequence-keyed databases' next appends are expected (see {@link SequenceHints}). */
  readonly hints: SequenceHints
  /**
   * Runs `fn` in one synchronous write transaction (inside one already open, in it): every write
   * transaction of the store modules goes through it, so the state's write guard sees each one.
   */
  readonly write: <T>(fn: () => T) => T
}

/** A set of keys that answers `has` without encoding the key when it holds only a few. */
export class RevokedKeys {
  private readonly hex = new Set<string>()
  private list: Uint8Array[] = []

  get size(): number {
    return this.hex.size
  }

  has(key: Uint8Array): boolean {
    if (this.hex.size === 0) return false
    if (this.list.length <= 16) return this.list.some((k) => equalBytes(k, key))
    return this.hex.has(toHex(key))
  }

  keys(): Uint8Array[] {
    return this.list.map((k) => new Uint8Array(k))
  }

  add(key: Uint8Array): void {
    const hex = toHex(key)
    if (this.hex.has(hex)) return
    this.hex.add(hex)
    this.list.push(new Uint8Array(key))
  }

  delete(key: Uint8Array): void {
    const hex = toHex(key)
    if (!this.hex.delete(hex)) return
    this.list = this.list.filter((k) => !equalBytes(k, key))
  }

  clear(): void {
    this.hex.clear()
    this.list = []
  }
}

export function isRevoked(ctx: Context, key: Uint8Array): boolean {
  return ctx.revoked.has(key)
}

/** Evidence and supersessions count only if their signer is not revoked and no rule matches. */
export function admissible(ctx: Context, record: Matchable): boolean {
  if (isRevoked(ctx, record.signer)) return false
  for (const rule of ctx.rules) if (rule.test(record)) return false
  return true
}

export function hlcOf(ts: Timestamp): Timestamp {
  return { wallMs: ts.wallMs, counter: ts.counter, nodeId: ts.nodeId }
}
