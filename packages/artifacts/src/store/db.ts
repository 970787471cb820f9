import { mkdirSync } from 'node:fs'
import { type Database, open, type RootDatabase } from 'lmdb'
import { utf8 } from '../codec/text.js'

export type Bin = Database<Uint8Array, Uint8Array>

/** The sub-databases of an artifact store (all named `artifacts/*`). */
export interface Databases {
  readonly env: RootDatabase
  /**
   * record hash → encoded operator record, or for an artifact its {@link locationOf location}
   * (0 ‖ its version key without the hash): what the duplicate check and serving by tree key read.
   */
  readonly records: Bin
  /** view key ‖ 0 ‖ epoch ‖ version ‖ hash → encoded artifact: every stored version of (scope, family, name). */
  readonly versions: Bin
  /** view key → encoded winning record (absent: no admissible version). */
  readonly view: Bin
  /** publisher ‖ view key → empty: what a publisher's status change recomputes. */
  readonly byPublisher: Bin
  /** record hash → empty: every stored operator record (in the operator tree while its operator is trusted). */
  readonly operators: Bin
  /** exact scope → empty: the scopes this node stores (each has a Merkle tree). */
  readonly scopes: Database<Uint8Array, string>
  /** seq → view change (msgpack). */
  readonly history: Database<Uint8Array, number>
  readonly meta: Database<unknown, string>
}

/**
 * 2: an artifact's bytes are the value of its version-index entry (near-sequential keys) and the
 * hash-keyed `records` entry holds only its location; schema 1 stored the bytes under the hash
 * (random keys: a B-tree leaf copied and written back per record at each commit) and left the
 * version entry empty. Measured with bench/apply-floor.ts (README "Schema 2").
 */
export const SCHEMA_VERSION = 2

/** First byte of a `records` value that locates an artifact (record tags start at 0x10). */
const LOCATION = 0

/** The `records` value of an artifact: 0 ‖ its version key without the trailing hash. */
export function locationOf(versionKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(versionKey.length - 31)
  out[0] = LOCATION
  out.set(versionKey.subarray(0, versionKey.length - 32), 1)
  return out
}

/**
 * The encoded record stored under `hash`: an operator record's bytes, or an artifact's from its
 * version entry. A view of lmdb-js's reused read buffer: copy before the next read.
 */
export function recordAt(dbs: Databases, hash: Uint8Array): Uint8Array | undefined {
  const value = dbs.records.get(hash)
  if (value === undefined || value[0] !== LOCATION) return value
  const key = new Uint8Array(value.length - 1 + 32)
  key.set(value.subarray(1))
  key.set(hash, value.length - 1)
  return dbs.versions.get(key)
}

/**
 * Rewrites a schema 1 store into schema 2 (inside a write transaction): each version entry takes
 * its artifact's bytes, and the hash-keyed entry its location. Returns the artifacts moved.
 */
export function migrateSchema1(dbs: Databases): number {
  let moved = 0
  for (const key of Array.from(dbs.versions.getKeys(), (k) => Uint8Array.from(k))) {
    const hash = key.subarray(key.length - 32)
    const value = dbs.records.get(hash)
    if (value === undefined || value[0] === LOCATION) continue
    dbs.versions.putSync(key, Uint8Array.from(value))
    dbs.records.putSync(hash, locationOf(key))
    moved++
  }
  return moved
}

/** Opens (creating) an LMDB environment in `path` with room for one tree per scope. */
export function openEnvironment(
  path: string,
  options: { noSync?: boolean; maxScopes: number },
): RootDatabase {
  mkdirSync(path, { recursive: true })
  return open({
    path,
    noSubdir: false,
    maxDbs: options.maxScopes + 16,
    mapSize: 2 ** 36,
    noSync: options.noSync === true,
  })
}

export function openDatabases(env: RootDatabase): Databases {
  const bin = (name: string): Bin =>
    env.openDB<Uint8Array, Uint8Array>({
      name: `artifacts/${name}`,
      keyEncoding: 'binary',
      encoding: 'binary',
    })
  return {
    env,
    records: bin('records'),
    versions: bin('versions'),
    view: bin('view'),
    byPublisher: bin('byPublisher'),
    operators: bin('operators'),
    scopes: env.openDB<Uint8Array, string>({ name: 'artifacts/scopes', encoding: 'binary' }),
    history: env.openDB<Uint8Array, number>({
      name: 'artifacts/history',
      keyEncoding: 'uint32',
      encoding: 'binary',
    }),
    meta: env.openDB<unknown, string>({ name: 'artifacts/meta' }),
  }
}

const SEP = 0

/** The key of (scope, family, name): text fields never hold a 0 byte, so it separates them. */
export function viewKey(scope: string, family: string, name: string): Uint8Array {
  return utf8(`${scope}\u0000${family}\u0000${name}`)
}

export function parseViewKey(key: Uint8Array): { scope: string; family: string; name: string } {
  const [scope = '', family = '', name = ''] = new TextDecoder().decode(key).split('\u0000')
  return { scope, family, name }
}

