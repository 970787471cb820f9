/**
 * `npm run bench -- merkle [--quick]`. Every phase that touches a large LMDB file runs in its own
 * child process, so each peak RSS figure belongs to one activity (raw puts, building one tree,
 * reconciling two) and the mmap'd pages of one never count against another.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { createBLAKE3 } from 'hash-wasm'
import { open, type RootDatabase } from 'lmdb'
import { peakRssMiB, rate, runSuite } from '../../../bench/lib.js'
import { createReconciler, createResponder, type MerkleTree, openMerkleTree } from '../src/index.js'

const BATCH = 10_000
const LARGE_BATCH = 100_000
const MAP_SIZE = 2 ** 34 // reserve address space once: lmdb-js keeps old maps alive when it grows one
const SIZES = [10_000, 100_000, 1_000_000]
const DIFFS = [10, 1000, 10_000]

const wasm = await createBLAKE3()
const blake3 = (...parts: Uint8Array[]): Uint8Array => {
  wasm.init()
  for (const part of parts) wasm.update(part)
  return wasm.digest('binary')
}
const indexBytes = new Uint8Array(4)
/** Deterministic random-looking 32-byte keys, regenerated on demand instead of held in memory. */
function keyOf(i: number): Uint8Array {
  new DataView(indexBytes.buffer).setUint32(0, i)
  return blake3(indexBytes)
}
const versions = new Map<string, Uint8Array>()
const valueHashOf = (key: Uint8Array, version: string) => {
  let tag = versions.get(version)
  if (tag === undefined) versions.set(version, (tag = new TextEncoder().encode(version)))
  return blake3(key, tag)
}

/**
 * Anonymous (private) resident memory now, in MiB. File-backed pages of the LMDB map are the rest
 * of RSS: with the files in the page cache, the kernel maps up to 64 KiB around every page touched
 * (fault-around), so random reads of a few thousand buckets map most of a file.
 */
function anonRssMiB(): number {
  const match = readFileSync('/proc/self/status', 'utf8').match(/RssAnon:\s+(\d+)/)
  return match === null ? Number.NaN : Number(match[1]) / 1024
}

/**
 * noReadAhead (MDB_NORDAHEAD, madvise(MADV_RANDOM) on the map) as the README recommends: with the
 * files in the page cache, as here, it changes nothing; on a cold cache it halves a 1M
 * reconciliation's peak RSS. Raw puts and trees open their environments alike.
 */
function openEnv(path: string): RootDatabase {
  // lmdb's typings leave out noReadAhead, which its open() reads (open.js).
  const options = { path, mapSize: MAP_SIZE, maxDbs: 4, noReadAhead: true }
  return open(options)
}
const openTree = (env: RootDatabase) => openMerkleTree(env, { name: 'bench', keysAreHashes: true })

/** Wall and CPU (all threads of this process) milliseconds of `op`, added to `into`. */
function timed(into: { ms: number; cpuMs: number }, op: () => void): void {
  const cpu = process.cpuUsage()
  const start = performance.now()
  op()
  into.ms += performance.now() - start
  const used = process.cpuUsage(cpu)
  into.cpuMs += (used.user + used.system) / 1000
}

const fileMiB = (dir: string) => statSync(join(dir, 'data.mdb')).size / 2 ** 20

// ---- child phases ---------------------------------------------------------------------------

type Phase = 'raw' | 'build' | 'apply' | 'revert' | 'reconcile'

