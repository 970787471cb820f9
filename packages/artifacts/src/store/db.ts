import { mkdirSync } from 'node:fs'
import { type Database, open, type RootDatabase } from 'lmdb'
import { utf8 } from '../codec/text.js'

export type Bin = Database<Uint8Array, Uint8Array>

/** The sub-databases of an artifact store (all named `artifacts/*`). */
export interface Databases {
  readonly env: RootDatabase
  /**
   * record hash → encoded operator record. Artifacts have no entry here (schema 3): the duplicate
   * check reads their version key, serving by tree key finds them through {@link findInScope}.
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
 * 3: an artifact is stored once, as the value of its version-index entry (near-sequential keys),
 * and has no hash-keyed entry; its scope's Merkle leaf is its only hash-keyed write. Schema 2 kept
 * a hash → location entry per artifact in `records`: a random-key put whose B-tree leaf is copied
 * and written back at each commit, 7 µs of CPU and 12 µs of wall per artifact at load 4
 * (bench/apply-floor.ts, README "Schema 3"). Schema 1 stored the bytes under the hash and left
 * the version entry empty.
 */
export const SCHEMA_VERSION = 3

/** First byte of a schema 2 `records` value that located an artifact (record tags start at 0x10). */
const LOCATION = 0

/**
 * Rewrites a schema 1 or 2 store into schema 3 (inside a write transaction): each version entry
 * holds its artifact's bytes (schema 1 kept them under the hash) and the artifact's hash-keyed
 * entry goes (schema 1: the bytes, schema 2: the location). Returns the artifacts migrated.
 */
export function migrateToSchema3(dbs: Databases): number {
  let moved = 0
  for (const key of Array.from(dbs.versions.getKeys(), (k) => Uint8Array.from(k))) {
    const hash = key.subarray(key.length - 32)
    const value = dbs.records.get(hash)
    if (value === undefined) continue
    if (value[0] !== LOCATION) dbs.versions.putSync(key, Uint8Array.from(value))
    dbs.records.removeSync(hash)
    moved++
  }
  return moved
}

/**
 * The version keys of exact `scope` that end with one of `hashes` (hex → hash), in one scan of
 * the scope's version keys (keys only): serving by tree key for artifacts not in the recent map.
 * Returns hex → version key (copied).
 */
export function findInScope(
  dbs: Databases,
  scope: string,
  hashes: ReadonlyMap<string, Uint8Array>,
): Map<string, Uint8Array> {
  const found = new Map<string, Uint8Array>()
  if (hashes.size === 0) return found
  // The first four bytes of each wanted hash as a number: most keys are passed over on that
  // alone (hexing every key scanned was most of the scan's time, bench/serve-scan.ts).
  const slots = new Set<number>()
  for (const hash of hashes.values()) slots.add(slotOf(hash, 0))
  for (const key of dbs.versions.getKeys(prefixRange(utf8(`${scope}\u0000`)))) {
    const k = key as Uint8Array
    if (!slots.has(slotOf(k, k.length - 32))) continue
    const hex = Buffer.from(k.buffer, k.byteOffset + k.length - 32, 32).toString('hex')
    if (!hashes.has(hex)) continue
    found.set(hex, Uint8Array.from(k))
    if (found.size === hashes.size) break
  }
  return found
}

/** Bytes [at, at + 4) of `bytes` as an unsigned number (little-endian). */
export function slotOf(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
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
  /** publisher ‖ view key: the publisher index key. */
  readonly byPublisher: Uint8Array
}

/**
 * Scope ≤ 519, family ≤ 64 and name ≤ 1,024 bytes (a record is at most 4,096): room for the
 * version key (view + 49, after one unused byte) and the publisher key (view + 32) of any record.
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
  // [0] unused (schema 2's location marker), [1, 1 + keyLength) version key, then publisher ‖ view key.
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
