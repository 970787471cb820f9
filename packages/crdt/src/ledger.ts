import { decodeTimestamp, encodeTimestamp, type Timestamp } from '@provsync/hlc'
import { coordinatesOf, countCoordinatesOf } from './asserter-index.js'
import { assertWithheldEvidence, WorkingEntries } from './assertions.js'
import { blake3, concat, copyBytes, equalBytes, fromHex, toHex } from './bytes.js'
import { decodeCoordinate, formatCoordinate } from './codec/coordinate.js'
import { decodeSupersession } from './codec/records.js'
import { admissible, type Context } from './context.js'
import { compileCriteria, type InvalidationCriteria, type Matchable } from './criteria.js'
import { type Cause, type HistoryWriter, historyWriter, lastKey, recompute } from './durability.js'
import { applyNetworkedInvalidation, isNetworkedInvalidation } from './invalidations.js'
import { placeSignerRecords } from './membership.js'
import { type CoordinateEntry, decodeCoordinateEntry } from './persisted.js'
import { refreshSubject } from './revocations.js'

export type LedgerKind = 'revoke' | 'reinstate' | 'invalidate' | 'lift'
export type LedgerSubjectKind = 'peer' | 'signer' | 'criteria' | 'invalidation'
/** `networked`: a signed record that replicates; `local`: this node's own unsigned policy. */
export type LedgerOrigin = 'local' | 'networked'

/** Where a ledger entry came from. */
export type LedgerSource =
  | { readonly type: 'local' }
  | { readonly type: 'peer'; readonly peer: Uint8Array }
  | { readonly type: 'import' }

/** What applying an entry did, written when it was first applied. */
export interface LedgerResult {
  /** Records (assertion registers, supersessions) that left force. */
  readonly invalidated: number
  /** Records that came back into force (reinstatements). */
  readonly restored: number
  /** View components whose value changed. */
  readonly viewChanges: number
}

export interface LedgerEntry {
  readonly seq: number
  /** The revocation record's hash, or a hash of the invalidation request. */
  readonly id: Uint8Array
  readonly kind: LedgerKind
  readonly subjectKind: LedgerSubjectKind
  /** The revoked or reinstated key. */
  readonly subject?: Uint8Array | undefined
  readonly criteria?: InvalidationCriteria | undefined
  /** A lift: the id (record hash) of the invalidation it lifts. */
  readonly target?: Uint8Array | undefined
  /** Whether the entry applies a signed, replicated record or a local-only invalidation. */
  readonly origin: LedgerOrigin
  readonly reason: string
  /** The operator key (hex) of a revocation, or the actor named by an invalidation. */
  readonly actor: string
  readonly source: LedgerSource
  readonly correlationId: string
  readonly hlc: Timestamp
  /** The signed revocation record (revocations and reinstatements only). */
  readonly record?: Uint8Array | undefined
  /** Undefined while the entry is appended but not yet applied (a crash in between). */
  readonly result?: LedgerResult | undefined
}

type StoredCriteria =
  | { type: 'signer'; key: Uint8Array }
  | { type: 'prefix'; prefix: string }
  | { type: 'pattern'; pattern: string }
  | { type: 'older-than'; epoch: Uint8Array }
  | { type: 'family'; family: string }

interface StoredEntry {
  id: Uint8Array
  kind: LedgerKind
  subjectKind: LedgerSubjectKind
  subject?: Uint8Array
  criteria?: StoredCriteria
  target?: Uint8Array
  reason: string
  actor: string
  source: { type: LedgerSource['type']; peer?: Uint8Array }
  correlationId: string
  hlc: Uint8Array
  record?: Uint8Array
}

export type NewLedgerEntry = Omit<LedgerEntry, 'seq' | 'result' | 'origin'>

