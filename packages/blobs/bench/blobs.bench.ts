/**
 * Blobs over TCP + noise + yamux on loopback; the serving side in a process of its own.
 * - blob_put_efficiency: `put` of a blob over hash-wasm BLAKE3's throughput on the same bytes
 *   (alternate rounds, best of three each).
 * - blob_fetch_efficiency: a lazy read of that blob from the serving process over a plain libp2p
 *   stream's throughput between the same two nodes, measured just before and just after.
 * - range_first_byte_ms: one chunk in the middle of the big blob, not held, manifest not held
 *   either (cold) and with the manifest held (warm).
 * - blob_fetch_peak_rss_mib, blob_serve_peak_rss_mib: peak RSS (each process's own VmHWM, see
 *   peer.ts) of the case, a fresh fetching process reading the big blob from a fresh
 *   serving process that serves nothing else (as rss-probe.ts runs it); both blobs are put before
 *   by a process of their own (blob_put_peak_rss_mib). `*_peak_{heap_used,external,array_buffers}_mib`:
 *   where those peaks come from.
 * - blob_{fetch,serve}_peak_rss_mib_after_reference: the same read, served by the process that
 *   served the efficiency phase before it (both plain-stream references, the small blob, the
 *   ranges): what the two figures above were until session 11's second round. The plain stream
 *   (sync's framing, not blob code) took that process ~35 MiB higher before the blob read began.
 * - blob_fetch_big_mib_per_s, blob_fetch_big_cpu_s_per_gib, blob_serve_cpu_s: that read after the
 *   reference (unchanged since session 10): the fetching process's rate and CPU seconds (user +
 *   system, all threads) per GiB, the serving process's CPU for everything it served.
 * - storage_*: chunk bytes as LMDB values vs files named by hash (the store's choice), written
 *   then read back in this process: MiB/s and the RSS each read-back adds.
 * `--quick`: 16 MiB and 64 MiB instead of 256 MiB and 1 GiB.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { blobs, openBlobStore, parseBlobId } from '@provsync/blobs'
import { createBLAKE3 } from 'hash-wasm'
import { createLibp2p, type Libp2p } from 'libp2p'
import { runSuite } from '../../../bench/lib.js'
import { benchNodeOptions, PLAIN_PROTOCOL } from './common.js'
import { probeBytes } from './probe-bytes.js'
import { compareStorage } from './storage.js'

const MiB = 1024 * 1024
const work = mkdtempSync(join(tmpdir(), 'provsync-blobs-bench-'))

async function blake3Once(bytes: Uint8Array): Promise<number> {
  const hasher = await createBLAKE3()
  const start = performance.now()
  hasher.init()
  for (let o = 0; o < bytes.byteLength; o += 256 * 1024) hasher.update(bytes.subarray(o, o + 256 * 1024))
  hasher.digest('binary')
  return bytes.byteLength / MiB / ((performance.now() - start) / 1000)
}

async function putOnce(bytes: Uint8Array, round: number): Promise<number> {
  const dir = join(work, `put-${round}`)
  const store = await openBlobStore({ path: dir, noSync: true })
  const start = performance.now()
  await store.put(bytes)
  const rate = bytes.byteLength / MiB / ((performance.now() - start) / 1000)
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  return rate
}

/** Hashing and `put` in alternate rounds, best of three each, so both see the same machine. */
async function putAndHash(bytes: Uint8Array): Promise<{ hash: number; put: number }> {
  let hash = 0
  let put = 0
  for (let round = 0; round < 3; round++) {
    hash = Math.max(hash, await blake3Once(bytes))
    put = Math.max(put, await putOnce(bytes, round))
  }
  return { hash, put }
}

/**
 * A bench peer process; resolves with the first line it prints (JSON). It runs under Node's own
 * type stripping, not tsx: tsx's loader alone added ~12-30 MiB to each side's peak RSS, which a
 * node run from the built package never pays (measured 2026-12-06: 144 MiB RSS at start under
 * tsx before any libp2p code ran).
 */
