import { mkdirSync } from 'node:fs'
import { decodeTimestamp } from '@provsync/hlc'
import { type Database, open, type RootDatabase } from 'lmdb'
import { blake3, concat, equalBytes, readU64 } from './bytes.js'
import { withPreviousSeq } from './durability.js'
import { SchemaVersionError } from './errors.js'
// Loaded with the module that opens LMDB: see lmdb-address.ts.
import './lmdb-address.js'
import { log } from './log.js'
import { decodeCoordinateEntry, encodeCoordinateEntry, readSeq } from './persisted.js'
import type { AssertionEvidence, LocalEvidence } from './view.js'

export const SCHEMA_VERSION = 6

/** Set by the schema 3 migration: the database predates revoked signers leaving the trees. */
export const PENDING_SIGNER_PLACEMENT = 'pendingSignerPlacement'

/** The trust bundle the revocations tree was last placed for (see membership's placeAtOpen). */
export const TRUST_BUNDLE = 'trustBundle'

type Bin = Database<Uint8Array, Uint8Array>
type Obj = Database<unknown, number>

/** Every named sub-database of a node; names are prefixed so they never meet merkle's. */
export interface Databases {
  readonly env: RootDatabase
  /** String keys: schema version, identity seed, HLC mark, ledger checkpoint, counters. */
  readonly meta: Database<unknown, string>
  readonly supRecords: Bin // hash → record
  readonly supByTarget: Bin // target ‖ hash → ''
  readonly supByAgent: Bin // agent ‖ hlc ‖ hash → ''
  readonly asRecords: Bin // tree key (BLAKE3(asserter ‖ coordinate)) → the register's current max record
  /**
   * asserter ‖ u64 n → the coordinate ids (32 bytes each, at most {@link CHUNK_IDS}) of the
   * asserter's registers listed by one write transaction: what revoking a peer touches (schema 6).
   */
  readonly asserterChunks: Bin
  readonly coordinates: Bin // coordinate id → coordinate, local evidence, view component (schema 2)
  readonly rvRecords: Bin // hash → record
  readonly rvBySubject: Bin // subject ‖ hash → ''
  readonly rvApplied: Database<string, Uint8Array> // subject → state the view was last brought to
  readonly history: Database<Uint8Array, number> // seq → history entry (binary)
  readonly unasserted: Database<string, Uint8Array> // coordinate id → method: local evidence recorded while this node's key was revoked
  readonly ledger: Obj // seq → ledger entry (write-ahead intent)
  readonly ledgerResults: Obj // seq → what applying the entry did
  readonly ledgerIds: Database<number, Uint8Array> // entry id → seq
  readonly rules: Obj // ledger seq → active invalidation criterion
  readonly invRecords: Bin // hash → signed invalidation or lift record (networked invalidation)
  readonly invLifts: Bin // invalidation id ‖ lift hash → '': the lifts naming an invalidation
}

const BINARY_DBS = [
  'supRecords',
  'supByTarget',
  'supByAgent',
  'asRecords',
  'asserterChunks',
  'coordinates',
  'rvRecords',
  'rvBySubject',
  'invRecords',
  'invLifts',
] as const

export function dbName(key: string): string {
  return `crdt/${key}`
}

/**
 * Opens the node's LMDB environment in the directory `path`, created if missing. `noSubdir` is
 * explicit: lmdb-js otherwise takes a path whose last segment has a dot (`node.1`,
 * `/tmp/tmp.XXXX`) for a file name and fails with "Is a directory".
 */
export function openEnvironment(path: string, options: { noSync?: boolean } = {}): RootDatabase {
  mkdirSync(path, { recursive: true })
  const settings = {
    path,
    noSubdir: false,
    maxDbs: 64,
    mapSize: 2 ** 36,
    keyEncoding: 'binary' as const,
    noSync: options.noSync === true,
    // MDB_NORDAHEAD: reads of random tree keys fetch only their pages from a cold file, not the
    // neighbours (see merkle's README, Memory). Not in lmdb-js's typings, hence the variable.
    noReadAhead: true,
  }
  return open(settings)
}