function storeCriteria(criteria: InvalidationCriteria): StoredCriteria {
  if (criteria.type === 'older-than') return { type: 'older-than', epoch: encodeTimestamp(criteria.epoch) }
  // Stryker disable next-line ConditionalExpression,StringLiteral: without this branch the spread keeps the same key bytes (a shared view, not a copy); what is stored and hashed is identical
  if (criteria.type === 'signer') return { type: 'signer', key: copyBytes(criteria.key) }
  return { ...criteria }
}

function loadCriteria(stored: StoredCriteria): InvalidationCriteria {
  if (stored.type === 'older-than') return { type: 'older-than', epoch: decodeTimestamp(stored.epoch) }
  if (stored.type === 'signer') return { type: 'signer', key: copyBytes(stored.key) }
  return stored
}

export function invalidationId(
  criteria: InvalidationCriteria,
  reason: string,
  actor: string,
  hlc: Timestamp,
): Uint8Array {
  const text = JSON.stringify({ c: storeCriteria(criteria), reason, actor }, (_k, v) =>
    v instanceof Uint8Array ? toHex(v) : v,
  )
  return blake3(new TextEncoder().encode(text), encodeTimestamp(hlc))
}

function toStored(entry: NewLedgerEntry): StoredEntry {
  const stored: StoredEntry = {
    id: entry.id,
    kind: entry.kind,
    subjectKind: entry.subjectKind,
    reason: entry.reason,
    actor: entry.actor,
    source:
      entry.source.type === 'peer' ? { type: 'peer', peer: entry.source.peer } : { type: entry.source.type },
    correlationId: entry.correlationId,
    hlc: encodeTimestamp(entry.hlc),
  }
  // Stryker disable next-line ConditionalExpression: an undefined field is dropped by the store's encoder and by JSON alike
  if (entry.subject !== undefined) stored.subject = entry.subject
  if (entry.criteria !== undefined) stored.criteria = storeCriteria(entry.criteria)
  // Stryker disable next-line ConditionalExpression: an undefined field is dropped by the store's encoder and by JSON alike
  if (entry.target !== undefined) stored.target = entry.target
  // Stryker disable next-line ConditionalExpression: an undefined field is dropped by the store's encoder and by JSON alike
  if (entry.record !== undefined) stored.record = entry.record
  return stored
}

function fromStored(seq: number, stored: StoredEntry, result: LedgerResult | undefined): LedgerEntry {
  return {
    seq,
    id: copyBytes(stored.id),
    kind: stored.kind,
    subjectKind: stored.subjectKind,
    subject: stored.subject === undefined ? undefined : copyBytes(stored.subject),
    criteria: stored.criteria === undefined ? undefined : loadCriteria(stored.criteria),
    target: stored.target === undefined ? undefined : copyBytes(stored.target),
    origin: stored.record === undefined ? 'local' : 'networked',
    reason: stored.reason,
    actor: stored.actor,
    source:
      stored.source.type === 'peer'
        ? { type: 'peer', peer: copyBytes(stored.source.peer!) }
        : { type: stored.source.type },
    correlationId: stored.correlationId,
    hlc: decodeTimestamp(stored.hlc),
    record: stored.record === undefined ? undefined : copyBytes(stored.record),
    result,
  }
}

/** Appends entries (the write-ahead intent); call inside the write transaction of their records. */
export function appendEntries(ctx: Context, entries: readonly NewLedgerEntry[]): number[] {
  let seq = lastKey(ctx.dbs.ledger)
  const seqs: number[] = []
  for (const entry of entries) {
    if (ctx.dbs.ledgerIds.get(entry.id) !== undefined) continue
    seq += 1
    ctx.dbs.ledger.put(seq, toStored(entry))
    ctx.dbs.ledgerIds.put(entry.id, seq)
    seqs.push(seq)
  }
  return seqs
}

export function readEntry(ctx: Context, seq: number): LedgerEntry | undefined {
  const stored = ctx.dbs.ledger.get(seq) as StoredEntry | undefined
  // Stryker disable next-line ConditionalExpression: the only caller (invalidate) reads the seq it has just appended
  if (stored === undefined) return undefined
  return fromStored(seq, stored, ctx.dbs.ledgerResults.get(seq) as LedgerResult | undefined)
}

