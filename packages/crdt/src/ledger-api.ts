import { toHex } from './bytes.js'
import { decodeInvalidation } from './codec/invalidation.js'
import { decodeRevocation, type Revocation, recordHash, verifyRevocation } from './codec/records.js'
import type { Context, StoreName } from './context.js'
import { compileCriteria, type InvalidationCriteria, validateCriteria } from './criteria.js'
import { lastKey } from './durability.js'
import { InvalidArgumentError, LedgerImportError } from './errors.js'
import { importedInvalidation, storeInvalidation } from './invalidations.js'
import {
  appendEntries,
  applyEntry,
  applyPending,
  type ExportedLedger,
  entries,
  exportEntries,
  invalidationId,
  type LedgerEntry,
  type LedgerKind,
  type LedgerResult,
  type NewLedgerEntry,
  parseExportedEntry,
  readEntry,
} from './ledger.js'
import { loadRevoked, storeRevocation } from './revocations.js'

export interface LedgerTotals {
  readonly entries: number
  readonly revocations: number
  readonly reinstatements: number
  readonly invalidations: number
  readonly invalidated: number
  readonly restored: number
  /** Entries appended but not yet applied (non-zero only between a crash and the next open). */
  readonly pending: number
}

export interface LedgerApi {
  since(seq?: number): LedgerEntry[]
  byKind(kind: LedgerKind): LedgerEntry[]
  bySubject(subject: Uint8Array): LedgerEntry[]
  latestSeq(): number
  totals(): LedgerTotals
  /** Re-applies entries from `fromSeq`; idempotent. Returns how many view components changed. */
  replay(options?: { fromSeq?: number }): number
  export(): Uint8Array
  /** Verifies an export, appends what this ledger lacks, then replays the whole ledger. */
  import(bytes: Uint8Array): { added: number; viewChanges: number }
  invalidate(
    criteria: InvalidationCriteria,
    request: { actor: string; reason: string; correlationId?: string },
  ): LedgerEntry
}

export interface LedgerHooks {
  checkOpen(): void
  notify(store: StoreName): void
  /** Runs `fn` and notifies every store whose root it changed (revocations move records in and out). */
  watchRoots<T>(fn: () => T): T
  /** The crash-test hook: runs between the ledger append and the application of its effects. */
  afterLedgerAppend(): void
}

/** Re-applies every entry from `fromSeq`, recomputing from the stored records. */
export function replay(ctx: Context, fromSeq = 1): number {
  loadRevoked(ctx)
  let changes = 0
  for (const entry of [...entries(ctx, fromSeq)]) changes += applyEntry(ctx, entry).viewChanges
  return changes
}

