import { compareBytes, toHex } from './bytes.js'
import type { Decoded } from './codec/signed.js'
import type { Grant, Right, ScopeEpoch, Withdrawal } from './codec/types.js'
import { covers } from './scope.js'

/** Which keys are revoked: the embedder's revocation state (crdt's `revocations.isRevoked`). */
export interface RevocationSource {
  isRevoked(key: Uint8Array): boolean
}

export const NO_REVOCATIONS: RevocationSource = { isRevoked: () => false }

function grantWins(a: Decoded<Grant>, b: Decoded<Grant>): boolean {
  const x = a.record
  const y = b.record
  if (x.epoch !== y.epoch) return x.epoch > y.epoch
  if (x.hlc.wallMs !== y.hlc.wallMs) return x.hlc.wallMs > y.hlc.wallMs
  if (x.hlc.counter !== y.hlc.counter) return x.hlc.counter > y.hlc.counter
  return compareBytes(a.hash, b.hash) > 0
}

interface Slot {
  grants: Decoded<Grant>[]
  withdrawals: Decoded<Withdrawal>[]
}

/**
 * The operator records in force, as a join: a set of grants, withdrawals and scope epochs whose
 * derived answers do not depend on arrival order. Only records by `trusted` operators count.
 */
export class Authority {
  private readonly slots = new Map<string, Slot>()
  private readonly epochs: Decoded<ScopeEpoch>[] = []
  private readonly seen = new Set<string>()
  private trustedHex: Set<string>
  /** Hex of keys seen, by object: reads pass the same key objects again and again. */
  private readonly hexOf = new WeakMap<Uint8Array, string>()
  private gen = 0

  /** Moves whenever an answer may change other than by time or revocation (a record added, trust set, cleared). */
  get generation(): number {
    return this.gen
  }

  constructor(trusted: readonly Uint8Array[]) {
    this.trustedHex = new Set(trusted.map(toHex))
  }

  /** Forgets every record (the store reloads them after a failed transaction). */
  clear(): void {
    this.gen++
    this.slots.clear()
    this.epochs.length = 0
    this.seen.clear()
  }

  setTrusted(trusted: readonly Uint8Array[]): void {
    this.gen++
    this.trustedHex = new Set(trusted.map(toHex))
  }

  private hex(key: Uint8Array): string {
    let hex = this.hexOf.get(key)
    if (hex === undefined) this.hexOf.set(key, (hex = toHex(key)))
    return hex
  }

  isTrusted(operator: Uint8Array): boolean {
    return this.trustedHex.has(this.hex(operator))
  }

  private slot(subject: Uint8Array, right: Right): Slot {
    const id = `${this.hex(subject)}/${right}`
    let slot = this.slots.get(id)
    if (slot === undefined) this.slots.set(id, (slot = { grants: [], withdrawals: [] }))
    return slot
  }

  /** Adds an operator record; false when it was already known (idempotent). */
  add(decoded: Decoded<Grant | Withdrawal | ScopeEpoch>): boolean {
    const id = toHex(decoded.hash)
    if (this.seen.has(id)) return false
    this.seen.add(id)
    this.gen++
    const r = decoded.record
    if (r.kind === 'scope-epoch') this.epochs.push(decoded as Decoded<ScopeEpoch>)
    else if (r.kind === 'grant') this.slot(r.subject, r.right).grants.push(decoded as Decoded<Grant>)
    else this.slot(r.subject, r.right).withdrawals.push(decoded as Decoded<Withdrawal>)
    return true
  }

  /** The grant of (subject, right) in force at `nowMs`, or undefined (none, withdrawn, expired, revoked). */
  liveGrant(
    subject: Uint8Array,
    right: Right,
    nowMs: number,
    revocations: RevocationSource,
  ): Grant | undefined {
    if (revocations.isRevoked(subject)) return undefined
    const slot = this.slot(subject, right)
    let top: Decoded<Grant> | undefined
    for (const g of slot.grants) {
      if (this.isTrusted(g.record.operator) && (top === undefined || grantWins(g, top))) top = g
    }
    if (top === undefined) return undefined
    for (const w of slot.withdrawals) {
      if (this.isTrusted(w.record.operator) && w.record.epoch >= top.record.epoch) return undefined
    }
    const expiry = top.record.expiresAt
    return expiry !== undefined && expiry <= nowMs ? undefined : top.record
  }

  /** Whether `subject` holds a live grant of `right` covering `scope`. */
  allows(
    subject: Uint8Array,
    right: Right,
    scope: string,
    nowMs: number,
    revocations: RevocationSource,
  ): boolean {
    const grant = this.liveGrant(subject, right, nowMs, revocations)
    return grant?.scopes.some((prefix) => covers(prefix, scope)) === true
  }

  /**
   * Until when `subject`'s publish grant covering `scope` stays live, if it is live now (Infinity
   * for a grant without expiry): with the generation, what an admissibility answer may be cached on.
   */
  publishUntil(subject: Uint8Array, scope: string, nowMs: number, revocations: RevocationSource) {
    const grant = this.liveGrant(subject, 'publish', nowMs, revocations)
    if (grant?.scopes.some((prefix) => covers(prefix, scope)) !== true) return undefined
    return grant.expiresAt ?? Number.POSITIVE_INFINITY
  }

  /** The minimum authority epoch of `scope`: the highest set on any prefix covering it. */
  minEpoch(scope: string): bigint {
    let min = 0n
    for (const e of this.epochs) {
      const r = e.record
      if (r.minEpoch > min && covers(r.scope, scope) && this.isTrusted(r.operator)) min = r.minEpoch
    }
    return min
  }

  /** Every subject with a grant record (for recomputing after a trust or revocation change). */
  subjects(): Uint8Array[] {
    const out = new Map<string, Uint8Array>()
    for (const slot of this.slots.values()) {
      for (const g of slot.grants) out.set(toHex(g.record.subject), g.record.subject)
    }
    return [...out.values()]
  }
}