export function* entries(ctx: Context, fromSeq = 1): Iterable<LedgerEntry> {
  for (const { key, value } of ctx.dbs.ledger.getRange({ start: fromSeq })) {
    yield fromStored(
      key as number,
      value as StoredEntry,
      ctx.dbs.ledgerResults.get(key) as LedgerResult | undefined,
    )
  }
}

export function appliedSeq(ctx: Context): number {
  return (ctx.dbs.meta.get('ledgerApplied') as number | undefined) ?? 0
}

/** Activates the invalidation rules recorded in the ledger (at open). */
export function loadRules(ctx: Context): void {
  ctx.rules.length = 0
  for (const { key, value } of ctx.dbs.rules.getRange()) {
    ctx.rules.push({ seq: key as number, test: compileCriteria(loadCriteria(value as StoredCriteria)) })
  }
}

/** Assertion registers and supersessions signed by `key`. */
function recordsSignedBy(ctx: Context, key: Uint8Array): number {
  const end = concat(key, new Uint8Array(49).fill(0xff))
  return countCoordinatesOf(ctx, key) + ctx.dbs.supByAgent.getKeysCount({ start: key, end })
}

/** Every record a criterion could match, as (what to match, coordinate to recompute). */
export function* candidates(
  ctx: Context,
  criteria: InvalidationCriteria,
): Iterable<[Matchable, Uint8Array | undefined]> {
  const rowsOf = function* (coordId: Uint8Array, entry: CoordinateEntry, signer?: Uint8Array) {
    const keyText = formatCoordinate(decodeCoordinate(entry.coordinate))
    for (const e of entry.evidence) {
      // Stryker disable next-line ConditionalExpression: a shortcut; the compiled signer criterion refuses another asserter's row anyway
      if (signer !== undefined && !equalBytes(e.asserter, signer)) continue
      yield [{ signer: e.asserter, hlc: e.hlc, keyText }, coordId] as [Matchable, Uint8Array]
    }
  }
  // Stryker disable next-line ConditionalExpression,StringLiteral: the signer index is a shortcut; the full scan yields a superset the compiled criterion filters
  if (criteria.type === 'signer') {
    for (const coordId of [...coordinatesOf(ctx, criteria.key)]) {
      const stored = ctx.dbs.coordinates.get(coordId)
      // Stryker disable next-line ConditionalExpression: equivalent, the signer index lists only coordinates that are stored
      if (stored !== undefined) yield* rowsOf(coordId, decodeCoordinateEntry(stored), criteria.key)
    }
  } else {
    // Key text and HLC criteria look at every coordinate.
    for (const { key, value } of ctx.dbs.coordinates.getRange()) {
      yield* rowsOf(copyBytes(key), decodeCoordinateEntry(value))
    }
  }
  for (const { value } of ctx.dbs.supRecords.getRange()) {
    const s = decodeSupersession(value, ctx.networkId)
    yield [{ signer: s.agent, hlc: s.hlc, keyText: toHex(s.target) }, undefined]
  }
}

/**
 * Applies one ledger entry in its own write transaction. Idempotent: what it does depends only
 * on the stored records and rules, so applying an entry twice changes nothing the second time;
 * the result of the first application is kept.
 */