export function createLedgerApi(ctx: Context, hooks: LedgerHooks): LedgerApi {
  const { dbs, networkId } = ctx
  const { checkOpen, notify } = hooks
  const allEntries = (): LedgerEntry[] => [...entries(ctx)]
  return {
    since: (seq = 0) => [...entries(ctx, seq + 1)],
    byKind: (kind) => allEntries().filter((e) => e.kind === kind),
    bySubject: (subject) =>
      allEntries().filter(
        (e) =>
          (e.subject !== undefined && toHex(e.subject) === toHex(subject)) ||
          (e.criteria?.type === 'signer' && toHex(e.criteria.key) === toHex(subject)),
      ),
    latestSeq: () => lastKey(dbs.ledger),
    totals() {
      const all = allEntries()
      const sum = (f: (r: LedgerResult) => number) =>
        all.reduce((n, e) => n + (e.result ? f(e.result) : 0), 0)
      return {
        entries: all.length,
        revocations: all.filter((e) => e.kind === 'revoke').length,
        reinstatements: all.filter((e) => e.kind === 'reinstate').length,
        invalidations: all.filter((e) => e.kind === 'invalidate').length,
        invalidated: sum((r) => r.invalidated),
        restored: sum((r) => r.restored),
        pending: all.filter((e) => e.result === undefined).length,
      }
    },
    replay: (replayOptions = {}) => {
      checkOpen()
      return hooks.watchRoots(() => replay(ctx, replayOptions.fromSeq ?? 1))
    },
    export: () => exportEntries(ctx),
    import(bytes) {
      checkOpen()
      // A revocation entry is rebuilt from its signed record: only the record is trusted, and
      // only if it verifies and its operator is in this node's trust bundle.
      const parsed = parseExport(bytes, networkId).map((entry): NewLedgerEntry => {
        if (entry.kind === 'lift' || (entry.kind === 'invalidate' && entry.record !== undefined))
          return importedInvalidation(ctx, entry)
        if (entry.kind === 'invalidate') return entry
        const record = entry.record === undefined ? undefined : tryDecodeRevocation(entry.record, networkId)
        if (record === undefined || !verifyRevocation(record, networkId)) {
          throw new LedgerImportError(
            `entry ${toHex(entry.id)}: revocation record missing or does not verify`,
          )
        }
        if (!ctx.trust.has(toHex(record.operator))) {
          throw new LedgerImportError(
            `entry ${toHex(entry.id)}: operator ${toHex(record.operator)} is not trusted`,
          )
        }
        return {
          ...entry,
          id: recordHash(entry.record!),
          kind: record.action,
          subjectKind: record.subjectKind,
          subject: record.subject,
          criteria: undefined,
          reason: record.reason,
          actor: toHex(record.operator),
          hlc: record.hlc,
        }
      })
      const added = ctx.write(() => {
        const fresh = parsed.filter((e) => dbs.ledgerIds.get(e.id) === undefined)
        const changes: { key: Uint8Array; valueHash: Uint8Array }[] = []
        for (const entry of fresh) {
          if (entry.record === undefined) continue
          const hash = recordHash(entry.record)
          if (entry.kind === 'invalidate' || entry.kind === 'lift') {
            const stored = storeInvalidation(
              ctx,
              decodeInvalidation(entry.record, networkId),
              entry.record,
              hash,
            )
            if (stored === 'applied') ctx.trees.invalidations.update([{ key: hash, valueHash: hash }])
            continue
          }
          if (
            storeRevocation(ctx, decodeRevocation(entry.record, networkId), entry.record, hash) === 'applied'
          ) {
            changes.push({ key: hash, valueHash: hash })
          }
        }
        if (changes.length > 0) ctx.trees.revocations.update(changes)
        return appendEntries(ctx, fresh).length
      })
      if (added > 0) hooks.afterLedgerAppend()
      // Everything, not only what was added: the records may have come back from a backup.
      const viewChanges = hooks.watchRoots(() => replay(ctx, 1))
      if (added > 0) {
        notify('revocations')
        notify('invalidations')
      }
      return { added, viewChanges }
    },
    invalidate(criteria, request) {
      checkOpen()
      validateCriteria(criteria)
      if (typeof request?.actor !== 'string' || request.actor.length === 0) {
        throw new InvalidArgumentError('actor', 'must be a non-empty string')
      }
      if (typeof request.reason !== 'string') throw new InvalidArgumentError('reason', 'must be a string')
      compileCriteria(criteria)
      const hlc = ctx.clock.now()
      const id = invalidationId(criteria, request.reason, request.actor, hlc)
      const [seq] = ctx.write(() =>
        appendEntries(ctx, [
          {
            id,
            kind: 'invalidate',
            subjectKind: 'criteria',
            criteria,
            reason: request.reason,
            actor: request.actor,
            source: { type: 'local' },
            correlationId: request.correlationId ?? crypto.randomUUID(),
            hlc,
          },
        ]),
      )
      hooks.afterLedgerAppend()
      applyPending(ctx)
      return readEntry(ctx, seq!)!
    },
  }
}

function tryDecodeRevocation(bytes: Uint8Array, networkId: string): Revocation | undefined {
  try {
    return decodeRevocation(bytes, networkId)
  } catch {
    return undefined
  }
}

function parseExport(bytes: Uint8Array, networkId: string) {
  let ledger: ExportedLedger
  try {
    ledger = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as ExportedLedger
  } catch {
    throw new LedgerImportError('not a ledger export (invalid JSON)')
  }
  if (ledger?.format !== 'provsync-ledger' || ledger.version !== 1 || !Array.isArray(ledger.entries)) {
    throw new LedgerImportError('not a provsync ledger export, version 1')
  }
  if (ledger.networkId !== networkId) {
    throw new LedgerImportError(`the export belongs to network ${JSON.stringify(ledger.networkId)}`)
  }
  return ledger.entries.map((entry, i) => {
    try {
      return parseExportedEntry(entry as Parameters<typeof parseExportedEntry>[0])
    } catch (error) {
      throw new LedgerImportError(`entry ${i}: ${(error as Error).message}`)
    }
  })
}
