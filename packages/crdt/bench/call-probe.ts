/**
 * The fixed cost of one `apply` call (issue #16, session 15): small batches as the 32-node
 * simulation applies them (a pushed frame of about 7 records is one `apply`, one LMDB transaction).
 * `node --import tsx packages/crdt/bench/call-probe.ts [calls] [--sizes=1,7,32] [--rounds=N]
 * [--threads=N] [--nosync] [--prefill=N]` (Node 22: `npx node` inside the repo).
 *
 * Opens one store as the sim's nodes do (durable commits, `verifyThreads: 0`: every signature is
 * verified on the calling thread; `--threads=N` for a pool), prefills it (default 5,000 records,
 * batches of 1,000, not measured), then per round and batch size applies `calls` batches of new
 * signed assertions, one `apply` awaited at a time, sizes alternated round by round. Per size it
 * prints the wall and CPU µs per call and per record (calling thread from
 * `process.threadCpuUsage`, all threads from `process.cpuUsage`), and `fixed_us_per_call`: the
 * calling thread's CPU per call less `size` single-thread verifications (`verify_us`, measured
 * between the rounds), so what a call costs besides verifying. Then the floor of lmdb-js in the
 * same environment: an empty `transactionSync`, one with a single put (durable and `noSync` as
 * opened), and the same through the asynchronous `transaction`.
 *
 * Written against the package's exports only, so it runs unchanged on an older build (copy it
 * with `batches.ts` beside a `node_modules` that resolves that build's packages).
 */
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { generateSigner, openNodeState, signedMessage, verifySignature } from '@provsync/crdt'
import { tempDir } from '@provsync/testing'
import { open } from 'lmdb'
import { NETWORK, probeArgs, signBatch } from './batches.js'

const { number, count, sizes: sizesOf, flag } = probeArgs()
const calls = count(300)
const sizes = sizesOf('1,7,32')
const rounds = number('rounds', 3)
const threads = number('threads', 0)
const noSync = flag('nosync')
const prefill = number('prefill', 5000)

const cpu = (u: NodeJS.CpuUsage) => u.user + u.system
const signers = Array.from({ length: 4 }, () => generateSigner())
const peer = generateSigner()

/** µs of one single-thread verification, the calling thread's CPU over `n` of them. */
function verifyUs(n: number): number {
  const sample = signBatch(peer, 0, 1, 1n)[0]!
  const message = signedMessage('assertion', NETWORK, sample)
  const signature = sample.subarray(sample.length - 64)
  const t0 = process.threadCpuUsage()
  for (let i = 0; i < n; i++) if (!verifySignature(peer.publicKey, message, signature)) throw new Error('bad')
  return cpu(process.threadCpuUsage(t0)) / n
}

const totals = new Map<number, { calls: number; wallUs: number; mainUs: number; allUs: number }>()
let verifySum = 0
let verifyRuns = 0