export function openDatabases(env: RootDatabase): Databases {
  const binary = Object.fromEntries(BINARY_DBS.map((key) => [key, openBinary(env, key)])) as Record<
    (typeof BINARY_DBS)[number],
    Bin
  >
  const ordered = (key: string): Obj => env.openDB({ name: dbName(key), keyEncoding: 'ordered-binary' })
  return {
    env,
    meta: env.openDB({ name: dbName('meta'), keyEncoding: 'ordered-binary' }),
    ...binary,
    rvApplied: env.openDB({ name: dbName('rvApplied'), keyEncoding: 'binary', encoding: 'string' }),
    unasserted: env.openDB({ name: dbName('unasserted'), keyEncoding: 'binary', encoding: 'string' }),
    history: env.openDB({ name: dbName('history'), keyEncoding: 'ordered-binary', encoding: 'binary' }),
    ledger: ordered('ledger'),
    ledgerResults: ordered('ledgerResults'),
    ledgerIds: env.openDB({ name: dbName('ledgerIds'), keyEncoding: 'binary' }),
    rules: ordered('rules'),
  }
}

function openBinary(env: RootDatabase, key: string): Bin {
  return env.openDB({ name: dbName(key), keyEncoding: 'binary', encoding: 'binary' })
}

export interface Migration {
  readonly from: number
  readonly to: number
  readonly description: string
  migrate(dbs: Databases): void
}

/**
 * Forward migrations, applied in order inside one write transaction at open. Each has a test
 * that opens a database as the previous version left it.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    from: 1,
    to: 2,
    description:
      'fold coordinate, local evidence, register evidence and view component into one entry per coordinate',
    migrate(dbs) {
      const open = (name: string) =>
        dbs.env.openDB<Uint8Array, Uint8Array>({
          name: dbName(name),
          keyEncoding: 'binary',
          encoding: 'binary',
        })
      const [coords, local, view, byCoord] = [open('coords'), open('local'), open('view'), open('asByCoord')]
      for (const { key, value } of coords.getRange()) {
        const localBytes = local.get(key)
        const evidence = [
          ...byCoord.getRange({ start: key, end: concat(key, new Uint8Array(33).fill(0xff)) }),
        ].map(({ key: indexKey, value: row }) => decodeSchema1Evidence(indexKey.subarray(32, 64), row))
        const entry = {
          coordinate: value,
          local: localBytes === undefined ? undefined : decodeSchema1Local(localBytes),
          component: view.get(key),
          evidence,
        }
        dbs.coordinates.put(key, encodeCoordinateEntry(entry))
      }
      for (const db of [coords, local, view, byCoord]) db.dropSync()
    },
  },
  {
    from: 2,
    to: 3,
    description:
      "revoked signers' records leave the Merkle trees (done at open, where the trust bundle is known)",
    migrate(dbs) {
      dbs.meta.putSync(PENDING_SIGNER_PLACEMENT, true)
    },
  },
  {
    from: 3,
    to: 4,
    description: 'index the history by coordinate; keep the number of view entries in the metadata',
    migrate(dbs) {
      const historyByCoord = openBinary(dbs.env, 'historyByCoord')
      historyByCoord.clearSync()
      for (const { key, value } of dbs.history.getRange()) {
        historyByCoord.putSync(historyIndexKey(blake3(historyCoordinate(value)), key), EMPTY)
      }
      let count = 0
      for (const { value } of dbs.coordinates.getRange()) {
        if (decodeCoordinateEntry(value).component !== undefined) count++
      }
      dbs.meta.putSync(VIEW_COUNT, count)
    },
  },
  {
    from: 4,
    to: 5,
    description:
      'fewer random-key writes per record: the history index by coordinate becomes a chain (the coordinate entry names its latest history entry, each entry the one before), and the asserter index is keyed by asserter ‖ a counter, so new registers append',
    migrate(dbs) {
      chainHistories(dbs)
      appendOrderAsserterIndex(dbs)
    },
  },
  {
    from: 5,
    to: 6,
    description:
      'one asserter index entry per asserter and write transaction instead of one per register: the ids of the registers an asserter gained in a batch in one value',
    migrate(dbs) {
      chunkAsserterIndex(dbs)
    },
  },
]

/**
 * Every key of `db` in order, read in chunks: no cursor stays open while the caller writes, and a
 * large index is never held whole in memory.
 */