async function child(
  phase: Phase,
  dir: string,
  n: number,
  batchSize: number,
): Promise<Record<string, number>> {
  if (phase === 'apply' || phase === 'revert') return mutatePhase(dir, n, phase)
  if (phase === 'reconcile') return reconcilePhase(dir, n)
  if (phase === 'raw') {
    const env = openEnv(dir)
    const db = env.openDB<Uint8Array, Uint8Array>({ name: 'raw', keyEncoding: 'binary', encoding: 'binary' })
    const time = { ms: 0, cpuMs: 0 }
    for (let i = 0; i < n; i += batchSize) {
      const batch = makeBatch(i, Math.min(n, i + batchSize))
      timed(time, () =>
        env.transactionSync(() => {
          for (const { key, valueHash } of batch) db.putSync(key, valueHash)
        }),
      )
    }
    const anonRss = anonRssMiB()
    await env.close()
    return { ...rates(n, time), peakRss: peakRssMiB(), anonRss, fileMiB: fileMiB(dir) }
  }
  if (phase === 'build') {
    const env = openEnv(dir)
    const tree = openTree(env)
    const time = { ms: 0, cpuMs: 0 }
    for (let i = 0; i < n; i += batchSize) {
      const batch = makeBatch(i, Math.min(n, i + batchSize))
      timed(time, () => env.transactionSync(() => tree.update(batch)))
    }
    if (tree.count() !== n) throw new Error(`built ${tree.count()} of ${n}`)
    const anonRss = anonRssMiB()
    await env.close()
    return { ...rates(n, time), peakRss: peakRssMiB(), anonRss, fileMiB: fileMiB(dir) }
  }
  throw new Error(`unknown phase ${phase}`)
}

/** Inserts per wall second, and per CPU second (less sensitive to other work on a shared machine). */
const rates = (n: number, time: { ms: number; cpuMs: number }) => ({
  perSecond: n / (time.ms / 1000),
  perCpuSecond: n / (time.cpuMs / 1000),
})

/** The key indexes that make the trees differ by d: a third only in A, a third only in B, a third changed. */
function diffSets(d: number) {
  const third = Math.floor(d / 3)
  return { onlyA: range(0, third), onlyB: range(third, 2 * third), changed: range(2 * third, d) }
}

/** Makes B differ from A by d keys (`apply`), or makes them equal again (`revert`). */
async function mutatePhase(
  dir: string,
  d: number,
  mode: 'apply' | 'revert',
): Promise<Record<string, number>> {
  const envA = openEnv(join(dir, 'a'))
  const envB = openEnv(join(dir, 'b'))
  const a = openTree(envA)
  const b = openTree(envB)
  const { onlyA, onlyB, changed } = diffSets(d)
  const set = (tree: MerkleTree, env: RootDatabase, idx: number[], version: string | null) =>
    env.transactionSync(() =>
      tree.update(
        idx.map((i) => ({
          key: keyOf(i),
          valueHash: version === null ? null : valueHashOf(keyOf(i), version),
        })),
      ),
    )
  set(b, envB, onlyA, mode === 'apply' ? null : 'v')
  set(a, envA, onlyB, mode === 'apply' ? null : 'v')
  set(b, envB, changed, mode === 'apply' ? 'changed' : 'v')
  const equal = a.root().join() === b.root().join()
  await envA.close()
  await envB.close()
  if (equal !== (mode === 'revert')) throw new Error(`trees are ${equal ? '' : 'not '}equal after ${mode}`)
  return {}
}

/** Reconciles the two trees, which differ by d, with unlimited and with 64 KiB frames. */
async function reconcilePhase(dir: string, d: number): Promise<Record<string, number>> {
  const envA = openEnv(join(dir, 'a'))
  const envB = openEnv(join(dir, 'b'))
  const a = openTree(envA)
  const b = openTree(envB)
  const { onlyA, onlyB, changed } = diffSets(d)
  const out: Record<string, number> = {}
  for (const frame of [undefined, 64 * 1024]) {
    const options = frame === undefined ? {} : { maxFrameBytes: frame }
    const start = performance.now()
    const reconciler = createReconciler(a, options)
    const responder = createResponder(b, options)
    for (let req = reconciler.next(); req !== undefined; req = reconciler.next()) {
      reconciler.receive(responder.respond(req))
    }
    const ms = performance.now() - start
    const result = reconciler.result()
    check('localOnly', result.localOnly, onlyA)
    check('remoteOnly', result.remoteOnly, onlyB)
    check('differing', result.differing, changed)
    const tag = frame === undefined ? '' : '_frame64k'
    out[`rounds${tag}`] = reconciler.stats.rounds
    out[`bytes${tag}`] = reconciler.stats.bytesSent + reconciler.stats.bytesReceived
    out[`ms${tag}`] = ms
  }
  out.peakRss = peakRssMiB()
  out.anonRss = anonRssMiB()
  await envA.close()
  await envB.close()
  return out
}

