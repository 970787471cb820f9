/**
 * The floor of the apply path's writes (issue #16): the same LMDB puts a batch of 1,000 new
 * assertions makes, each kind alone in its own durable write transaction, without decoding,
 * verifying, deriving or the Merkle tree.
 * `node --import tsx packages/crdt/bench/put-probe.ts [rounds] [--prefill=N] [--nosync] [--writemap]`
 * Each kind's rows go into a sub-database prefilled with N rows of its shape (default 20,000, the
 * size `crdt --apply-only` reaches), the kinds alternate round by round, and it prints per kind
 * the calling thread's CPU and the wall time per record, the commit included (`commit` alone is a
 * transaction with one tiny put: the fsync floor every batch pays once).
 */
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { tempDir } from '@provsync/testing'
import { type Database, open } from 'lmdb'

const args = process.argv.slice(2)
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 10)
const prefill = Number(args.find((a) => a.startsWith('--prefill='))?.slice('--prefill='.length) ?? 20_000)
const BATCH = 1000
const RECORD_BYTES = 190
const ENTRY_BYTES = 260
const HISTORY_BYTES = 230

const dir = tempDir('provsync-put-probe-')
const env = open({
  path: dir,
  noSubdir: false,
  maxDbs: 16,
  mapSize: 2 ** 34,
  keyEncoding: 'binary',
  noSync: args.includes('--nosync'),
  // --writemap: MDB_WRITEMAP, measured for the record only (the store does not use it: see the README).
  useWritemap: args.includes('--writemap'),
  noReadAhead: true,
} as Parameters<typeof open>[0])
const bin = (name: string) =>
  env.openDB({ name, keyEncoding: 'binary', encoding: 'binary' }) as Database<Uint8Array, Uint8Array>
const records = bin('records')
const coordinates = bin('coordinates')
const index5 = bin('index5')
const index6 = bin('index6')
const history = env.openDB({ name: 'history', keyEncoding: 'ordered-binary', encoding: 'binary' })
// Session 11's second lever: registers in a log keyed by sequence number (the Merkle bucket, which
// sync serves registers from, would name each register's sequence number), not by tree key.
const registerLog = env.openDB({ name: 'register-log', keyEncoding: 'ordered-binary', encoding: 'binary' })
let logSeq = 0
// Session 12: a register and its coordinate entry under keys that share a leaf page (one
// sub-database, the entry at coordinate id ‖ 0, each register at coordinate id ‖ asserter), and the
// index sync would then need from the register's tree key to that key.
const colocated = bin('colocated')
const treeKeyIndex = bin('tree-key-index')
const colocatedKey = (coordId: Uint8Array, tail: Uint8Array) => {
  const key = new Uint8Array(64)
  key.set(coordId)
  key.set(tail, 32)
  return key
}
const ZERO_TAIL = new Uint8Array(32)
const asserter = randomBytes(32)
let seq = 0
let n5 = 0
let n6 = 0

const indexKey = (n: number) => {
  const key = new Uint8Array(40)
  key.set(asserter)
  new DataView(key.buffer).setUint32(36, n)
  return key
}
const recordBuffer = new Uint8Array(randomBytes(RECORD_BYTES * BATCH))
const scratch = new Uint8Array(1024).fill(7)