export function* keysInChunks(db: Bin, chunk = 10_000): Generator<Uint8Array> {
  let start: Uint8Array | undefined
  for (;;) {
    const options = start === undefined ? { limit: chunk } : { start, limit: chunk }
    const keys = [...db.getKeys(options)].map((key) => new Uint8Array(key))
    yield* keys
    if (keys.length < chunk) return
    // The smallest key after the last one read.
    start = concat(keys[keys.length - 1]!, new Uint8Array(1))
  }
}

/** Schema 4 → 5: each coordinate's history becomes a chain; the index by coordinate is dropped. */
function chainHistories(dbs: Databases): void {
  const historyByCoord = openBinary(dbs.env, 'historyByCoord')
  const setLatest = (coordId: Uint8Array, seq: number) => {
    const stored = dbs.coordinates.get(coordId)
    if (stored === undefined) return
    const entry = decodeCoordinateEntry(stored)
    entry.lastHistory = seq
    dbs.coordinates.putSync(coordId, encodeCoordinateEntry(entry))
  }
  // Index keys sort by coordinate, then sequence: each coordinate's entries come in a run.
  let current: { coordId: Uint8Array; seq: number } | undefined
  for (const key of keysInChunks(historyByCoord)) {
    const coordId = key.subarray(0, 32)
    const seq = readSeq(new DataView(key.buffer, key.byteOffset, key.byteLength), 32)
    if (current !== undefined && equalBytes(current.coordId, coordId)) {
      const stored = dbs.history.get(seq)
      if (stored !== undefined) dbs.history.putSync(seq, withPreviousSeq(stored, current.seq))
    } else if (current !== undefined) setLatest(current.coordId, current.seq)
    current = { coordId, seq }
  }
  if (current !== undefined) setLatest(current.coordId, current.seq)
  historyByCoord.dropSync()
}

/**
 * Schema 4 → 5: the asserter index (asserter ‖ coordinate id → '') becomes asserter ‖ u64 n →
 * coordinate id, n counting each asserter's registers from 1, so a new register's index entry
 * lands at the end of its asserter's range instead of on a random page.
 */
function appendOrderAsserterIndex(dbs: Databases): void {
  const old = openBinary(dbs.env, 'asByAsserter')
  const index = openBinary(dbs.env, SCHEMA_5_INDEX)
  let asserter: Uint8Array | undefined
  let n = 0
  for (const key of keysInChunks(old)) {
    const next = key.subarray(0, 32)
    if (asserter === undefined || !equalBytes(asserter, next)) {
      asserter = next
      n = 0
    }
    index.putSync(asserterIndexKey(next, ++n), key.subarray(32, 64))
  }
  old.dropSync()
}

/** Schema 5's asserter index: asserter ‖ u64 n → one coordinate id. */
const SCHEMA_5_INDEX = 'registersByAsserter'

/**
 * Coordinate ids per asserter index value (32 KiB): a batch of 1,000 new registers by one
 * asserter is one value; a larger one is split, so no value outgrows what a revocation reads at
 * once by much.
 */
export const CHUNK_IDS = 1024

/**
 * Schema 5 → 6: schema 5's rows (one coordinate id each, in the asserter's order) are packed into
 * values of up to {@link CHUNK_IDS} ids, numbered from 1 per asserter in the same order.
 */