function startPeer(args: string[]): { child: ChildProcess; lines: AsyncIterator<string> } {
  const peer = fileURLToPath(new URL('./peer.ts', import.meta.url))
  // `BLOBS_BENCH_SERVE_NODE_ARGS` (space-separated, unset in the recorded runs): `node` options of
  // the serving process only, e.g. `--max-semi-space-size=1` (see README, "Serving RSS").
  const serveArgs = args[0] === 'serve' ? (process.env.BLOBS_BENCH_SERVE_NODE_ARGS ?? '').split(' ') : []
  const nodeArgs = [...serveArgs.filter(Boolean), '--disable-warning=ExperimentalWarning']
  const child = spawn(process.execPath, [...nodeArgs, peer, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  return { child, lines }
}

/** Asks a peer to exit and waits for it; kills it if it does not go within 10 s. */
async function stopPeer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.stdin!.write('exit\n')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

async function nextJson<T>(lines: AsyncIterator<string>): Promise<T> {
  const { value, done } = await lines.next()
  if (done === true) throw new Error('bench peer ended without an answer')
  return JSON.parse(value) as T
}

async function plainMiBs(node: Libp2p, addr: string, bytes: number): Promise<number> {
  const stream = await node.dialProtocol(multiaddr(addr), PLAIN_PROTOCOL)
  const request = new Uint8Array(8)
  new DataView(request.buffer).setBigUint64(0, BigInt(bytes))
  const start = performance.now()
  stream.send(request) // a framed reader here would pause the stream it never drains
  let received = 0
  for await (const data of stream) received += data.byteLength
  return received / MiB / ((performance.now() - start) / 1000)
}

/** Peaks of `process.memoryUsage()` a bench peer sampled (MiB). */
interface Peaks {
  heapUsed: number
  external: number
  arrayBuffers: number
}

/** Where a side's peak RSS comes from: V8 heap, external memory, array buffers (their peaks). */
function recordPeaks(
  ctx: { record(name: string, value: number, unit: string): void },
  side: string,
  p: Peaks,
) {
  ctx.record(`${side}_peak_heap_used_mib`, p.heapUsed, 'MiB')
  ctx.record(`${side}_peak_external_mib`, p.external, 'MiB')
  ctx.record(`${side}_peak_array_buffers_mib`, p.arrayBuffers, 'MiB')
}

/**
 * `BLOBS_BENCH_PHASES=1`: the serving process's peak RSS (VmHWM) and peaks after each phase, on
 * stderr: which transfer sets `blob_serve_peak_rss_mib` (the recorded figures do not change).
 */
async function servePhase(server: { child: ChildProcess; lines: AsyncIterator<string> }, phase: string) {
  if (process.env.BLOBS_BENCH_PHASES !== '1') return
  server.child.stdin!.write('rss\n')
  const r = await nextJson<{ rssMiB: number; peaks: Peaks }>(server.lines)
  process.stderr.write(`serve phase ${phase}: hwm ${r.rssMiB.toFixed(1)} MiB ${JSON.stringify(r.peaks)}\n`)
}

async function clientNode(name: string) {
  const store = await openBlobStore({ path: join(work, name), noSync: true, budgetBytes: 4 * 1024 * MiB })
  const node = await createLibp2p({
    ...(await benchNodeOptions()),
    services: { blobs: blobs({ store, networkId: 'bench', trust: [] }) },
  })
  return { store, node }
}

type Ctx = Parameters<Parameters<typeof runSuite>[1]>[0]
type Peer = ReturnType<typeof startPeer>
interface BigRead {
  bytes: number
  seconds: number
  rssMiB: number
  peaks: Peaks
  cpu: number
}
interface Served {
  rssMiB: number
  peaks: Peaks
  cpu: number
}

/** A fresh fetching process reads the big blob from `addr`; then the serving process's peaks. */
async function bigRead(server: Peer, addr: string, id: string, size: number, dir: string) {
  const fetcher = startPeer(['fetch', join(work, dir), addr, id])
  const read = await nextJson<BigRead>(fetcher.lines)
  if (read.bytes !== size) throw new Error(`fetch child read ${read.bytes} of ${size} bytes`)
  server.child.stdin!.write('rss\n')
  return { read, served: await nextJson<Served>(server.lines) }
}

/**
 * The efficiency phase: plain stream, the small blob read, plain stream again (the baseline of
 * blob_fetch_efficiency: same run, same two nodes), the ranges, then the big read by a fresh
 * fetching process from this same serving process (the `_after_reference` figures).
 */
async function efficiencyPhase(ctx: Ctx, server: Peer, ids: string[], smallMiB: number) {
  const { addr } = await nextJson<{ addr: string }>(server.lines)
  const client = await clientNode('client')
  const connection = await client.node.dial(multiaddr(addr))
  await servePhase(server, 'start')
  const plainBefore = await plainMiBs(client.node, addr, smallMiB * MiB)
  await servePhase(server, 'plain1')
  let start = performance.now()
  let read = 0
  for await (const piece of client.node.services.blobs.read(parseBlobId(ids[0]!), {
    from: [connection.remotePeer],
  }))
    read += piece.byteLength
  const fetched = read / MiB / ((performance.now() - start) / 1000)
  await servePhase(server, 'read')
  // The baseline is measured on both sides of the read and averaged: the machine is shared.
  const plain = (plainBefore + (await plainMiBs(client.node, addr, smallMiB * MiB))) / 2
  await servePhase(server, 'plain2')
  ctx.record('plain_stream_mib_per_s', plain, 'MiB/s')
  ctx.record('blob_fetch_mib_per_s', fetched, 'MiB/s')
  ctx.record('blob_fetch_efficiency', fetched / plain, 'ratio')

  const big = parseBlobId(ids[1]!)
  start = performance.now()
  const m = await client.node.services.blobs.manifest(big, { from: [connection.remotePeer] })
  const mid = Math.floor(m.chunkCount / 2)
  await client.node.services.blobs.range(big, mid, 1)
  ctx.record('range_first_byte_ms', performance.now() - start, 'ms')
  start = performance.now()
  await client.node.services.blobs.range(big, mid + 7, 1)
  ctx.record('range_first_byte_warm_manifest_ms', performance.now() - start, 'ms')
  await servePhase(server, 'range')
  await client.node.stop()
  await client.store.close()

  const { read: result, served } = await bigRead(server, addr, ids[1]!, m.size, 'fetcher-after-reference')
  ctx.record('blob_fetch_big_mib_per_s', result.bytes / MiB / result.seconds, 'MiB/s')
  ctx.record('blob_fetch_peak_rss_mib_after_reference', result.rssMiB, 'MiB')
  // CPU seconds (all threads) per GiB read: the cost per byte, less bound to the load than a rate.
  ctx.record('blob_fetch_big_cpu_s_per_gib', result.cpu / (result.bytes / 1024 ** 3), 's')
  ctx.record('blob_serve_peak_rss_mib_after_reference', served.rssMiB, 'MiB')
  // The serving process's CPU for everything it served (both reads, two plain streams) and its start.
  ctx.record('blob_serve_cpu_s', served.cpu, 's')
  return m.size
}

/**
 * The case: a fresh serving process that serves only the big read, by a fresh fetching
 * process (no plain stream, no other read before it), as `rss-probe.ts` runs it.
 */
async function bigReadAlone(ctx: Ctx, ids: string[], size: number) {
  const server = startPeer(['serve', join(work, 'server')])
  try {
    const { addr } = await nextJson<{ addr: string }>(server.lines)
    await servePhase(server, 'fresh-start')
    const { read, served } = await bigRead(server, addr, ids[1]!, size, 'fetcher-alone')
    ctx.record('blob_fetch_peak_rss_mib', read.rssMiB, 'MiB')
    recordPeaks(ctx, 'blob_fetch', read.peaks)
    ctx.record('blob_serve_peak_rss_mib', served.rssMiB, 'MiB')
    recordPeaks(ctx, 'blob_serve', served.peaks)
  } finally {
    await stopPeer(server.child)
  }
}

await runSuite('blobs', async (ctx) => {
  const smallMiB = ctx.quick ? 16 : 256
  const bigMiB = ctx.quick ? 64 : 1024
  const bytes = probeBytes(smallMiB * MiB)
  const { hash, put } = await putAndHash(bytes)
  ctx.record('blake3_mib_per_s', hash, 'MiB/s')
  ctx.record('blob_put_mib_per_s', put, 'MiB/s')
  ctx.record('blob_put_efficiency', put / hash, 'ratio')

  const putter = startPeer(['put', join(work, 'server'), String(smallMiB), String(bigMiB)])
  const { ids, rssMiB: putRss } = await nextJson<{ ids: string[]; rssMiB: number }>(putter.lines)
  await stopPeer(putter.child)
  ctx.record('blob_put_peak_rss_mib', putRss, 'MiB')
  const server = startPeer(['serve', join(work, 'server')])
  let size: number
  try {
    size = await efficiencyPhase(ctx, server, ids, smallMiB)
  } finally {
    await stopPeer(server.child)
  }
  await bigReadAlone(ctx, ids, size)
  const storage = await compareStorage(join(work, 'storage'), ctx.quick ? 64 : 256)
  for (const [name, value, unit] of storage) ctx.record(name, value, unit)
})
rmSync(work, { recursive: true, force: true })
process.exit(0)