async function measureApplies(): Promise<void> {
  const dir = tempDir('provsync-call-probe-')
  const state = await openNodeState({ dataDir: dir, networkId: NETWORK, noSync, verifyThreads: threads })
  try {
    for (let done = 0; done < prefill; done += 1000) {
      const s = signers[(done / 1000) % signers.length]!
      await state.apply('assertions', signBatch(s, 50_000_000 + done, 1000, 1n), { from: s.publicKey })
    }
    let offset = 0
    for (let round = 0; round < rounds; round++) {
      for (const size of round % 2 === 0 ? sizes : [...sizes].reverse()) {
        const s = signers[round % signers.length]!
        // Signed before the timed loop; one signer per round, fresh coordinates per record.
        const batches = Array.from({ length: calls }, (_, i) => signBatch(s, offset + i * size, size, 1n))
        offset += calls * size
        const from = { from: peer.publicKey }
        const t0 = performance.now()
        const m0 = process.threadCpuUsage()
        const c0 = process.cpuUsage()
        for (const batch of batches) {
          const outcomes = await state.apply('assertions', batch, from)
          if (outcomes.some((o) => o.status !== 'applied')) throw new Error('probe batch not applied')
        }
        const t = totals.get(size) ?? { calls: 0, wallUs: 0, mainUs: 0, allUs: 0 }
        t.allUs += cpu(process.cpuUsage(c0))
        t.mainUs += cpu(process.threadCpuUsage(m0))
        t.wallUs += (performance.now() - t0) * 1000
        t.calls += calls
        totals.set(size, t)
      }
      verifySum += verifyUs(2000)
      verifyRuns++
    }
  } finally {
    await state.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** lmdb-js alone: what one write transaction costs, in an environment opened as the store's. */
async function measureLmdb(): Promise<Record<string, number>> {
  const dir = tempDir('provsync-call-probe-lmdb-')
  const env = open({ path: dir, noSubdir: false, maxDbs: 8, mapSize: 2 ** 32, keyEncoding: 'binary', noSync })
  const db = env.openDB({ name: 'rows', keyEncoding: 'binary', encoding: 'binary' })
  const value = new Uint8Array(190)
  const key = (i: number) => {
    const k = new Uint8Array(32)
    new DataView(k.buffer).setUint32(0, i * 2654435761)
    return k
  }
  const n = 300
  const time = async (fn: (i: number) => unknown): Promise<[number, number]> => {
    const t0 = performance.now()
    const m0 = process.threadCpuUsage()
    for (let i = 0; i < n; i++) await fn(i)
    return [cpu(process.threadCpuUsage(m0)) / n, ((performance.now() - t0) * 1000) / n]
  }
  try {
    const out: Record<string, number> = {}
    const record = (name: string, [cpuUs, wallUs]: [number, number]) => {
      out[`${name}_cpu_us`] = Number(cpuUs.toFixed(1))
      out[`${name}_wall_us`] = Number(wallUs.toFixed(1))
    }
    record('txn_sync_empty', await time(() => env.transactionSync(() => undefined)))
    record('txn_sync_put', await time((i) => env.transactionSync(() => db.put(key(i), value))))
    record('txn_async_put', await time((i) => env.transaction(() => db.put(key(i + n), value))))
    record('put_async', await time((i) => db.put(key(i + 2 * n), value)))
    // What a write transaction paid for its next sequence number before session 15 (a reverse
    // cursor) against what it pays now (two point reads), alternated in one transaction.
    const seq = env.openDB({ name: 'seq', keyEncoding: 'ordered-binary', encoding: 'binary' })
    env.transactionSync(() => {
      for (let k = 1; k <= 5000; k++) seq.putSync(k, value)
    })
    let cursorUs = 0
    let pointUs = 0
    env.transactionSync(() => {
      for (let i = 0; i < 2000; i++) {
        const c0 = performance.now()
        for (const k of seq.getKeys({ reverse: true, limit: 1 })) if (k !== 5000) throw new Error('last key')
        const c1 = performance.now()
        if (!(seq.doesExist(4999 + 1) && !seq.doesExist(5001))) throw new Error('hint')
        const c2 = performance.now()
        cursorUs += (c1 - c0) * 1000
        pointUs += (c2 - c1) * 1000
      }
    })
    out.last_key_cursor_us = Number((cursorUs / 2000).toFixed(2))
    out.last_key_two_point_reads_us = Number((pointUs / 2000).toFixed(2))
    return out
  } finally {
    await env.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await measureApplies()
const verify = verifySum / verifyRuns
for (const size of sizes) {
  const t = totals.get(size)!
  const f = (x: number) => Number(x.toFixed(1))
  console.log(
    JSON.stringify({
      size,
      calls: t.calls,
      wall_us_per_call: f(t.wallUs / t.calls),
      main_cpu_us_per_call: f(t.mainUs / t.calls),
      all_cpu_us_per_call: f(t.allUs / t.calls),
      main_cpu_us_per_record: f(t.mainUs / t.calls / size),
      wall_us_per_record: f(t.wallUs / t.calls / size),
      fixed_us_per_call: f(t.mainUs / t.calls - (threads === 0 ? size * verify : 0)),
    }),
  )
}
console.log(
  JSON.stringify({ verify_us: Number(verify.toFixed(1)), threads, noSync, ...(await measureLmdb()) }),
)
console.log(JSON.stringify({ load_average_1m: Number(loadavg()[0]!.toFixed(2)) }))