export function applyEntry(ctx: Context, entry: LedgerEntry): LedgerResult {
  return ctx.write(() => {
    const history = historyWriter(ctx)
    let invalidated = 0
    let restored = 0
    let viewChanges = 0
    if (isNetworkedInvalidation(entry)) {
      ;({ invalidated, restored, viewChanges } = applyNetworkedInvalidation(ctx, entry, history))
    } else if (entry.kind === 'invalidate') {
      const criteria = entry.criteria!
      const test = compileCriteria(criteria)
      // Stryker disable next-line ArrowFunction,ConditionalExpression: inactive on a replay only re-stores the same rule and counts a result that is never kept (the first is)
      const active = ctx.rules.some((rule) => rule.seq === entry.seq)
      const affected = new Map<string, Uint8Array>()
      for (const [record, coordId] of candidates(ctx, criteria)) {
        if (!test(record)) continue
        if (!active && admissible(ctx, record)) invalidated++
        if (coordId !== undefined) affected.set(toHex(coordId), coordId)
      }
      // Stryker disable next-line ConditionalExpression: the same as for `active`: the same rule stored again, a duplicate test that decides alike
      if (!active) {
        ctx.dbs.rules.put(entry.seq, storeCriteria(criteria))
        ctx.rules.push({ seq: entry.seq, test })
      }
      for (const coordId of affected.values()) {
        if (recompute(ctx, coordId, { type: 'invalidate', ledgerSeq: entry.seq }, history)) viewChanges++
      }
    } else {
      const subject = entry.subject!
      const revoked = refreshSubject(ctx, subject)
      const target = revoked ? 'revoked' : 'active'
      const previous = ctx.dbs.rvApplied.get(subject) ?? 'active'
      if (previous !== target) {
        const count = recordsSignedBy(ctx, subject)
        if (revoked) invalidated = count
        else restored = count
        ctx.dbs.rvApplied.put(subject, target)
        // A revoked signer's records leave the replicated set (its trees) in this transaction,
        // with the state they follow, so replay finds both in line and moves nothing.
        placeSignerRecords(ctx, subject, !revoked)
      }
      const cause = { type: revoked ? 'revoke' : 'reinstate', ledgerSeq: entry.seq } as const
      // Listed first: iterating one database while writing others makes lmdb-js reposition cursors.
      for (const coordId of [...coordinatesOf(ctx, subject)]) {
        if (recompute(ctx, coordId, cause, history)) viewChanges++
      }
      if (!revoked && equalBytes(subject, ctx.signer.publicKey))
        viewChanges += assertWithheld(ctx, history, cause)
    }
    history.finish()
    const result: LedgerResult = { invalidated, restored, viewChanges }
    if (ctx.dbs.ledgerResults.get(entry.seq) === undefined) ctx.dbs.ledgerResults.put(entry.seq, result)
    // Stryker disable next-line EqualityOperator,ConditionalExpression: at equality it writes the value already stored; made true, a checkpoint moved back only makes the next applyPending replay entries, which is idempotent
    if (appliedSeq(ctx) < entry.seq) ctx.dbs.meta.put('ledgerApplied', entry.seq)
    return result
  })
}

/** This node's key is back in force: its withheld evidence is asserted; returns the view changes. */
function assertWithheld(ctx: Context, history: HistoryWriter, cause: Cause): number {
  const working = new WorkingEntries(ctx)
  const changes = assertWithheldEvidence(ctx, working)
  working.finish()
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, a tree update with no changes changes nothing
  if (changes.length > 0) ctx.trees.assertions.update(changes)
  let viewChanges = 0
  for (const { coordId, entry, record } of working.byId.values()) {
    // Stryker disable next-line ConditionalExpression: equivalent, an entry this pass did not assert already holds this node's run (recomputed above for this reinstatement): rewritten unchanged, no history, not counted
    if (record !== undefined && recompute(ctx, coordId, cause, history, { working: entry })) viewChanges++
  }
  return viewChanges
}

/** Applies every entry past the checkpoint: after an append, and at open after a crash. */
export function applyPending(ctx: Context): number {
  let count = 0
  for (const entry of [...entries(ctx, appliedSeq(ctx) + 1)]) {
    applyEntry(ctx, entry)
    // Stryker disable next-line UpdateOperator: no caller reads the count
    count++
  }
  return count
}

/**
 * At open: a subject whose derived state differs from what its view was last brought to (the
 * trust bundle changed since) is brought in line by re-applying its latest ledger entry.
 */
