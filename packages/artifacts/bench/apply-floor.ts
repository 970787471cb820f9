/**
 * The floor of the apply path's storage: the writes `apply` makes for the bench's workload
 * (batches of 1,000 new artifacts in 4 scopes), made alone, with nothing decoded, checked or
 * verified while the transaction is open. One process, one store per configuration, fed the same
 * batches in turn (the configurations alternate batch by batch, so load changes hit them alike):
 * `node --import tsx packages/artifacts/bench/apply-floor.ts [batches]`.
 * Schema 1 stored the record under its hash (random keys) and left the version entry empty;
 * schema 2 (this code) stores it as the version entry's value and the hash entry holds its location.
 * Prints, per configuration, the median CPU µs (main thread: there is no worker here) and wall µs
 * per artifact, and the same for single-thread verification of as many signatures (the ratio's
 * denominator) alternating with them.
 */
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { decodeRecord } from '@provsync/artifacts'
import { networkTag } from '@provsync/crdt'
import { type MerkleTree, openMerkleTree } from '@provsync/merkle'
import { cpuMicrosSince, tempDir } from '@provsync/testing'
import type { Artifact } from '../src/codec/types.js'
import {
  artifactVersionKey,
  concatBytes,
  type Databases,
  openDatabases,
  openEnvironment,
} from '../src/store/db.js'
import { applyBatches, BATCH, median, NET, verifyBaseline } from './fixtures.js'

const batches = Number(process.argv[2] ?? 20)
const EMPTY = new Uint8Array(0)

interface Prepared {
  readonly hash: Uint8Array
  readonly bytes: Uint8Array
  readonly key: Uint8Array
  readonly view: Uint8Array
  readonly byPublisher: Uint8Array
  readonly scope: string
  /** A history entry of the stored size: kind, cause, ms, two hash slots, view, detail. */
  readonly change: Uint8Array
}

const tag = networkTag(NET)
function prepare(records: Uint8Array[]): Prepared[] {
  return records.map((bytes) => {
    const d = decodeRecord(bytes, NET, tag, false)
    const a = d.record as Artifact
    const { key, viewLength } = artifactVersionKey(d.bytes, d.hash)
    const view = key.slice(0, viewLength)
    const change = new Uint8Array(10 + 1 + 33 + 4 + view.length + 64)
    change.set(d.hash, 12)
    return {
      hash: d.hash,
      bytes: d.bytes,
      key,
      view,
      byPublisher: concatBytes(a.publisher, view),
      scope: a.scope,
      change,
    }
  })
}

type Part =
  | 'record'
  | 'version'
  | 'publisher'
  | 'view'
  | 'history'
  | 'merkle'
  | 'pointer'
  | 'versionBytes'
  | 'viewSuffix'
  | 'sortedPointer'
const ALL: readonly Part[] = ['record', 'version', 'publisher', 'view', 'history', 'merkle']

interface Config {
  readonly name: string
  readonly parts: ReadonlySet<Part>
  dbs?: Databases
  trees?: Map<string, MerkleTree>
  seq: number
  dir?: string
  cpu: number[]
  wall: number[]
}

const configs: Config[] = [
  { name: 'schema 1: all five puts + Merkle update + commit', parts: new Set(ALL) },
  { name: 'schema 1 without the record put', parts: new Set(ALL.filter((p) => p !== 'record')) },
  { name: 'schema 1 without the Merkle update', parts: new Set(ALL.filter((p) => p !== 'merkle')) },
  { name: 'record put + Merkle update only', parts: new Set<Part>(['record', 'merkle']) },
  {
    name: 'version, publisher, view, history puts only',
    parts: new Set<Part>(['version', 'publisher', 'view', 'history']),
  },
  { name: 'empty transaction (commit only)', parts: new Set<Part>() },
  {
    name: 'schema 2: bytes in the version index, hash → version key',
    parts: new Set<Part>(['pointer', 'versionBytes', 'publisher', 'view', 'history', 'merkle']),
  },
  {
    name: 'schema 2, the view holding epoch, version, hash (48 bytes)',
    parts: new Set<Part>(['pointer', 'versionBytes', 'publisher', 'viewSuffix', 'history', 'merkle']),
  },
  {
    name: 'schema 2 without the hash-keyed entry (schema 3, branch s10/artapply-schema3, not kept)',
    parts: new Set<Part>(['versionBytes', 'publisher', 'view', 'history', 'merkle']),
  },
  {
    name: 'schema 2 without the Merkle update',
    parts: new Set<Part>(['pointer', 'versionBytes', 'publisher', 'view', 'history']),
  },
  {
    name: 'schema 2 with its hash entries put in hash order at the end of the transaction',
    parts: new Set<Part>(['sortedPointer', 'versionBytes', 'publisher', 'view', 'history', 'merkle']),
  },
]
  // FLOOR_ONLY=6,8,9: the configurations of those indices only (0-based, in the order above).
  .filter(
    (_, i) => process.env.FLOOR_ONLY === undefined || process.env.FLOOR_ONLY.split(',').includes(String(i)),
  )
  .map((c) => ({ ...c, seq: 0, cpu: [] as number[], wall: [] as number[] }))