function chunkAsserterIndex(dbs: Databases): void {
  const old = openBinary(dbs.env, SCHEMA_5_INDEX)
  let asserter: Uint8Array | undefined
  let ids: Uint8Array[] = []
  let n = 0
  const flush = () => {
    if (asserter !== undefined && ids.length > 0)
      dbs.asserterChunks.putSync(asserterIndexKey(asserter, ++n), concat(...ids))
    ids = []
  }
  for (const key of keysInChunks(old)) {
    const next = key.subarray(0, 32)
    if (asserter === undefined || !equalBytes(asserter, next)) {
      flush()
      asserter = next
      n = 0
    }
    ids.push(old.get(key)!)
    if (ids.length === CHUNK_IDS) flush()
  }
  flush()
  old.dropSync()
}

/** asserter ‖ n as u64: the asserter index's key (schemas 5 and 6). */
export function asserterIndexKey(asserter: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(40)
  out.set(asserter)
  // Big-endian by hand: a DataView per key was 2.5 % of the applying thread in a profile.
  const high = Math.floor(n / 2 ** 32)
  const low = n % 2 ** 32
  out[33] = high >>> 16
  out[34] = (high >>> 8) & 0xff
  out[35] = high & 0xff
  out[36] = low >>> 24
  out[37] = (low >>> 16) & 0xff
  out[38] = (low >>> 8) & 0xff
  out[39] = low & 0xff
  return out
}

/** Metadata key of the number of coordinates with a view component. */
export const VIEW_COUNT = 'viewCount'

/** Schema 4's history index key: coordinate id ‖ seq as u64 (read by the schema 5 migration). */
export function historyIndexKey(coordId: Uint8Array, seq: number): Uint8Array {
  const out = new Uint8Array(40)
  out.set(coordId)
  const view = new DataView(out.buffer)
  view.setUint32(32, Math.floor(seq / 2 ** 32))
  view.setUint32(36, seq % 2 ** 32)
  return out
}

/** The encoded coordinate inside a stored history entry (see durability's encodeHistory). */
export function historyCoordinate(stored: Uint8Array): Uint8Array {
  const length = (stored[19]! << 8) | stored[20]!
  return stored.subarray(21, 21 + length)
}

export const EMPTY = new Uint8Array(0)

/** Brings the schema to {@link SCHEMA_VERSION}; a fresh database is stamped directly. */
export function migrate(dbs: Databases, migrations: readonly Migration[] = MIGRATIONS): number {
  return dbs.env.transactionSync(() => {
    const stored = dbs.meta.get('schemaVersion') as number | undefined
    if (stored === undefined) {
      dbs.meta.putSync('schemaVersion', SCHEMA_VERSION)
      return SCHEMA_VERSION
    }
    if (stored > SCHEMA_VERSION) throw new SchemaVersionError(stored, SCHEMA_VERSION)
    let version = stored
    while (version < SCHEMA_VERSION) {
      const step = migrations.find((m) => m.from === version)
      if (step === undefined) throw new SchemaVersionError(version, SCHEMA_VERSION)
      step.migrate(dbs)
      log('schema migrated from version %d to %d', version, step.to)
      version = step.to
    }
    dbs.meta.putSync('schemaVersion', version)
    return version
  })
}

// Schema 1 kept local evidence as run (8) ‖ hlc (16) and register evidence, keyed by coordinate
// id ‖ asserter, as run (8) ‖ hlc (16) ‖ hash (32) [‖ via (32)].
function decodeSchema1Local(bytes: Uint8Array): LocalEvidence {
  return { run: readU64(bytes, 0), hlc: decodeTimestamp(bytes.subarray(8, 24)) }
}

function decodeSchema1Evidence(asserter: Uint8Array, bytes: Uint8Array): AssertionEvidence {
  return {
    asserter: new Uint8Array(asserter),
    run: readU64(bytes, 0),
    hlc: decodeTimestamp(bytes.subarray(8, 24)),
    hash: new Uint8Array(bytes.subarray(24, 56)),
    via: bytes.length > 56 ? new Uint8Array(bytes.subarray(56, 88)) : undefined,
  }
}