export function reconcileSubjects(ctx: Context): number {
  let changes = 0
  for (const { key, value } of [...ctx.dbs.rvApplied.getRange()]) {
    const subject = copyBytes(key)
    // Stryker disable next-line ConditionalExpression: equivalent, re-applying a subject already in line is idempotent (a shortcut)
    if ((value === 'revoked') === ctx.revoked.has(subject)) continue
    let latest: LedgerEntry | undefined
    // Stryker disable ConditionalExpression: equivalent, equalBytes of an absent subject is false
    for (const entry of entries(ctx))
      if (entry.subject !== undefined && equalBytes(entry.subject, subject)) latest = entry
    // Stryker restore ConditionalExpression
    // Stryker disable next-line ConditionalExpression,AssignmentOperator: equivalent, a subject is in rvApplied only through an entry naming it; the count is read by no caller
    if (latest !== undefined) changes += applyEntry(ctx, latest).viewChanges
  }
  return changes
}

export interface ExportedLedger {
  readonly format: 'provsync-ledger'
  readonly version: 1
  readonly networkId: string
  readonly entries: readonly ExportedEntry[]
}

interface ExportedEntry {
  seq: number
  id: string
  kind: LedgerKind
  subjectKind: LedgerSubjectKind
  subject?: string
  criteria?: unknown
  target?: string
  reason: string
  actor: string
  source: { type: LedgerSource['type']; peer?: string }
  correlationId: string
  hlc: string
  record?: string
}

const hexReplacer = (_key: string, value: unknown) => (value instanceof Uint8Array ? toHex(value) : value)

export function exportEntries(ctx: Context): Uint8Array {
  const out: ExportedEntry[] = []
  for (const entry of entries(ctx)) {
    const stored = toStored(entry)
    out.push(JSON.parse(JSON.stringify({ seq: entry.seq, ...stored }, hexReplacer)) as ExportedEntry)
  }
  const ledger: ExportedLedger = {
    format: 'provsync-ledger',
    version: 1,
    networkId: ctx.networkId,
    entries: out,
  }
  return new TextEncoder().encode(JSON.stringify(ledger, null, 1))
}

/** Parses one exported entry back; throws on any malformed field (the caller wraps the error). */
export function parseExportedEntry(value: ExportedEntry): NewLedgerEntry {
  const kinds: LedgerKind[] = ['revoke', 'reinstate', 'invalidate', 'lift']
  if (!kinds.includes(value.kind)) throw new Error(`unknown kind ${value.kind}`)
  const stored: StoredEntry = {
    id: fromHex(value.id),
    kind: value.kind,
    subjectKind: value.subjectKind,
    reason: String(value.reason),
    actor: String(value.actor),
    source: { type: 'import' },
    correlationId: String(value.correlationId),
    hlc: fromHex(value.hlc),
  }
  if (value.subject !== undefined) stored.subject = fromHex(value.subject)
  if (value.record !== undefined) stored.record = fromHex(value.record)
  if (value.target !== undefined) stored.target = fromHex(value.target)
  if (value.criteria !== undefined) {
    const c = value.criteria as Record<string, string>
    if (c.type === 'signer') stored.criteria = { type: 'signer', key: fromHex(c.key!) }
    else if (c.type === 'older-than') stored.criteria = { type: 'older-than', epoch: fromHex(c.epoch!) }
    else if (c.type === 'prefix') stored.criteria = { type: 'prefix', prefix: String(c.prefix) }
    else if (c.type === 'pattern') stored.criteria = { type: 'pattern', pattern: String(c.pattern) }
    else if (c.type === 'family') stored.criteria = { type: 'family', family: String(c.family) }
    else throw new Error(`unknown criteria ${c.type}`)
  }
  const entry = fromStored(0, stored, undefined)
  const { seq: _seq, result: _result, origin: _origin, ...rest } = entry
  return rest
}