function write(c: Config, batch: Prepared[]): void {
  const { dbs, trees } = c
  dbs!.env.transactionSync(() => {
    const leaves = new Map<string, Uint8Array[]>()
    for (const p of batch) {
      if (c.parts.has('record')) dbs!.records.putSync(p.hash, p.bytes)
      if (c.parts.has('version')) dbs!.versions.putSync(p.key, EMPTY)
      if (c.parts.has('pointer')) dbs!.records.putSync(p.hash, p.key.subarray(0, p.key.length - 32))
      if (c.parts.has('versionBytes')) dbs!.versions.putSync(p.key, p.bytes)
      if (c.parts.has('publisher')) dbs!.byPublisher.putSync(p.byPublisher, EMPTY)
      if (c.parts.has('view')) dbs!.view.putSync(p.view, p.bytes)
      if (c.parts.has('viewSuffix')) dbs!.view.putSync(p.view, p.key.subarray(p.view.length + 1))
      if (c.parts.has('history')) dbs!.history.putSync(++c.seq, p.change)
      let list = leaves.get(p.scope)
      if (list === undefined) leaves.set(p.scope, (list = []))
      list.push(p.hash)
    }
    if (c.parts.has('sortedPointer')) {
      // The hash entries after the rest, in hash order (neighbouring leaves of the B-tree in turn).
      const sorted = [...batch].sort((x, y) => Buffer.compare(x.hash, y.hash))
      for (const p of sorted) dbs!.records.putSync(p.hash, p.key.subarray(0, p.key.length - 32))
    }
    if (c.parts.has('merkle')) {
      for (const [scope, hashes] of leaves)
        trees!.get(scope)!.update(hashes.map((h) => ({ key: h, valueHash: h })))
    }
    dbs!.meta.putSync('seq', c.seq)
  })
}

const pending = applyBatches(batches).map(prepare)
for (const c of configs) {
  c.dir = tempDir('provsync-artifacts-floor-')
  const env = openEnvironment(c.dir, { maxScopes: 16 })
  c.dbs = openDatabases(env)
  c.trees = new Map(
    ['bench/s0', 'bench/s1', 'bench/s2', 'bench/s3'].map((s, i) => [
      s,
      openMerkleTree(env, { name: `artifacts/scope/${i}`, keysAreHashes: true }),
    ]),
  )
  write(c, pending[0]!)
}
const verify = verifyBaseline(pending[0]![0]!.bytes)
const verifyCpu: number[] = []
for (const batch of pending.slice(1)) {
  for (const c of configs) {
    const cpu = process.cpuUsage()
    const t0 = performance.now()
    write(c, batch)
    c.wall.push(((performance.now() - t0) * 1000) / BATCH)
    c.cpu.push(cpuMicrosSince(cpu) / BATCH)
  }
  const v0 = process.cpuUsage()
  verify(BATCH)
  verifyCpu.push(cpuMicrosSince(v0) / BATCH)
}
console.log(`load ${loadavg()[0]!.toFixed(1)}, ${batches} batches of ${BATCH}, medians per artifact`)
for (const c of configs) {
  console.log(
    `${median(c.cpu).toFixed(1).padStart(6)} µs CPU ${median(c.wall).toFixed(1).padStart(6)} µs wall  ${c.name}`,
  )
  await c.dbs!.env.close()
  rmSync(c.dir!, { recursive: true, force: true })
}
console.log(`${median(verifyCpu).toFixed(1).padStart(6)} µs CPU  single-thread verification`)
