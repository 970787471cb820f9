/**
 * `npm run bench -- merkle [--quick]`. Every phase that touches a large LMDB file runs in its own
 * child process, so each peak RSS figure belongs to one activity (raw puts, building one tree,
 * reconciling two) and the mmap'd pages of one never count against another. At the largest N each
 * reconciliation also runs with its two sides in two processes (`initiator`, `responder`) that
 * exchange the encoded frames through this one, as two nodes would: a peak RSS per side.
 */
import { fork, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { createBLAKE3 } from 'hash-wasm'
import { open, type RootDatabase } from 'lmdb'
import { peakRssMiB, rate, runSuite, type SuiteContext } from '../../../bench/lib.js'
import { createReconciler, createResponder, type MerkleTree, openMerkleTree } from '../src/index.js'
import { recordCollisionRates } from './collisions.js'

const BATCH = 10_000
/** The batch size of the headline build figures: the transaction size decides most of build RSS. */
const HEADLINE_BATCH = 2500
const OLD_SPACE_MIB = 96
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

type Phase = 'raw' | 'build' | 'apply' | 'revert' | 'reconcile' | 'reconcile-rss' | 'initiator' | 'responder'

async function child(
  phase: Phase,
  dir: string,
  n: number,
  batchSize: number,
): Promise<Record<string, number>> {
  if (phase === 'apply' || phase === 'revert') return mutatePhase(dir, n, phase)
  if (phase === 'reconcile') return reconcilePhase(dir, n)
  // The batch-size argument names the protocol here.
  if (phase === 'reconcile-rss') return reconcileRssPhase(dir, n, batchSize as 1 | 2)
  if (phase === 'initiator') return initiatorPhase(dir, n)
  if (phase === 'responder') return responderPhase(dir)
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
  // Protocol 1 (the previous release, `_v1`) and protocol 2 alternate, twice with unlimited frames:
  // the faster of two runs counts for each, so one burst of other work does not decide the ratio.
  for (const [session, frame] of FRAME_LIMITS.entries()) {
    for (const version of frame === undefined ? [1, 2, 1, 2] : [1, 2]) {
      const options = { ...sessionOptions(session), version: version as 1 | 2 }
      const start = performance.now()
      const reconciler = createReconciler(a, options)
      const responder = createResponder(b, options)
      for (let req = reconciler.next(); req !== undefined; req = reconciler.next()) {
        reconciler.receive(responder.respond(req))
      }
      const ms = performance.now() - start
      const result = reconciler.result()
      if (result.collision) throw new Error('fingerprint collision in a bench session (odds ~10^-5)')
      check('localOnly', result.localOnly, onlyA)
      check('remoteOnly', result.remoteOnly, onlyB)
      check('differing', result.differing, changed)
      const tag = `${frame === undefined ? '' : '_frame64k'}${version === 1 ? '_v1' : ''}`
      out[`rounds${tag}`] = reconciler.stats.rounds
      out[`bytes${tag}`] = reconciler.stats.bytesSent + reconciler.stats.bytesReceived
      out[`ms${tag}`] = Math.min(out[`ms${tag}`] ?? Number.POSITIVE_INFINITY, ms)
    }
  }
  out.peakRss = peakRssMiB()
  out.anonRss = anonRssMiB()
  await envA.close()
  await envB.close()
  return out
}

/**
 * Peak RSS of one protocol's reconciliation, both sides in this process: its two sessions
 * (unlimited frames, then 64 KiB frames) and nothing else, as `reconcile` ran them before protocol
 * 2. The peak of `reconcile` itself, six sessions of two protocols in one heap, measured how much
 * garbage six sessions leave before V8 collects it, not either protocol: with a forced GC after
 * each session its heap returns to 14 MiB every time (issue #13, docs/benches-13.md).
 */
async function reconcileRssPhase(dir: string, d: number, version: 1 | 2): Promise<Record<string, number>> {
  const envA = openEnv(join(dir, 'a'))
  const envB = openEnv(join(dir, 'b'))
  const a = openTree(envA)
  const b = openTree(envB)
  const { onlyA, onlyB, changed } = diffSets(d)
  for (const session of FRAME_LIMITS.keys()) {
    const options = { ...sessionOptions(session), version }
    const reconciler = createReconciler(a, options)
    const responder = createResponder(b, options)
    for (let req = reconciler.next(); req !== undefined; req = reconciler.next()) {
      reconciler.receive(responder.respond(req))
    }
    const result = reconciler.result()
    check('localOnly', result.localOnly, onlyA)
    check('remoteOnly', result.remoteOnly, onlyB)
    check('differing', result.differing, changed)
  }
  const out = { peakRss: peakRssMiB(), anonRss: anonRssMiB() }
  await envA.close()
  await envB.close()
  return out
}

/** Each reconciliation runs two sessions: unlimited frames, then 64 KiB frames. */
const FRAME_LIMITS = [undefined, 64 * 1024] as const
/** Protocol 2 (salted fingerprints) unless a phase asks for 1; the responder serves either. */
const sessionOptions = (session: number) => {
  const frame = FRAME_LIMITS[session]
  return frame === undefined ? { version: 2 as const } : { maxFrameBytes: frame, version: 2 as const }
}

/** What the suite relays between the two sides of a two-process reconciliation. */
type Relayed = { session: number; request: Uint8Array } | { response: Uint8Array } | { end: true }

/** Sends one message to the suite process and waits for the next one it relays back. */
async function exchange(message: Relayed): Promise<Relayed> {
  const reply = once(process, 'message')
  process.send!(message)
  return (await reply)[0] as Relayed
}

/**
 * The initiator of a reconciliation as a node of its own: tree A only, requests out and responses
 * in over IPC, as frames would travel on a stream. Runs the same two sessions as `reconcilePhase`.
 */
async function initiatorPhase(dir: string, d: number): Promise<Record<string, number>> {
  const env = openEnv(join(dir, 'a'))
  const tree = openTree(env)
  const { onlyA, onlyB, changed } = diffSets(d)
  const out: Record<string, number> = {}
  for (const [session, frame] of FRAME_LIMITS.entries()) {
    const start = performance.now()
    const reconciler = createReconciler(tree, sessionOptions(session))
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      const reply = await exchange({ session, request })
      if (!('response' in reply)) throw new Error('responder sent no response')
      reconciler.receive(reply.response)
    }
    const ms = performance.now() - start
    const result = reconciler.result()
    check('localOnly', result.localOnly, onlyA)
    check('remoteOnly', result.remoteOnly, onlyB)
    check('differing', result.differing, changed)
    out[`ms${frame === undefined ? '' : '_frame64k'}`] = ms
  }
  out.peakRss = peakRssMiB()
  out.anonRss = anonRssMiB()
  await env.close()
  return out
}

