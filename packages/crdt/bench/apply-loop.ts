/**
 * The crdt suite's apply measurement alone, for profiling and for quick before/after runs:
 * `node --import tsx packages/crdt/bench/apply-loop.ts [batches] [--nosync] [--pipelined] [--prefill=N] [--windows=N]`
 * (`node --cpu-prof --cpu-prof-dir=<dir> --import tsx …` for a profile). Batches of 1,000 new
 * signed assertions into a growing store, alternating with single-thread verification of 1,000
 * signatures, as in `crdt.bench.ts`. Prints the wall and CPU figures of the suite plus the
 * calling thread's share of the CPU (`process.threadCpuUsage`), the split between the thread
 * that applies and the verify workers. `--prefill=N` first applies N other records (batches of
 * 5,000, not measured), so the measured batches write into B-trees of that size, where each
 * random-key write lands on a page of its own. `apply_gc_minor_us_per_record` /
 * `apply_gc_major_us_per_record`: the calling thread's GC pauses that started inside the apply
 * windows (V8's `gc` performance entries), per record; the parallel helpers' share is in the
 * per-thread line. With `--trace-gc-nvp`, stderr names when the measured loop started, so a
 * trace's scavenges inside it can be summed (bytes survived and promoted per record).
 * `--windows=N` also prints the figures of each run of N batches (cold first batches against warm
 * later ones); `verify_main_thread_cpu_us` is the reference's CPU on the calling thread alone.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { PerformanceObserver } from 'node:perf_hooks'
import { generateSigner, openNodeState, signedMessage, verifySignature } from '@provsync/crdt'
import { tempDir } from '@provsync/testing'
import { BATCH, NETWORK, signBatch } from './batches.js'

const args = process.argv.slice(2)
const batches = Number(args.find((a) => /^\d+$/.test(a)) ?? 20)
const noSync = args.includes('--nosync')
// --pipelined: each batch starts verifying (verifyRecords) before the one ahead of it applies; the
// workers then verify the next batch during the alternated verification, so only crdt.bench.ts's
// apply_pipelined_verify_ratio (timed whole) is a fair figure of that mode.
const pipelined = args.includes('--pipelined')
const prefill = Number(args.find((a) => a.startsWith('--prefill='))?.slice('--prefill='.length) ?? 0)
// --windows=N: also print the figures of each run of N batches, to see whether the first batches
// (code still compiling on V8's helper threads) cost more than the later ones (steady state).
const windowSize = Number(args.find((a) => a.startsWith('--windows='))?.slice('--windows='.length) ?? 0)

/** CPU µs of every thread of this process by thread name, from /proc (Linux). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second here).
      const us = (Number(fields[11]) + Number(fields[12])) * 10_000
      const key = tid === String(process.pid) ? 'main' : `${name}/${tid}`
      out.set(key, (out.get(key) ?? 0) + us)
    } catch {
      // the thread ended meanwhile
    }
  }
  return out
}
const threadsApply = new Map<string, number>()

/**
 * The calling thread's garbage collections (V8's `gc` performance entries: the pause of each
 * scavenge and mark-compact, parallel helpers' time not included) and their start times, to sum
 * those that started inside the apply windows.
 */
const gcEntries: { start: number; ms: number; minor: boolean }[] = []
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (Reflect.get(e, 'detail') as { kind?: number } | undefined)?.kind
    // kind 1 is NODE_PERFORMANCE_GC_MINOR (scavenge); 2, 4 and 8 are major, incremental, weak callbacks.
    gcEntries.push({ start: e.startTime, ms: e.duration, minor: kind === 1 })
  }
})
gcObserver.observe({ entryTypes: ['gc'] })
const applyWindows: [number, number][] = []

