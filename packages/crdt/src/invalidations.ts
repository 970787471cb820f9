import { ClockDriftError, compareTimestamps, encodeTimestamp, type Timestamp } from '@provsync/hlc'
import { concat, copyBytes, toHex } from './bytes.js'
import {
  decodeInvalidation,
  encodeInvalidation,
  type Invalidation,
  invalidationHash,
  signInvalidation,
  verifyInvalidationBytes,
} from './codec/invalidation.js'
import { admissible, type Context } from './context.js'
import { compileCriteria, type InvalidationCriteria, type Matchable, validateCriteria } from './criteria.js'
import { EMPTY } from './db.js'
import { type HistoryWriter, recompute } from './durability.js'
import {
  BadSignatureError,
  FarFutureError,
  InvalidArgumentError,
  LedgerImportError,
  RecordRefusedError,
  UntrustedOperatorError,
} from './errors.js'
import type { ApplyOutcome, IngestResult } from './ingest.js'
import {
  appendEntries,
  candidates,
  type LedgerEntry,
  type LedgerResult,
  type LedgerSource,
  type NewLedgerEntry,
  readEntry,
} from './ledger.js'
import type { Signer } from './signing.js'

/** A stored invalidation and whether it is in force on this node. */
export interface StoredInvalidation {
  readonly id: Uint8Array
  readonly record: Invalidation & { action: 'invalidate' }
  /** Signed by a trusted operator and not lifted by one. */
  readonly inForce: boolean
  /** Hashes of the lifts naming it (trusted or not). */
  readonly lifts: Uint8Array[]
}

export interface InvalidationApi {
  /** Signs an invalidation with `operator` (in the trust bundle) and applies it like a pulled one. */
  invalidate(
    criteria: InvalidationCriteria,
    request: { reason: string; correlationId?: string },
    operator: Signer,
  ): Promise<LedgerEntry>
  /** Signs a lift of the invalidation `id` (its record hash): a later, forward act. */
  lift(
    id: Uint8Array,
    request: { reason: string; correlationId?: string },
    operator: Signer,
  ): Promise<LedgerEntry>
  /** Every stored invalidation, with whether it is in force. */
  list(): StoredInvalidation[]
  get(id: Uint8Array): StoredInvalidation | undefined
}

type Run = (
  records: Uint8Array[],
  options: { from: Uint8Array; correlationId?: string },
) => Promise<IngestResult>

export function isNetworkedInvalidation(entry: LedgerEntry): boolean {
  return entry.kind === 'lift' || (entry.kind === 'invalidate' && entry.record !== undefined)
}

function tryDecode(ctx: Context, bytes: Uint8Array | undefined): Invalidation | undefined {
  if (bytes === undefined) return undefined
  try {
    return decodeInvalidation(bytes, ctx.networkId)
  } catch {
    return undefined
  }
}

function liftsOf(ctx: Context, id: Uint8Array): Uint8Array[] {
  const end = concat(id, new Uint8Array(32).fill(0xff))
  return [...ctx.dbs.invLifts.getKeys({ start: id, end })].map((key) => copyBytes(key.subarray(32)))
}

/**
 * In force: stored, signed by an operator of the current trust bundle, and no lift by such an
 * operator names it. A pure function of the stored set (a two-phase set), so every replica that
 * holds the same records agrees, whatever the order they arrived in.
 */
export function invalidationInForce(ctx: Context, id: Uint8Array): boolean {
  const record = tryDecode(ctx, ctx.dbs.invRecords.get(id))
  if (record?.action !== 'invalidate' || !ctx.trust.has(toHex(record.operator))) return false
  return !liftsOf(ctx, id).some((hash) => {
    const lift = tryDecode(ctx, ctx.dbs.invRecords.get(hash))
    return lift !== undefined && ctx.trust.has(toHex(lift.operator))
  })
}