export function versionKey(view: Uint8Array, epoch: bigint, version: bigint, hash: Uint8Array): Uint8Array {
  const out = new Uint8Array(view.length + 1 + 16 + 32)
  out.set(view)
  out[view.length] = SEP
  const dv = new DataView(out.buffer)
  dv.setBigUint64(view.length + 1, epoch)
  dv.setBigUint64(view.length + 9, version)
  out.set(hash, view.length + 17)
  return out
}

/** Where an artifact record's scope field starts: tag (1), version (1), network tag (8). */
const ARTIFACT_FIELDS = 10

/** The keys `addVersion` writes for one artifact: views of one reused buffer (see {@link versionKeys}). */
export interface VersionKeys {
  /** view key ‖ 0 ‖ epoch ‖ version ‖ hash: the version index key. */
  readonly key: Uint8Array
  /** The view key (scope ‖ 0 ‖ family ‖ 0 ‖ name) the version key starts with. */
  readonly view: Uint8Array
  /** The artifact's `records` value: 0 ‖ the version key without the hash ({@link locationOf}). */
  readonly location: Uint8Array
  /** publisher ‖ view key: the publisher index key. */
  readonly byPublisher: Uint8Array
}

/**
 * Scope ≤ 519, family ≤ 64 and name ≤ 1,024 bytes (a record is at most 4,096): room for the
 * location and version key (view + 50) and the publisher key (view + 32) of any record.
 */
let scratch = new Uint8Array(4096)

function copyInto(out: Uint8Array, at: number, from: Uint8Array, start: number, end: number): number {
  for (let k = start; k < end; k++) out[at++] = from[k]!
  return at
}

/**
 * The keys of an artifact, copied from its encoded record into one reused buffer: scope, family
 * and name are its first three u16-length-prefixed fields (UTF-8, what {@link viewKey} encodes),
 * and version then epoch follow as big-endian u64s (what {@link versionKey} writes, in the other
 * order). The views are valid until the next call: lmdb-js copies keys and values when it puts
 * them, so the caller puts them and keeps none. Building each key in a fresh array (over 64
 * bytes: an off-heap allocation in V8) showed as `artifactVersionKey` and `concatBytes` in the
 * apply profile (6 % of applyBatch). A test checks them against `viewKey` and `versionKey`.
 */
export function versionKeys(bytes: Uint8Array, hash: Uint8Array, publisher: Uint8Array): VersionKeys {
  const field = (at: number) => (bytes[at]! << 8) | bytes[at + 1]!
  const scopeLength = field(ARTIFACT_FIELDS)
  const familyAt = ARTIFACT_FIELDS + 2 + scopeLength
  const familyLength = field(familyAt)
  const nameAt = familyAt + 2 + familyLength
  const nameLength = field(nameAt)
  const versionAt = nameAt + 2 + nameLength
  const viewLength = scopeLength + 1 + familyLength + 1 + nameLength
  const keyLength = viewLength + 1 + 16 + 32
  if (scratch.length < 1 + keyLength + 32 + viewLength)
    scratch = new Uint8Array(2 * (keyLength + 32 + viewLength))
  const out = scratch
  // [0] location marker, [1, 1 + keyLength) version key, then publisher ‖ view key.
  out[0] = 0
  let at = copyInto(out, 1, bytes, ARTIFACT_FIELDS + 2, familyAt)
  out[at++] = 0
  at = copyInto(out, at, bytes, familyAt + 2, nameAt)
  out[at++] = 0
  at = copyInto(out, at, bytes, nameAt + 2, versionAt)
  out[at++] = 0
  at = copyInto(out, at, bytes, versionAt + 8, versionAt + 16)
  at = copyInto(out, at, bytes, versionAt, versionAt + 8)
  at = copyInto(out, at, hash, 0, 32)
  const publisherAt = at
  at = copyInto(out, at, publisher, 0, 32)
  copyInto(out, at, out, 1, 1 + viewLength)
  return {
    key: out.subarray(1, 1 + keyLength),
    view: out.subarray(1, 1 + viewLength),
    location: out.subarray(0, keyLength - 31),
    byPublisher: out.subarray(publisherAt, publisherAt + 32 + viewLength),
  }
}

/** {@link versionKeys}' version key, copied (for callers that keep it). */
export function artifactVersionKey(
  bytes: Uint8Array,
  hash: Uint8Array,
): { key: Uint8Array; viewLength: number } {
  const { key, view } = versionKeys(bytes, hash, new Uint8Array(32))
  return { key: key.slice(), viewLength: view.length }
}

/** [start, end) of the version keys of one view key. */
export function versionRange(view: Uint8Array): { start: Uint8Array; end: Uint8Array } {
  const start = new Uint8Array(view.length + 1)
  start.set(view)
  const end = start.slice()
  end[view.length] = SEP + 1
  return { start, end }
}

/** [start, end) of every key beginning with `prefix` bytes. */
export function prefixRange(prefix: Uint8Array): { start: Uint8Array; end: Uint8Array } {
  const end = new Uint8Array(prefix.length + 1)
  end.set(prefix)
  end[prefix.length] = 0xff
  return { start: prefix, end }
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