const signer = generateSigner()
const sample = signBatch(signer, 0, 1, 1n)[0]!
const message = signedMessage('assertion', NETWORK, sample)
const signature = sample.subarray(sample.length - 64)
const signers = Array.from({ length: 4 }, () => generateSigner())
const pending = Array.from({ length: batches + 2 }, (_, b) =>
  signBatch(signers[b % signers.length]!, b * BATCH, BATCH, BigInt(b + 1)),
)
const dir = tempDir('provsync-apply-loop-')
const state = await openNodeState({ dataDir: dir, networkId: NETWORK, noSync })
try {
  const fillers = Array.from({ length: 4 }, () => generateSigner())
  for (let done = 0, b = 0; done < prefill; done += 5000, b++) {
    const signerOfBatch = fillers[b % fillers.length]!
    const batch = signBatch(signerOfBatch, 10_000_000 + done, Math.min(5000, prefill - done), 1n)
    await state.apply('assertions', batch, { from: signerOfBatch.publicKey })
  }
  for (const batch of pending.slice(0, 2))
    await state.apply('assertions', batch, { from: signers[0]!.publicKey })
  let applyMs = 0
  let verifyMs = 0
  let applyCpu = 0
  let applyMainCpu = 0
  let verifyCpu = 0
  // The verification reference's CPU on the calling thread alone: the rest of verify_cpu_us is
  // other threads' work during the reference (V8's helpers finishing what apply left: collection,
  // compilation), which flatters the ratio.
  let verifyMainCpu = 0
  const cpu = (u: NodeJS.CpuUsage) => u.user + u.system
  const from = { from: signers[1]!.publicKey }
  // When the measured loop starts, on the clock of `--trace-gc` / `--trace-gc-nvp` lines (ms since
  // the isolate started), to sum the collections inside it from such a trace.
  console.error(`measured loop from ${Math.round(performance.now())} ms`)
  let ahead = pipelined ? state.verifyRecords('assertions', pending[2]!) : undefined
  let window = { applyCpu: 0, mainCpu: 0, verifyCpu: 0, helpers: 0, applyMs: 0, verifyMs: 0 }
  for (const [b, batch] of pending.slice(2).entries()) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    const m0 = process.threadCpuUsage()
    const p0 = threadCpu()
    let outcomes: { status: string }[]
    if (ahead === undefined) outcomes = await state.apply('assertions', batch, from)
    else {
      const current = ahead
      const next = pending[b + 3]
      if (next !== undefined) ahead = state.verifyRecords('assertions', next)
      outcomes = await state.applyVerified(current, from)
    }
    const mainUs = cpu(process.threadCpuUsage(m0))
    applyMainCpu += mainUs
    for (const [name, us] of threadCpu()) {
      threadsApply.set(name, (threadsApply.get(name) ?? 0) + us - (p0.get(name) ?? 0))
      // V8's helper threads are named "node"; the verify worker is the busiest other thread.
      if (name.startsWith('node/') && us - (p0.get(name) ?? 0) < 0.5 * mainUs)
        window.helpers += us - (p0.get(name) ?? 0)
    }
    const batchCpu = cpu(process.cpuUsage(c0))
    applyCpu += batchCpu
    applyMs += performance.now() - t0
    window.applyCpu += batchCpu
    window.mainCpu += mainUs
    window.applyMs += performance.now() - t0
    applyWindows.push([t0, performance.now()])
    if (outcomes.some((o) => o.status !== 'applied')) throw new Error('bench batch not applied')
    const t1 = performance.now()
    const c1 = process.cpuUsage()
    const v0 = process.threadCpuUsage()
    for (let i = 0; i < BATCH; i++)
      if (!verifySignature(signer.publicKey, message, signature)) throw new Error('bad')
    const verifyUs = cpu(process.cpuUsage(c1))
    verifyMainCpu += cpu(process.threadCpuUsage(v0))
    verifyCpu += verifyUs
    verifyMs += performance.now() - t1
    window.verifyCpu += verifyUs
    window.verifyMs += performance.now() - t1
    if (windowSize > 0 && (b + 1) % windowSize === 0) {
      const n = windowSize * BATCH
      const f = (x: number) => Number((x / n).toFixed(1))
      console.log(
        JSON.stringify({
          batches: `${b + 2 - windowSize}-${b + 1}`,
          apply_cpu_us_per_record: f(window.applyCpu),
          main_thread: f(window.mainCpu),
          helper_threads_approx: f(window.helpers),
          verify_cpu_us: f(window.verifyCpu),
          cpu_ratio: Number((window.applyCpu / window.verifyCpu).toFixed(3)),
          apply_verify_ratio: Number((window.verifyMs / window.applyMs).toFixed(3)),
        }),
      )
      window = { applyCpu: 0, mainCpu: 0, verifyCpu: 0, helpers: 0, applyMs: 0, verifyMs: 0 }
    }
  }
  const records = batches * BATCH
  // GC entries reach the observer on a later turn of the event loop (a timer, not setImmediate).
  await new Promise((resolve) => setTimeout(resolve, 100))
  gcObserver.disconnect()
  const inApply = gcEntries.filter((g) => applyWindows.some(([a, b]) => g.start >= a && g.start <= b))
  const gcUs = (minor: boolean) =>
    (inApply.filter((g) => g.minor === minor).reduce((sum, g) => sum + g.ms, 0) * 1000) / records
  const applyRate = (records * 1000) / applyMs
  const verifyRate = (records * 1000) / verifyMs
  const out = {
    apply_records_per_s: Math.round(applyRate),
    ed25519_verify_per_s: Math.round(verifyRate),
    apply_verify_ratio: Number((applyRate / verifyRate).toFixed(3)),
    apply_cpu_us_per_record: Number((applyCpu / records).toFixed(1)),
    apply_main_thread_cpu_us_per_record: Number((applyMainCpu / records).toFixed(1)),
    verify_cpu_us: Number((verifyCpu / records).toFixed(1)),
    verify_main_thread_cpu_us: Number((verifyMainCpu / records).toFixed(1)),
    cpu_ratio: Number((applyCpu / verifyCpu).toFixed(3)),
    apply_gc_minor_us_per_record: Number(gcUs(true).toFixed(1)),
    apply_gc_major_us_per_record: Number(gcUs(false).toFixed(1)),
    apply_gc_count: inApply.length,
    load_average_1m: Number(loadavg()[0]!.toFixed(2)),
  }
  console.log(JSON.stringify(out))
  const perThread = [...threadsApply]
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name}: ${(us / records).toFixed(1)}`)
  console.log(`apply CPU µs per record by thread (/proc, 10 ms ticks): ${perThread.join(', ')}`)
} finally {
  await state.close()
  rmSync(dir, { recursive: true, force: true })
}
