import { mkdirSync } from 'node:fs'
import { type Database, open, type RootDatabase } from 'lmdb'
import { utf8 } from '../codec/text.js'

export type Bin = Database<Uint8Array, Uint8Array>

/** The sub-databases of an artifact store (all named `artifacts/*`). */
export interface Databases {
  readonly env: RootDatabase
  /** record hash → encoded record (every kind). */
  readonly records: Bin
  /** view key ‖ 0 ‖ epoch ‖ version ‖ hash → empty: every stored version of (scope, family, name). */
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

export const SCHEMA_VERSION = 1

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

/** The record hash at the end of a version key. */
export function hashOfVersionKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(32)
  out.set(key.subarray(key.length - 32))
  return out
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
