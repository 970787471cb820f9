import { compareBytes, concat, equalBytes, startsWith, toHex } from './bytes.js'
import type { Context } from './context.js'
import { asserterIndexKey, CHUNK_IDS } from './db.js'
import { readSeq } from './persisted.js'

/** The registers one asserter gained in this transaction. */
interface Pending {
  readonly asserter: Uint8Array
  readonly ids: Uint8Array[]
}

/**
 * The asserter index entries of one write transaction (schema 6): the new registers are noted as
 * they are merged and written by {@link finish}, one entry per asserter and transaction holding
 * the ids of all of them. Schema 5 put one entry per register, 7-11 µs of CPU each in
 * `bench/put-probe.ts` (most of it lmdb-js taking the address of each 32-byte id's own buffer),
 * where one entry for a batch of 1,000 costs under 0.5 µs per register.
 */
export class AsserterIndexWriter {
  private readonly pending = new Map<string, Pending>()
  private last: Pending | undefined
  constructor(private readonly ctx: Context) {}

  /** Notes that `asserter` gained a register at `coordId` (kept until {@link finish}). */
  note(asserter: Uint8Array, coordId: Uint8Array): void {
    let slot = this.last
    if (slot === undefined || !equalBytes(slot.asserter, asserter)) {
      const id = toHex(asserter)
      slot = this.pending.get(id)
      if (slot === undefined) {
        slot = { asserter, ids: [] }
        this.pending.set(id, slot)
      }
      this.last = slot
    }
    slot.ids.push(coordId)
  }

  /**
   * Writes what was noted: per asserter, after its last entry (asserter ‖ n, n counting from 1),
   * in values of at most {@link CHUNK_IDS} ids, in the order noted. Call inside the transaction,
   * after the last merge; a second call writes only what was noted since.
   */
  finish(): void {
    for (const { asserter, ids } of this.pending.values()) {
      const hex = toHex(asserter)
      let n = lastIndexNumber(this.ctx, asserter, this.ctx.hints.asserters.get(hex))
      for (let start = 0; start < ids.length; start += CHUNK_IDS) {
        const value = concat(...ids.slice(start, start + CHUNK_IDS))
        this.ctx.dbs.asserterChunks.put(asserterIndexKey(asserter, ++n), value)
      }
      this.ctx.hints.asserters.set(hex, n)
    }
    this.pending.clear()
    this.last = undefined
  }
}

/**
 * The highest number an asserter's index entries use, or 0. An asserter's entries are numbered 1,
 * 2, 3, … with no gap (each is written at the last number + 1, and none is deleted), so when entry
 * `hint` is stored and `hint + 1` is not, `hint` is the last: two point reads instead of a reverse
 * range read (see `SequenceHints` in context.ts); otherwise, or without a hint, the range read answers.
 */
export function lastIndexNumber(ctx: Context, asserter: Uint8Array, hint?: number): number {
  const chunks = ctx.dbs.asserterChunks
  if (
    hint !== undefined &&
    hint >= 1 &&
    chunks.doesExist(asserterIndexKey(asserter, hint)) &&
    !chunks.doesExist(asserterIndexKey(asserter, hint + 1))
  )
    return hint
  const keys = chunks.getKeys({
    start: asserterIndexKey(asserter, Number.MAX_SAFE_INTEGER),
    end: asserter,
    reverse: true,
    limit: 1,
  })
  for (const key of keys) {
    if (!startsWith(key, asserter)) return 0
    return readSeq(new DataView(key.buffer, key.byteOffset, key.byteLength), 32)
  }
  return 0
}

const indexEnd = (asserter: Uint8Array) => concat(asserter, new Uint8Array(9).fill(0xff))

/** The asserter's index entries, in the order they were written. */
function entriesOf(ctx: Context, asserter: Uint8Array): Iterable<{ value: Uint8Array }> {
  return ctx.dbs.asserterChunks.getRange({ start: asserter, end: indexEnd(asserter) })
}

/**
 * Coordinate ids an asserter has a register for, in coordinate id order (so a revocation
 * recomputes, and writes history, in the same order on every node): one range read over the
 * asserter index.
 */
export function coordinatesOf(ctx: Context, asserter: Uint8Array): Uint8Array[] {
  const ids: Uint8Array[] = []
  for (const { value } of entriesOf(ctx, asserter)) {
    for (let offset = 0; offset < value.length; offset += 32) ids.push(value.slice(offset, offset + 32))
  }
  return ids.sort(compareBytes)
}

/** How many assertion registers an asserter has, from the sizes of its index entries. */
export function countCoordinatesOf(ctx: Context, asserter: Uint8Array): number {
  let bytes = 0
  for (const { value } of entriesOf(ctx, asserter)) bytes += value.length
  return bytes / 32
}
