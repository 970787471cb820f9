/**
 * Minimal reproduction, no provsync code: native (anonymous) memory per range scan in lmdb-js.
 * `node packages/merkle/bench/lmdb-range-growth.mjs [variant] [scans]`; variants below.
 * Prints KiB of Anonymous memory (/proc/self/smaps_rollup) gained per 1,000 scans after a warm-up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'lmdb'

const lmdbVersion = JSON.parse(
  readFileSync(
    `${import.meta.resolve('lmdb').replace(/(node_modules\/lmdb\/).*$/, '$1')}package.json`.replace(
      'file://',
      '',
    ),
    'utf8',
  ),
).version

const variant = process.argv[2] ?? 'txn-range'
const scans = Number(process.argv[3] ?? 20000)
const ENTRIES = 3000
const dir = mkdtempSync(join(tmpdir(), 'lmdb-range-'))
const env = open({ path: dir, mapSize: 2 ** 28, noSync: true })
const db = env.openDB({ name: 'd', keyEncoding: 'binary', encoding: 'binary' })
const keys = []
env.transactionSync(() => {
  for (let i = 0; i < ENTRIES; i++) {
    const key = Buffer.alloc(33)
    key.writeUInt32BE((i * 2654435761) >>> 0, 1)
    keys.push(key)
    db.putSync(key, Buffer.alloc(100, i & 255))
  }
})
const sorted = [...keys].sort(Buffer.compare)
const anonKiB = () => Number(readFileSync('/proc/self/smaps_rollup', 'utf8').match(/Anonymous:\s+(\d+)/)[1])

const variants = {
  // The pattern in question: a range read inside an explicit read transaction.
  'txn-range': () => {
    const txn = db.useReadTransaction()
    let n = 0
    for (const _ of db.getRange({ transaction: txn })) n++
    txn.done()
    return n
  },
  // A write between scans, as on a node that applies records between sessions: each scan then
  // runs in a fresh read transaction.
  'write-txn-range': () => {
    db.putSync(keys[0], Buffer.alloc(100, 1))
    const txn = db.useReadTransaction()
    let n = 0
    for (const _ of db.getRange({ transaction: txn, start: sorted[0], end: sorted[300] })) n++
    txn.done()
    return n
  },
  'write-range': () => {
    db.putSync(keys[0], Buffer.alloc(100, 1))
    let n = 0
    for (const _ of db.getRange({ start: sorted[0], end: sorted[300] })) n++
    return n
  },
  'write-txn-gets': () => {
    db.putSync(keys[0], Buffer.alloc(100, 1))
    const txn = db.useReadTransaction()
    let n = 0
    for (let i = 0; i < 300; i++) if (db.getBinaryFast(sorted[i], { transaction: txn }) !== undefined) n++
    txn.done()
    return n
  },
  // Many short bounded ranges in one explicit read transaction (how a tree walk reads buckets).
  'txn-ranges-bounded': () => {
    const txn = db.useReadTransaction()
    let n = 0
    for (let i = 0; i < 30; i++) {
      const start = sorted[i * 100]
      const end = sorted[i * 100 + 99]
      for (const _ of db.getRange({ start, end, transaction: txn })) n++
    }
    txn.done()
    return n
  },
  'ranges-bounded': () => {
    let n = 0
    for (let i = 0; i < 30; i++) {
      const start = sorted[i * 100]
      const end = sorted[i * 100 + 99]
      for (const _ of db.getRange({ start, end })) n++
    }
    return n
  },
  // Same, stopped early through the iterator's return() (a `break`).
  'txn-range-break': () => {
    const txn = db.useReadTransaction()
    let n = 0
    for (const _ of db.getRange({ transaction: txn })) if (++n === 10) break
    txn.done()
    return n
  },
  'txn-range-nosnapshot': () => {
    const txn = db.useReadTransaction()
    let n = 0
    for (const _ of db.getRange({ transaction: txn, snapshot: false })) n++
    txn.done()
    return n
  },
  // No explicit transaction: lmdb-js's shared read transaction and its reused cursor.
  range: () => {
    let n = 0
    for (const _ of db.getRange({})) n++
    return n
  },
  'txn-gets': () => {
    const txn = db.useReadTransaction()
    let n = 0
    for (const key of keys) if (db.getBinaryFast(key, { transaction: txn }) !== undefined) n++
    txn.done()
    return n
  },
}
const run = variants[variant]
if (run === undefined) throw new Error(`unknown variant ${variant}; known: ${Object.keys(variants)}`)
const yieldEvery = Number(process.env.YIELD_EVERY ?? 100)
const tick = () => new Promise((resolve) => setImmediate(resolve))
for (let i = 0; i < Number(process.env.WARMUP ?? 500); i++) {
  run()
  if (i % yieldEvery === 0) await tick()
}
globalThis.gc?.()
await tick()
const samples = []
// Anonymous memory outside V8's heap (Anonymous minus heapTotal): native allocations.
const native = []
const heapBefore = process.memoryUsage().heapUsed
const SAMPLE = Number(process.env.SAMPLE ?? 5000)
for (let i = 0; i < scans; i++) {
  if (i % SAMPLE === 0) {
    globalThis.gc?.()
    await tick()
    samples.push(anonKiB())
    native.push(samples.at(-1) - Math.round(process.memoryUsage().heapTotal / 1024))
    if (process.env.VERBOSE) {
      const m = process.memoryUsage()
      console.error(
        i,
        samples.at(-1),
        Math.round(m.heapTotal / 1024),
        Math.round(m.external / 1024),
        Math.round(m.arrayBuffers / 1024),
      )
    }
  }
  run()
  if (i % yieldEvery === 0) await tick()
}
globalThis.gc?.()
await tick()
samples.push(anonKiB())
// Least-squares slope through the samples: a one-off allocation does not count as growth.
const xs = samples.map((_, i) => Math.min(i * SAMPLE, scans))
const mx = xs.reduce((a, b) => a + b, 0) / xs.length
const my = samples.reduce((a, b) => a + b, 0) / samples.length
let num = 0
let den = 0
for (let i = 0; i < xs.length; i++) {
  num += (xs[i] - mx) * (samples[i] - my)
  den += (xs[i] - mx) ** 2
}
console.log(
  JSON.stringify({
    variant,
    lmdb: lmdbVersion,
    node: process.version,
    entries: ENTRIES,
    scans,
    anon_kib_per_1k_scans: Math.round((num / den) * 1000 * 10) / 10,
    anon_kib_samples: samples,
    native_kib_samples: native,
    heap_delta_kib: Math.round((process.memoryUsage().heapUsed - heapBefore) / 1024),
  }),
)
env.close()
rmSync(dir, { recursive: true, force: true })