/** The responder as a node of its own: tree B only, one responder per session the initiator opens. */
async function responderPhase(dir: string): Promise<Record<string, number>> {
  const env = openEnv(join(dir, 'b'))
  const tree = openTree(env)
  let current: { session: number; responder: ReturnType<typeof createResponder> } | undefined
  let message = (await once(process, 'message'))[0] as Relayed
  while ('session' in message) {
    if (current?.session !== message.session) {
      current?.responder.close()
      current = {
        session: message.session,
        responder: createResponder(tree, sessionOptions(message.session)),
      }
    }
    message = await exchange({ response: current.responder.respond(message.request) })
  }
  current?.responder.close()
  const out = { peakRss: peakRssMiB(), anonRss: anonRssMiB() }
  await env.close()
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

const benchFile = fileURLToPath(import.meta.url)

/** Runs one phase in a child process; `nodeFlags` go to that child's node (e.g. a heap limit). */
function runChild(
  phase: Phase,
  dir: string,
  n: number,
  { batchSize = BATCH, nodeFlags = [] as string[] } = {},
): Record<string, number> {
  const args = [
    ...nodeFlags,
    '--import',
    'tsx',
    benchFile,
    '--phase',
    phase,
    dir,
    String(n),
    String(batchSize),
  ]
  const run = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  })
  if (run.status !== 0) throw new Error(`phase ${phase} failed: ${run.stderr}`)
  return lastJsonLine(run.stdout)
}

const lastJsonLine = (stdout: string): Record<string, number> => JSON.parse(stdout.trim().split('\n').at(-1)!)