/** Stores one verified record; call inside a write transaction. The caller updates the tree. */
export function storeInvalidation(
  ctx: Context,
  record: Invalidation,
  encoded: Uint8Array,
  hash: Uint8Array,
): 'applied' | 'duplicate' {
  if (ctx.dbs.invRecords.get(hash) !== undefined) return 'duplicate'
  ctx.dbs.invRecords.put(hash, encoded)
  if (record.action === 'lift') ctx.dbs.invLifts.put(concat(record.target, hash), EMPTY)
  return 'applied'
}

/** The ledger entry of a networked invalidation or lift. */
export function invalidationEntry(
  record: Invalidation,
  encoded: Uint8Array,
  hash: Uint8Array,
  source: LedgerSource,
  correlationId: string,
): NewLedgerEntry {
  const base = {
    id: hash,
    reason: record.reason,
    actor: toHex(record.operator),
    source,
    correlationId,
    hlc: record.hlc,
    record: encoded,
  }
  return record.action === 'invalidate'
    ? { ...base, kind: 'invalidate', subjectKind: 'criteria', criteria: record.criteria }
    : { ...base, kind: 'lift', subjectKind: 'invalidation', target: record.target }
}

/** Everything but storage: encoding, bounds, network, HLC drift, trusted operator, signature. */
function check(ctx: Context, bytes: unknown, options = { drift: true }): Invalidation {
  const record = decodeInvalidation(bytes as Uint8Array, ctx.networkId)
  try {
    if (options.drift) ctx.clock.check(record.hlc)
  } catch (error) {
    if (error instanceof ClockDriftError) throw new FarFutureError(error.driftMs, error.maxDriftMs)
    throw error
  }
  if (!ctx.trust.has(toHex(record.operator))) throw new UntrustedOperatorError(toHex(record.operator))
  if (!verifyInvalidationBytes(bytes as Uint8Array, record.operator, ctx.networkId))
    throw new BadSignatureError()
  return record
}

/**
 * Verifies and applies a batch of the invalidations store in one transaction: records, tree and
 * ledger entries (write-ahead) commit together; the caller then applies the ledger entries.
 * A record refused here is never stored, so nothing is half applied.
 */
export async function ingestInvalidations(
  ctx: Context,
  records: readonly Uint8Array[],
  options: { correlationId?: string; source: LedgerSource },
): Promise<IngestResult> {
  const outcomes: ApplyOutcome[] = new Array(records.length)
  const errors: (RecordRefusedError | undefined)[] = new Array(records.length).fill(undefined)
  const valid: { index: number; bytes: Uint8Array; record: Invalidation }[] = []
  records.forEach((bytes, index) => {
    try {
      valid.push({ index, bytes, record: check(ctx, bytes) })
    } catch (error) {
      if (!(error instanceof RecordRefusedError)) throw error
      outcomes[index] = { status: 'refused', reason: error.reason, detail: error.message }
      errors[index] = error
    }
  })
  if (valid.length === 0) return { outcomes, errors, changed: false, ledgerAppended: 0 }
  const correlationId = options.correlationId ?? crypto.randomUUID()
  let latest: Timestamp | undefined
  const result = ctx.write(() => {
    const changes: { key: Uint8Array; valueHash: Uint8Array }[] = []
    const ledger: NewLedgerEntry[] = []
    for (const { index, bytes, record } of valid) {
      const hash = invalidationHash(bytes)
      const status = storeInvalidation(ctx, record, bytes, hash)
      outcomes[index] = { status, key: hash }
      if (status !== 'applied') continue
      changes.push({ key: hash, valueHash: hash })
      ledger.push(invalidationEntry(record, bytes, hash, options.source, correlationId))
      if (latest === undefined || compareTimestamps(record.hlc, latest) > 0) latest = record.hlc
    }
    if (changes.length > 0) ctx.trees.invalidations.update(changes)
    return { changed: changes.length > 0, ledgerAppended: appendEntries(ctx, ledger).length }
  })
  if (latest !== undefined) {
    try {
      ctx.clock.update(latest)
    } catch {
      // The drift guard passed moments ago; a clock that cannot move that far keeps its time.
    }
  }
  return { outcomes, errors, ...result }
}