/** Keys and value hashes of one batch, made before the clock starts. */
function makeBatch(from: number, to: number): Array<{ key: Uint8Array; valueHash: Uint8Array }> {
  const batch = []
  for (let i = from; i < to; i++) {
    const key = keyOf(i)
    batch.push({ key, valueHash: valueHashOf(key, 'v') })
  }
  return batch
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i)
}

function check(what: string, got: Uint8Array[], indexes: number[]): void {
  const want = new Set(indexes.map((i) => Buffer.from(keyOf(i)).toString('hex')))
  const ok = got.length === want.size && got.every((k) => want.has(Buffer.from(k).toString('hex')))
  if (!ok)
    throw new Error(`reconciliation returned a wrong ${what} set (${got.length} keys, want ${want.size})`)
}

function runChild(phase: Phase, dir: string, n: number, batchSize = BATCH): Record<string, number> {
  const file = fileURLToPath(import.meta.url)
  const args = ['--import', 'tsx', file, '--phase', phase, dir, String(n), String(batchSize)]
  const run = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  })
  if (run.status !== 0) throw new Error(`phase ${phase} failed: ${run.stderr}`)
  const line = run.stdout.trim().split('\n').at(-1)!
  return JSON.parse(line)
}

// ---- suite ----------------------------------------------------------------------------------