/** One batch of one kind of write, in its own durable transaction. */
const KINDS: Record<string, () => void> = {
  commit: () => env.transactionSync(() => env.put('probe', 'x')),
  record: () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++)
        records.put(randomBytes(32), recordBuffer.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))
    }),
  // The same, the batch's keys put in sorted order.
  'record-sorted': () =>
    env.transactionSync(() => {
      const keys = Array.from({ length: BATCH }, () => randomBytes(32)).sort(Buffer.compare)
      for (let i = 0; i < BATCH; i++)
        records.put(keys[i]!, recordBuffer.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))
    }),
  // The same, each value in an ArrayBuffer of its own (as `apply` receives a caller's records).
  'record-own-buffer': () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++)
        records.put(randomBytes(32), recordBuffer.slice(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))
    }),
  coordinate: () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++) {
        const key = randomBytes(32)
        coordinates.get(key)
        coordinates.put(key, scratch.subarray(0, ENTRY_BYTES))
      }
    }),
  // A register appended to the log instead of put under its random tree key.
  'register-log': () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++)
        registerLog.putSync(++logSeq, recordBuffer.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES), {
          append: true,
        })
    }),
  // The same, each append also deleting an older entry (every record superseding a register: the
  // log's clean-up at its worst, deletes at keys spread over the log).
  'register-log-superseding': () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++) {
        registerLog.putSync(++logSeq, recordBuffer.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES), {
          append: true,
        })
        registerLog.remove(1 + Math.floor(Math.random() * (logSeq - 1)))
      }
    }),
  // The coordinate entry's random put with 8 bytes more (the cost of a larger value in a random
  // page: the bucket naming each register's log sequence number would grow by about that).
  'coordinate-plus-8': () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++) {
        const key = randomBytes(32)
        coordinates.get(key)
        coordinates.put(key, scratch.subarray(0, ENTRY_BYTES + 8))
      }
    }),
  // The two random-key writes a new register makes today, in one transaction: the register under
  // its tree key, the coordinate entry (read, then put) under the coordinate id.
  'register+coordinate': () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++) {
        records.put(randomBytes(32), recordBuffer.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))
        const key = randomBytes(32)
        coordinates.get(key)
        coordinates.put(key, scratch.subarray(0, ENTRY_BYTES))
      }
    }),
  // The same two rows on one leaf page (coordinate id prefix), without the tree key index.
  colocated: () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++) {
        const coordId = randomBytes(32)
        const entryKey = colocatedKey(coordId, ZERO_TAIL)
        colocated.get(entryKey)
        colocated.put(
          colocatedKey(coordId, asserter),
          recordBuffer.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES),
        )
        colocated.put(entryKey, scratch.subarray(0, ENTRY_BYTES))
      }
    }),
  // The same with the index sync would need (tree key → coordinate id ‖ asserter, a random key).
  'colocated+index': () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++) {
        const coordId = randomBytes(32)
        const entryKey = colocatedKey(coordId, ZERO_TAIL)
        const registerKey = colocatedKey(coordId, asserter)
        colocated.get(entryKey)
        colocated.put(registerKey, recordBuffer.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES))
        colocated.put(entryKey, scratch.subarray(0, ENTRY_BYTES))
        treeKeyIndex.put(randomBytes(32), registerKey)
      }
    }),
  history: () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++)
        history.putSync(++seq, scratch.subarray(0, HISTORY_BYTES), { append: true })
    }),
  // Schema 5: one row per register, the value a fresh 32-byte coordinate id (as BLAKE3 returns it).
  'index-row': () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++) index5.put(indexKey(++n5), new Uint8Array(randomBytes(32)))
    }),
  // One row per register again, the value copied out of one reused buffer.
  'index-row-reused': () =>
    env.transactionSync(() => {
      for (let i = 0; i < BATCH; i++) index5.put(indexKey(++n5), scratch.subarray(0, 32))
    }),
  // Schema 6: the batch's coordinate ids in one value.
  'index-chunk': () =>
    env.transactionSync(() => index6.put(indexKey(++n6), new Uint8Array(randomBytes(32 * BATCH)))),
}

for (let done = 0; done < prefill; done += BATCH) {
  for (const kind of ['record', 'coordinate', 'history', 'index-row', 'register-log', 'colocated+index'])
    KINDS[kind]!()
}
for (let i = 0; i < prefill / BATCH; i++) KINDS['index-chunk']!()
const totals = new Map<string, { cpu: number; wall: number; body: number }>()
let bodyCpu = 0
const transactionSync = env.transactionSync.bind(env)
// The CPU of each transaction's body, so the commit's share is the rest.
env.transactionSync = ((body: () => unknown) =>
  transactionSync(() => {
    const c0 = process.threadCpuUsage()
    const result = body()
    const c = process.threadCpuUsage(c0)
    bodyCpu += c.user + c.system
    return result
  })) as typeof env.transactionSync
for (let r = 0; r < rounds; r++) {
  for (const [kind, run] of Object.entries(KINDS)) {
    bodyCpu = 0
    const c0 = process.threadCpuUsage()
    const t0 = performance.now()
    run()
    const wall = performance.now() - t0
    const c = process.threadCpuUsage(c0)
    const sum = totals.get(kind) ?? { cpu: 0, wall: 0, body: 0 }
    totals.set(kind, {
      cpu: sum.cpu + c.user + c.system,
      wall: sum.wall + wall * 1000,
      body: sum.body + bodyCpu,
    })
  }
}
const out: Record<string, unknown> = { load_average_1m: Number(loadavg()[0]!.toFixed(2)), prefill }
const perRecord = (us: number) => (us / rounds / BATCH).toFixed(2)
for (const [kind, { cpu, wall, body }] of totals) {
  out[kind] =
    `${perRecord(cpu)} µs CPU (puts ${perRecord(body)}, commit ${perRecord(cpu - body)}), ${perRecord(wall)} µs wall per record`
}
console.log(JSON.stringify(out, null, 1))
env.close()
rmSync(dir, { recursive: true, force: true })