function setRule(ctx: Context, seq: number, criteria: InvalidationCriteria, on: boolean): void {
  const index = ctx.rules.findIndex((rule) => rule.seq === seq)
  if (on && index < 0) {
    ctx.dbs.rules.put(seq, ruleValue(criteria))
    ctx.rules.push({ seq, test: compileCriteria(criteria) })
  } else if (!on && index >= 0) {
    ctx.dbs.rules.remove(seq)
    ctx.rules.splice(index, 1)
  }
}

/** The stored form of a rule, as the ledger keeps local ones (loadRules reads both). */
function ruleValue(criteria: InvalidationCriteria): unknown {
  if (criteria.type === 'older-than') return { type: 'older-than', epoch: encodeTimestamp(criteria.epoch) }
  return criteria.type === 'signer' ? { type: 'signer', key: copyBytes(criteria.key) } : { ...criteria }
}

/**
 * Applies a networked invalidation or lift entry inside the ledger's transaction. It brings the
 * invalidation's rule in line with whether the invalidation is in force (derived from the stored
 * records), then recomputes the coordinates its criterion matches, so applying it again, or
 * replaying the ledger, changes nothing.
 */
export function applyNetworkedInvalidation(
  ctx: Context,
  entry: LedgerEntry,
  history: HistoryWriter,
): LedgerResult {
  const none = { invalidated: 0, restored: 0, viewChanges: 0 }
  const invalidationSeq = entry.kind === 'lift' ? ctx.dbs.ledgerIds.get(entry.target!) : entry.seq
  // A lift that arrived before its invalidation: nothing is in force yet, and the invalidation,
  // when it arrives, is not in force either.
  if (invalidationSeq === undefined) return none
  const invalidation = entry.kind === 'lift' ? readEntry(ctx, invalidationSeq) : entry
  if (invalidation?.kind !== 'invalidate' || invalidation.record === undefined) return none
  const criteria = invalidation.criteria!
  const test = compileCriteria(criteria)
  const matching: [Matchable, Uint8Array | undefined][] = []
  for (const row of candidates(ctx, criteria)) if (test(row[0])) matching.push(row)
  const wanted = invalidationInForce(ctx, invalidation.id)
  const active = ctx.rules.some((rule) => rule.seq === invalidationSeq)
  let invalidated = 0
  let restored = 0
  if (wanted && !active) {
    invalidated = matching.filter(([record]) => admissible(ctx, record)).length
    setRule(ctx, invalidationSeq, criteria, true)
  } else if (!wanted && active) {
    setRule(ctx, invalidationSeq, criteria, false)
    restored = matching.filter(([record]) => admissible(ctx, record)).length
  }
  const cause = { type: wanted ? 'invalidate' : 'reinstate', ledgerSeq: entry.seq } as const
  const coordinates = new Map<string, Uint8Array>()
  for (const [, coordId] of matching) if (coordId !== undefined) coordinates.set(toHex(coordId), coordId)
  let viewChanges = 0
  for (const coordId of coordinates.values()) if (recompute(ctx, coordId, cause, history)) viewChanges++
  return { invalidated, restored, viewChanges }
}

/**
 * At open: an invalidation whose standing changed since it was applied (the trust bundle changed)
 * is applied again; the others are left alone. Returns the entries re-applied.
 */
export function networkedEntriesOutOfLine(ctx: Context): LedgerEntry[] {
  const out: LedgerEntry[] = []
  for (const { key, value } of ctx.dbs.invRecords.getRange()) {
    const record = tryDecode(ctx, value)
    if (record?.action !== 'invalidate') continue
    const seq = ctx.dbs.ledgerIds.get(copyBytes(key))
    if (seq === undefined) continue
    const active = ctx.rules.some((rule) => rule.seq === seq)
    if (active !== invalidationInForce(ctx, copyBytes(key))) {
      const entry = readEntry(ctx, seq)
      if (entry !== undefined) out.push(entry)
    }
  }
  return out
}