async function suite(): Promise<void> {
  await runSuite('merkle', async (ctx) => {
    const sizes = ctx.quick ? SIZES.slice(0, 2) : SIZES
    const largest = sizes.at(-1)!

    // Hashing: noble (pure JS) against hash-wasm (WASM), on 64-byte inputs and on 1 MiB.
    const small = new Uint8Array(64).fill(7)
    const large = new Uint8Array(1 << 20).fill(7)
    const minMs = ctx.quick ? 200 : 1000
    ctx.record(
      'hash_noble_64b_per_s',
      rate(() => nobleBlake3(small), { minMs }),
      'hashes/s',
    )
    ctx.record(
      'hash_wasm_64b_per_s',
      rate(() => blake3(small), { minMs }),
      'hashes/s',
    )
    ctx.record(
      'hash_noble_mb_per_s',
      rate(() => nobleBlake3(large), { minMs }),
      'MB/s',
    )
    ctx.record(
      'hash_wasm_mb_per_s',
      rate(() => blake3(large), { minMs }),
      'MB/s',
    )

    const root = mkdtempSync(join(tmpdir(), 'provsync-merkle-bench-'))
    try {
      let peak = 0
      for (const n of sizes) {
        const dir = join(root, `n${n}`)
        const suffix = n === largest ? '' : `_n${n / 1000}k`
        if (n !== largest) {
          const built = runChild('build', join(dir, 'a'), n)
          runChild('build', join(dir, 'b'), n)
          ctx.record(`build_inserts_per_s${suffix}`, built.perSecond!, 'inserts/s')
          peak = Math.max(peak, built.peakRss!)
        } else {
          // Raw puts and tree builds alternate, and the better of two runs counts for each: the
          // machine is shared with other work, and one slow fsync would otherwise decide the ratio.
          // Batches of 10,000 give the headline figures (and build the two trees the reconciliation
          // uses); batches of 100,000, a bulk import, are recorded beside them.
          const runs: Record<string, Record<string, number>[]> = {
            raw: [],
            build: [],
            rawLarge: [],
            buildLarge: [],
          }
          for (const round of [1, 2]) {
            runs.raw!.push(runChild('raw', join(dir, `raw${round}`), n))
            runs.build!.push(runChild('build', join(dir, round === 1 ? 'a' : 'b'), n))
            runs.rawLarge!.push(runChild('raw', join(dir, `raw-large${round}`), n, LARGE_BATCH))
            runs.buildLarge!.push(runChild('build', join(dir, `a-large${round}`), n, LARGE_BATCH))
            for (const r of [`raw${round}`, `raw-large${round}`, `a-large${round}`]) {
              rmSync(join(dir, r), { recursive: true, force: true })
            }
          }
          const best = (kind: string, field: string) => Math.max(...runs[kind]!.map((r) => r[field]!))
          ctx.record('build_inserts_per_s', best('build', 'perSecond'), 'inserts/s')
          ctx.record('lmdb_raw_puts_per_s', best('raw', 'perSecond'), 'puts/s')
          ctx.record('build_vs_raw_puts', best('build', 'perSecond') / best('raw', 'perSecond'), 'ratio')
          ctx.record(
            'build_vs_raw_puts_cpu',
            best('build', 'perCpuSecond') / best('raw', 'perCpuSecond'),
            'ratio',
          )
          ctx.record('build_inserts_per_s_batch100k', best('buildLarge', 'perSecond'), 'inserts/s')
          ctx.record('lmdb_raw_puts_per_s_batch100k', best('rawLarge', 'perSecond'), 'puts/s')
          ctx.record(
            'build_vs_raw_puts_batch100k',
            best('buildLarge', 'perSecond') / best('rawLarge', 'perSecond'),
            'ratio',
          )
          const buildPeak = best('build', 'peakRss')
          ctx.record('peak_rss_build_mib', buildPeak, 'MiB')
          ctx.record('rss_anon_build_mib', best('build', 'anonRss'), 'MiB')
          ctx.record('peak_rss_raw_puts_mib', best('raw', 'peakRss'), 'MiB')
          ctx.record('rss_anon_raw_puts_mib', best('raw', 'anonRss'), 'MiB')
          // With the file in the page cache, fault-around maps nearly all of it: most of RSS.
          ctx.record('lmdb_file_build_mib', best('build', 'fileMiB'), 'MiB')
          ctx.record('lmdb_file_raw_puts_mib', best('raw', 'fileMiB'), 'MiB')
          // A 100,000-change transaction holds most of the tree's pages dirty in LMDB's own memory.
          ctx.record('peak_rss_build_batch100k_mib', best('buildLarge', 'peakRss'), 'MiB')
          ctx.record('peak_rss_raw_puts_batch100k_mib', best('rawLarge', 'peakRss'), 'MiB')
          peak = Math.max(peak, buildPeak)
        }
        let reconcilePeak = 0
        let reconcileAnon = 0
        for (const d of DIFFS.filter((x) => x <= n / 10)) {
          runChild('apply', dir, d)
          const rec = runChild('reconcile', dir, d)
          runChild('revert', dir, d)
          const label = `_n${n >= 1e6 ? `${n / 1e6}m` : `${n / 1000}k`}_d${d}`
          ctx.record(`reconcile_round_trips${label}`, rec.rounds!, 'round trips')
          ctx.record(`reconcile_bytes_per_diff${label}`, rec.bytes! / d, 'B/diff')
          ctx.record(`reconcile_ms${label}`, rec.ms!, 'ms')
          ctx.record(`reconcile_round_trips_frame64k${label}`, rec.rounds_frame64k!, 'round trips')
          ctx.record(
            `reconcile_frame64k_round_trip_bound${label}`,
            Math.floor(rec.bytes_frame64k! / 65536) + 3,
            'round trips',
          )
          if (n === largest && d === 1000) {
            ctx.record('reconcile_round_trips', rec.rounds!, 'round trips')
            ctx.record('reconcile_bytes_per_diff', rec.bytes! / d, 'B/diff')
            ctx.record('reconcile_ms', rec.ms!, 'ms')
          }
          reconcilePeak = Math.max(reconcilePeak, rec.peakRss!)
          reconcileAnon = Math.max(reconcileAnon, rec.anonRss!)
          if (n === largest) ctx.record(`peak_rss_reconcile${label}_mib`, rec.peakRss!, 'MiB')
        }
        if (n === largest) {
          ctx.record('peak_rss_reconcile_mib', reconcilePeak, 'MiB')
          ctx.record('rss_anon_reconcile_mib', reconcileAnon, 'MiB')
        }
        peak = Math.max(peak, reconcilePeak)
        rmSync(dir, { recursive: true, force: true })
      }
      ctx.record('peak_rss_mib', Math.max(peak, peakRssMiB()), 'MiB')
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
}

const phaseAt = process.argv.indexOf('--phase')
if (phaseAt >= 0) {
  const [phase, dir, n, batchSize] = process.argv.slice(phaseAt + 1) as [Phase, string, string, string]
  console.log(JSON.stringify(await child(phase, dir, Number(n), Number(batchSize))))
} else {
  await suite()
}