/** Starts one side of a two-process reconciliation, with an IPC channel to this process. */
function forkSide(phase: 'initiator' | 'responder', dir: string, d: number) {
  const side = fork(benchFile, ['--phase', phase, dir, String(d), '0'], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced', // frames cross as Uint8Array, not JSON
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  let stdout = ''
  let stderr = ''
  side.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  side.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const result = new Promise<Record<string, number>>((resolve, reject) =>
    side.on('exit', (code) =>
      code === 0 ? resolve(lastJsonLine(stdout)) : reject(new Error(`${phase} failed (${code}): ${stderr}`)),
    ),
  )
  return { side, result }
}

/**
 * Reconciles tree A (initiator) with tree B (responder), each in a process of its own: this process
 * only relays the encoded frames between them, as a network would.
 */
async function runPair(dir: string, d: number) {
  const initiator = forkSide('initiator', dir, d)
  const responder = forkSide('responder', dir, d)
  initiator.side.on('message', (message) => responder.side.send(message as Relayed))
  responder.side.on('message', (message) => initiator.side.send(message as Relayed))
  try {
    const initiatorResult = await Promise.race([
      initiator.result,
      responder.result.then(() => {
        throw new Error('responder ended before the initiator')
      }),
    ])
    responder.side.send({ end: true } satisfies Relayed)
    return { initiator: initiatorResult, responder: await responder.result }
  } catch (error) {
    initiator.side.kill()
    responder.side.kill()
    throw error
  }
}

// ---- suite ----------------------------------------------------------------------------------

async function suite(): Promise<void> {
  await runSuite('merkle', async (ctx) => {
    const sizes = ctx.quick ? SIZES.slice(0, 2) : SIZES
    const largest = sizes.at(-1)!

    // `--only=reconcile`: the reconciliation figures alone (hashing and the build matrix skipped,
    // the two reconciled trees built once at the headline batch size).
    const onlyReconcile = ctx.args.includes('--only=reconcile')
    // Hashing: noble (pure JS) against hash-wasm (WASM), on 64-byte inputs and on 1 MiB.
    if (!onlyReconcile) recordHashing(ctx)
    await recordCollisionRates(ctx)
    const root = mkdtempSync(join(tmpdir(), 'provsync-merkle-bench-'))
    try {
      let peak = 0
      for (const n of sizes) {
        const dir = join(root, `n${n}`)
        const suffix = n === largest ? '' : `_n${n / 1000}k`
        if (onlyReconcile) {
          runChild('build', join(dir, 'a'), n, { batchSize: n === largest ? HEADLINE_BATCH : BATCH })
          runChild('build', join(dir, 'b'), n, { batchSize: n === largest ? HEADLINE_BATCH : BATCH })
        } else if (n !== largest) {
          const built = runChild('build', join(dir, 'a'), n)
          runChild('build', join(dir, 'b'), n)
          ctx.record(`build_inserts_per_s${suffix}`, built.perSecond!, 'inserts/s')
          peak = Math.max(peak, built.peakRss!)
        } else {
          // Raw puts and tree builds alternate, and the better of two runs counts for each rate (the
          // worse for each RSS): the machine is shared with other work, and one slow fsync would
          // otherwise decide a ratio. A transaction's dirty pages and the pages it frees are what it
          // adds to RSS, so the batch size decides most of it: HEADLINE_BATCH gives the headline
          // figures and builds the two reconciled trees, the others are recorded beside them.
          const configs = [
            { suffix: '', batchSize: HEADLINE_BATCH },
            { suffix: '_batch1k', batchSize: 1000 },
            { suffix: '_batch10k', batchSize: BATCH },
            { suffix: '_batch100k', batchSize: LARGE_BATCH },
          ]
          const runs: Record<string, Record<string, number>[]> = {}
          for (const round of [1, 2]) {
            for (const { suffix, batchSize } of configs) {
              const raw = join(dir, `raw${suffix}`)
              const keep = batchSize === HEADLINE_BATCH
              const tree = keep ? join(dir, round === 1 ? 'a' : 'b') : join(dir, `tree${suffix}`)
              ;(runs[`raw${suffix}`] ??= []).push(runChild('raw', raw, n, { batchSize }))
              ;(runs[`build${suffix}`] ??= []).push(runChild('build', tree, n, { batchSize }))
              rmSync(raw, { recursive: true, force: true })
              if (!keep) rmSync(tree, { recursive: true, force: true })
            }
          }
          const best = (kind: string, field: string) => Math.max(...runs[kind]!.map((r) => r[field]!))
          ctx.record('build_batch_size', HEADLINE_BATCH, 'changes/transaction')
          for (const { suffix } of configs) {
            const [build, raw] = [`build${suffix}`, `raw${suffix}`]
            ctx.record(`build_inserts_per_s${suffix}`, best(build, 'perSecond'), 'inserts/s')
            ctx.record(`lmdb_raw_puts_per_s${suffix}`, best(raw, 'perSecond'), 'puts/s')
            ctx.record(
              `build_vs_raw_puts${suffix}`,
              best(build, 'perSecond') / best(raw, 'perSecond'),
              'ratio',
            )
            ctx.record(
              `build_vs_raw_puts_cpu${suffix}`,
              best(build, 'perCpuSecond') / best(raw, 'perCpuSecond'),
              'ratio',
            )
            ctx.record(`peak_rss_build${suffix}_mib`, best(build, 'peakRss'), 'MiB')
            ctx.record(`rss_anon_build${suffix}_mib`, best(build, 'anonRss'), 'MiB')
            ctx.record(`peak_rss_raw_puts${suffix}_mib`, best(raw, 'peakRss'), 'MiB')
            ctx.record(`rss_anon_raw_puts${suffix}_mib`, best(raw, 'anonRss'), 'MiB')
            // With the file in the page cache, fault-around maps nearly all of it: most of RSS.
            ctx.record(`lmdb_file_build${suffix}_mib`, best(build, 'fileMiB'), 'MiB')
            ctx.record(`lmdb_file_raw_puts${suffix}_mib`, best(raw, 'fileMiB'), 'MiB')
          }
          // Extra, not a headline: the same 10,000-change build with the child's V8 old space capped,
          // a flag only the embedding process can set.
          const bounded = join(dir, 'a-bounded')
          const cappedHeap = runChild('build', bounded, n, {
            nodeFlags: [`--max-old-space-size=${OLD_SPACE_MIB}`],
          })
          rmSync(bounded, { recursive: true, force: true })
          ctx.record(`peak_rss_build_batch10k_old_space${OLD_SPACE_MIB}_mib`, cappedHeap.peakRss!, 'MiB')
          ctx.record(
            `build_inserts_per_s_batch10k_old_space${OLD_SPACE_MIB}`,
            cappedHeap.perSecond!,
            'inserts/s',
          )
          peak = Math.max(peak, best('build', 'peakRss'))
        }
        // Peak RSS per reconciliation: both sides in one process (what `reconcile_ms` times), and,
        // at the largest N, each side in a process of its own, as two nodes run it.
        const reconcilePeak = {
          oneProcess: 0,
          oneProcessAnon: 0,
          oneProcessV1: 0,
          oneProcessAnonV1: 0,
          initiator: 0,
          responder: 0,
          anon: 0,
        }
        for (const d of DIFFS.filter((x) => x <= n / 10)) {
          runChild('apply', dir, d)
          const rec = runChild('reconcile', dir, d)
          const rss = {
            v1: runChild('reconcile-rss', dir, d, { batchSize: 1 }),
            v2: runChild('reconcile-rss', dir, d, { batchSize: 2 }),
          }
          const pair = n === largest ? await runPair(dir, d) : undefined
          runChild('revert', dir, d)
          const label = `_n${n >= 1e6 ? `${n / 1e6}m` : `${n / 1000}k`}_d${d}`
          ctx.record(`reconcile_round_trips${label}`, rec.rounds!, 'round trips')
          ctx.record(`reconcile_bytes_per_diff${label}`, rec.bytes! / d, 'B/diff')
          ctx.record(`reconcile_ms${label}`, rec.ms!, 'ms')
          recordBaseline(ctx, label, rec, d)
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
            recordBaseline(ctx, '', rec, d)
          }
          reconcilePeak.oneProcess = Math.max(reconcilePeak.oneProcess, rss.v2.peakRss!)
          reconcilePeak.oneProcessAnon = Math.max(reconcilePeak.oneProcessAnon, rss.v2.anonRss!)
          reconcilePeak.oneProcessV1 = Math.max(reconcilePeak.oneProcessV1, rss.v1.peakRss!)
          reconcilePeak.oneProcessAnonV1 = Math.max(reconcilePeak.oneProcessAnonV1, rss.v1.anonRss!)
          if (pair !== undefined) {
            ctx.record(`peak_rss_reconcile_one_process${label}_mib`, rss.v2.peakRss!, 'MiB')
            ctx.record(`peak_rss_reconcile_one_process${label}_v1_mib`, rss.v1.peakRss!, 'MiB')
            ctx.record(`peak_rss_reconcile_six_sessions${label}_mib`, rec.peakRss!, 'MiB')
            ctx.record(`peak_rss_reconcile_initiator${label}_mib`, pair.initiator.peakRss!, 'MiB')
            ctx.record(`peak_rss_reconcile_responder${label}_mib`, pair.responder.peakRss!, 'MiB')
            // Includes the IPC hops through this process: a stand-in for a network, not a figure of it.
            ctx.record(`reconcile_ms_two_process${label}`, pair.initiator.ms!, 'ms')
            reconcilePeak.initiator = Math.max(reconcilePeak.initiator, pair.initiator.peakRss!)
            reconcilePeak.responder = Math.max(reconcilePeak.responder, pair.responder.peakRss!)
            reconcilePeak.anon = Math.max(
              reconcilePeak.anon,
              pair.initiator.anonRss!,
              pair.responder.anonRss!,
            )
          }
        }
        if (n === largest) {
          ctx.record('peak_rss_reconcile_initiator_mib', reconcilePeak.initiator, 'MiB')
          ctx.record('peak_rss_reconcile_responder_mib', reconcilePeak.responder, 'MiB')
          ctx.record(
            'peak_rss_reconcile_mib',
            Math.max(reconcilePeak.initiator, reconcilePeak.responder),
            'MiB',
          )
          ctx.record('rss_anon_reconcile_mib', reconcilePeak.anon, 'MiB')
          ctx.record('peak_rss_reconcile_one_process_mib', reconcilePeak.oneProcess, 'MiB')
          ctx.record('rss_anon_reconcile_one_process_mib', reconcilePeak.oneProcessAnon, 'MiB')
          ctx.record('peak_rss_reconcile_one_process_v1_mib', reconcilePeak.oneProcessV1, 'MiB')
          ctx.record('rss_anon_reconcile_one_process_v1_mib', reconcilePeak.oneProcessAnonV1, 'MiB')
        }
        peak = Math.max(peak, reconcilePeak.initiator, reconcilePeak.responder)
        rmSync(dir, { recursive: true, force: true })
      }
      ctx.record('peak_rss_mib', Math.max(peak, peakRssMiB()), 'MiB')
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
}

/** Hashing: noble (pure JS) against hash-wasm (WASM), on 64-byte inputs and on 1 MiB. */
function recordHashing(ctx: SuiteContext): void {
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
}

/** Protocol 1's figures of the same session, measured alternately with protocol 2's. */
function recordBaseline(ctx: SuiteContext, label: string, rec: Record<string, number>, d: number): void {
  ctx.record(`reconcile_round_trips${label}_v1`, rec.rounds_v1!, 'round trips')
  ctx.record(`reconcile_bytes_per_diff${label}_v1`, rec.bytes_v1! / d, 'B/diff')
  ctx.record(`reconcile_ms${label}_v1`, rec.ms_v1!, 'ms')
  ctx.record(`reconcile_bytes_v2_over_v1${label}`, rec.bytes! / rec.bytes_v1!, 'ratio')
  ctx.record(`reconcile_ms_v2_over_v1${label}`, rec.ms! / rec.ms_v1!, 'ratio')
}

const phaseAt = process.argv.indexOf('--phase')
if (phaseAt >= 0) {
  const [phase, dir, n, batchSize] = process.argv.slice(phaseAt + 1) as [Phase, string, string, string]
  console.log(JSON.stringify(await child(phase, dir, Number(n), Number(batchSize))))
  if (process.connected) process.disconnect() // a two-process side: let it exit
} else {
  await suite()
}
