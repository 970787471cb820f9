import { compareTimestamps } from '@provsync/hlc'
import { AsserterIndexWriter } from './asserter-index.js'
import { blake3, compareBytes, equalBytes, toHex } from './bytes.js'
import { type Coordinate, decodeCoordinate } from './codec/coordinate.js'
import {
  type Assertion,
  type AssertionHead,
  coordinateBytesOf,
  decodeAssertion,
  encodeAssertion,
  recordHash,
  signAssertion,
} from './codec/records.js'
import type { Context } from './context.js'
import { EMPTY } from './db.js'
import { type CoordinateEntry, decodeCoordinateEntry } from './persisted.js'
import type { AssertionEvidence } from './view.js'

export type MergeStatus = 'applied' | 'duplicate' | 'superseded'

export interface MergeResult {
  readonly status: MergeStatus
  /** The register's tree key: BLAKE3(asserter ‖ coordinate). */
  readonly key: Uint8Array
  readonly coordinateId: Uint8Array
  readonly change?: { key: Uint8Array; valueHash: Uint8Array }
}

/**
 * The join of one (asserter, coordinate) max-register: the higher run wins; at equal runs the
 * higher HLC, then the higher record hash, so every replica keeps the same record.
 */
export function registerWins(
  incoming: { run: bigint; hlc: Assertion['hlc']; hash: Uint8Array },
  current: { run: bigint; hlc: Assertion['hlc']; hash: Uint8Array },
): boolean {
  // Stryker disable next-line EqualityOperator: equivalent, the runs differ here so > and >= agree
  if (incoming.run !== current.run) return incoming.run > current.run
  return (compareTimestamps(incoming.hlc, current.hlc) || compareBytes(incoming.hash, current.hash)) > 0
}

/** A coordinate entry being changed by a write transaction. */
export interface WorkingEntry {
  readonly coordId: Uint8Array
  readonly entry: CoordinateEntry
  /** The last record merged into it, named as the cause of the view change. */
  record?: Uint8Array
}

/** The coordinate entries one write transaction works on, each read at most once. */
export class WorkingEntries {
  readonly byId = new Map<string, WorkingEntry>()
  /** The asserter index entries of the registers merged in (written by {@link finish}). */
  private readonly index: AsserterIndexWriter
  constructor(private readonly ctx: Context) {
    this.index = new AsserterIndexWriter(ctx)
  }

  /** Lists a new register in the asserter index (see {@link AsserterIndexWriter}). */
  indexRegister(asserter: Uint8Array, coordId: Uint8Array): void {
    this.index.note(asserter, coordId)
  }

  /** Writes the asserter index entries of the registers merged in; call after the last merge. */
  finish(): void {
    this.index.finish()
  }

  load(coordId: Uint8Array, coordinate: Uint8Array, id = toHex(coordId)): WorkingEntry {
    let working = this.byId.get(id)
    if (working === undefined) {
      const stored = this.ctx.dbs.coordinates.get(coordId)
      const entry =
        stored === undefined
          ? { coordinate: new Uint8Array(coordinate), evidence: [] }
          : decodeCoordinateEntry(stored)
      working = { coordId, entry }
      this.byId.set(id, working)
    }
    return working
  }
}

/** Merges one verified assertion into its register; call inside a write transaction. */
export function mergeAssertion(
  ctx: Context,
  working: WorkingEntries,
  record: AssertionHead,
  encoded: Uint8Array,
  hash: Uint8Array,
  from: Uint8Array,
  /** The coordinate's id and map key when the caller has them already. */
  known?: { coordId: Uint8Array; coordKey: string },
): MergeResult {
  const coordinate = coordinateBytesOf(encoded)
  const coordId = known?.coordId ?? blake3(coordinate)
  const key = blake3(record.asserter, coordinate)
  const target = working.load(coordId, coordinate, known?.coordKey)
  const evidence = target.entry.evidence
  const index = evidence.findIndex((e) => equalBytes(e.asserter, record.asserter))
  const current = evidence[index]
  if (current !== undefined) {
    if (equalBytes(current.hash, hash)) return { status: 'duplicate', key, coordinateId: coordId }
    if (!registerWins({ run: record.run, hlc: record.hlc, hash }, current)) {
      return { status: 'superseded', key, coordinateId: coordId }
    }
  }
  const next: AssertionEvidence = {
    asserter: record.asserter,
    run: record.run,
    hlc: record.hlc,
    hash,
    via: equalBytes(from, record.asserter) ? undefined : from,
  }
  if (current === undefined) {
    evidence.push(next)
    working.indexRegister(record.asserter, coordId)
  } else evidence[index] = next
  target.record = hash
  ctx.dbs.asRecords.put(key, encoded)
  return { status: 'applied', key, coordinateId: coordId, change: { key, valueHash: hash } }
}

/**
 * Signs this node's assertion of its own evidence for `coordinate` and merges it into the register;
 * call inside a write transaction. Returns the tree change, if the assertion is new.
 */
export function assertOwnEvidence(
  ctx: Context,
  working: WorkingEntries,
  fields: {
    coordinate: Coordinate
    run: bigint
    method: string
    hlc: Assertion['hlc']
    evidence?: Uint8Array
  },
  known?: { coordId: Uint8Array; coordKey: string },
): MergeResult {
  const record = signAssertion(fields, ctx.signer, ctx.networkId)
  const encoded = encodeAssertion(record, ctx.networkId)
  return mergeAssertion(ctx, working, record, encoded, recordHash(encoded), ctx.signer.publicKey, known)
}

/**
 * Evidence this node recorded while its own key was revoked carries no assertion (peers would
 * refuse it); once the key is reinstated, each is asserted with a fresh HLC, unless this node
 * has asserted that run since (it verified again once the key was back), so a second pass over
 * the list asserts nothing twice. Call inside the write transaction that reinstates the key;
 * returns the tree changes.
 */
export function assertWithheldEvidence(
  ctx: Context,
  working: WorkingEntries,
): Array<{ key: Uint8Array; valueHash: Uint8Array }> {
  // Listed first: iterating one database while writing others makes lmdb-js reposition cursors.
  const withheld = [...ctx.dbs.unasserted.getRange()].map(({ key, value }) => ({
    coordId: new Uint8Array(key),
    method: value,
  }))
  const changes: Array<{ key: Uint8Array; valueHash: Uint8Array }> = []
  for (const { coordId, method } of withheld) {
    ctx.dbs.unasserted.remove(coordId)
    const coordKey = toHex(coordId)
    // An id with no stored entry loads as an empty one, which has no local evidence.
    const { entry } = working.load(coordId, EMPTY, coordKey)
    const local = entry.local
    if (local === undefined) continue
    const own = entry.evidence.find((e) => equalBytes(e.asserter, ctx.signer.publicKey))
    if (own !== undefined && own.run >= local.run) continue
    const fields = {
      coordinate: decodeCoordinate(entry.coordinate),
      run: local.run,
      method,
      hlc: ctx.clock.now(),
    }
    const merged = assertOwnEvidence(ctx, working, fields, { coordId, coordKey })
    if (merged.change !== undefined) changes.push(merged.change)
  }
  return changes
}

export function readEvidence(ctx: Context, coordId: Uint8Array): AssertionEvidence[] {
  const stored = ctx.dbs.coordinates.get(coordId)
  return stored === undefined ? [] : decodeCoordinateEntry(stored).evidence
}

export function getAssertion(ctx: Context, key: Uint8Array): Assertion | undefined {
  const bytes = ctx.dbs.asRecords.get(key)
  return bytes === undefined ? undefined : decodeAssertion(bytes, ctx.networkId)
}
