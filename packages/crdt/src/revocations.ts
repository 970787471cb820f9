import { compareTimestamps } from '@provsync/hlc'
import { compareBytes, concat, copyBytes, toHex } from './bytes.js'
import { decodeRevocation, type Revocation } from './codec/records.js'
import type { Context } from './context.js'
import { EMPTY } from './db.js'

export interface StoredRevocation {
  readonly hash: Uint8Array
  readonly record: Revocation
}

/** Stores one verified revocation or reinstatement; call inside a write transaction. */
export function storeRevocation(
  ctx: Context,
  record: Revocation,
  encoded: Uint8Array,
  hash: Uint8Array,
): 'applied' | 'duplicate' {
  if (ctx.dbs.rvRecords.get(hash) !== undefined) return 'duplicate'
  ctx.dbs.rvRecords.put(hash, encoded)
  ctx.dbs.rvBySubject.put(concat(record.subject, hash), EMPTY)
  return 'applied'
}

export function revocationsOf(ctx: Context, subject: Uint8Array): StoredRevocation[] {
  const end = concat(subject, new Uint8Array(33).fill(0xff))
  const out: StoredRevocation[] = []
  for (const key of ctx.dbs.rvBySubject.getKeys({ start: subject, end })) {
    const hash = copyBytes(key.subarray(32))
    const bytes = ctx.dbs.rvRecords.get(hash)
    if (bytes !== undefined) out.push({ hash, record: decodeRevocation(bytes, ctx.networkId) })
  }
  return out
}

/**
 * A subject's state is a last-writer-wins register over its revocation records: the latest HLC
 * (then the higher hash) decides between revoke and reinstate, the same on every replica.
 */
export function latestRevocation(records: readonly StoredRevocation[]): StoredRevocation | undefined {
  let winner: StoredRevocation | undefined
  for (const r of records) {
    if (
      winner === undefined ||
      (compareTimestamps(r.record.hlc, winner.record.hlc) || compareBytes(r.hash, winner.hash)) > 0
    ) {
      winner = r
    }
  }
  return winner
}

/**
 * Re-derives whether `subject` is revoked and updates the in-memory set. Only operators in the
 * current trust bundle count: records of an operator since removed from it stay stored but no
 * longer act.
 */
export function refreshSubject(ctx: Context, subject: Uint8Array): boolean {
  const trusted = revocationsOf(ctx, subject).filter((r) => ctx.trust.has(toHex(r.record.operator)))
  const revoked = latestRevocation(trusted)?.record.action === 'revoke'
  if (revoked) ctx.revoked.add(subject)
  else ctx.revoked.delete(subject)
  return revoked
}

export function loadRevoked(ctx: Context): void {
  const subjects = new Set<string>()
  for (const key of ctx.dbs.rvBySubject.getKeys()) subjects.add(toHex(key.subarray(0, 32)))
  ctx.revoked.clear()
  for (const hex of subjects) refreshSubject(ctx, Buffer.from(hex, 'hex'))
}