/** An exported networked entry, rebuilt from its signed record: only the record is trusted. */
export function importedInvalidation(ctx: Context, entry: NewLedgerEntry): NewLedgerEntry {
  let record: Invalidation | undefined
  try {
    record = entry.record === undefined ? undefined : check(ctx, entry.record, { drift: false })
  } catch (error) {
    if (!(error instanceof RecordRefusedError)) throw error
    throw new LedgerImportError(`entry ${toHex(entry.id)}: invalidation record refused: ${error.message}`)
  }
  if (record === undefined)
    throw new LedgerImportError(`entry ${toHex(entry.id)}: invalidation record missing`)
  const { correlationId, source } = entry
  return invalidationEntry(record, entry.record!, invalidationHash(entry.record!), source, correlationId)
}

/**
 * At open after the trust bundle changed: an invalidation or lift belongs in the tree exactly when
 * its operator is trusted (the replicated set), as revocations are placed. Call inside a write
 * transaction.
 */
export function placeInvalidationRecords(ctx: Context): number {
  const changes: { key: Uint8Array; valueHash: Uint8Array | null }[] = []
  const tree = ctx.trees.invalidations
  for (const { key, value } of [...ctx.dbs.invRecords.getRange()]) {
    const hash = copyBytes(key)
    const record = tryDecode(ctx, value)
    const trusted = record !== undefined && ctx.trust.has(toHex(record.operator))
    if (trusted !== (tree.get(hash) !== undefined))
      changes.push({ key: hash, valueHash: trusted ? hash : null })
  }
  if (changes.length > 0) tree.update(changes)
  return changes.length
}

function describe(ctx: Context, id: Uint8Array): StoredInvalidation | undefined {
  const record = tryDecode(ctx, ctx.dbs.invRecords.get(id))
  if (record?.action !== 'invalidate') return undefined
  return { id: copyBytes(id), record, inForce: invalidationInForce(ctx, id), lifts: liftsOf(ctx, id) }
}

export function createInvalidationApi(ctx: Context, run: Run, checkOpen: () => void): InvalidationApi {
  async function signAndApply(
    fields: Parameters<typeof signInvalidation>[0],
    correlationId: string | undefined,
    operator: Signer,
  ): Promise<LedgerEntry> {
    checkOpen()
    const record = signInvalidation(fields, operator, ctx.networkId)
    const bytes = encodeInvalidation(record, ctx.networkId)
    const result = await run([bytes], {
      from: ctx.signer.publicKey,
      ...(correlationId === undefined ? {} : { correlationId }),
    })
    const error = result.errors[0]
    if (error !== undefined) throw error
    return readEntry(ctx, ctx.dbs.ledgerIds.get(invalidationHash(bytes))!)!
  }
  const checkReason = (reason: unknown) => {
    if (typeof reason !== 'string') throw new InvalidArgumentError('reason', 'must be a string')
  }
  return {
    invalidate(criteria, request, operator) {
      validateCriteria(criteria)
      checkReason(request?.reason)
      const fields = { action: 'invalidate' as const, criteria, reason: request.reason, hlc: ctx.clock.now() }
      return signAndApply(fields, request.correlationId, operator)
    },
    lift(id, request, operator) {
      if (!(id instanceof Uint8Array) || id.length !== 32) {
        throw new InvalidArgumentError('id', 'must be a 32-byte invalidation id')
      }
      checkReason(request?.reason)
      if (describe(ctx, id) === undefined) {
        throw new InvalidArgumentError('id', `no invalidation ${toHex(id)} is stored here`)
      }
      const fields = { action: 'lift' as const, target: id, reason: request.reason, hlc: ctx.clock.now() }
      return signAndApply(fields, request.correlationId, operator)
    },
    list() {
      checkOpen()
      const out: StoredInvalidation[] = []
      for (const key of [...ctx.dbs.invRecords.getKeys()]) {
        const found = describe(ctx, copyBytes(key))
        if (found !== undefined) out.push(found)
      }
      return out
    },
    get(id) {
      checkOpen()
      return describe(ctx, id)
    },
  }
}
