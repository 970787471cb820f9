/**
 * One side of the blobs bench, in a process of its own so each side's peak RSS is its own.
 * `put <dir> <MiB...>`: puts one blob per size (generated, never held whole in memory), prints
 * `{ ids, rssMiB }` and exits. `serve <dir>`: serves
 * them and a plain stream (`/provsync-bench/plain/1.0.0`: the client sends a u64 byte count, gets
 * that many bytes), prints `{ addr }`, then answers `rss` and `exit` on stdin.
 * `fetch <dir> <addr> <id>`: reads the blob from that peer and prints `{ bytes, seconds, rssMiB }`;
 * `fetch <dir> <addr> plain:<MiB>` reads that much of the plain stream instead.
 */
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { blobs, openBlobStore, parseBlobId, toHex } from '@provsync/blobs'
import { muxer } from '@provsync/mux'
import { framedStream } from '@provsync/sync/stream'
import { createLibp2p } from 'libp2p'

// This file runs under Node's own type stripping, without tsx (see blobs.bench.ts), which cannot
// resolve './common.js' to common.ts: the node options are common.ts's, repeated here.
const PLAIN_PROTOCOL = '/provsync-bench/plain/1.0.0'
/**
 * provsync's own yamux (`@provsync/mux`), as the bench's in-process client (common.ts) and a
 * provsync node run it: until session 14 this side ran `@chainsafe/libp2p-yamux`, so the serving
 * process spoke another muxer than the fetching one. `BLOBS_PEER_MUXER=chainsafe` (unset in the
 * recorded runs) brings chainsafe's back, to compare.
 */
async function benchNodeOptions() {
  const streamOptions = { maxWriteBufferLength: 4 * 1024 * 1024, ...windowOption() }
  const streamMuxer =
    process.env.BLOBS_PEER_MUXER === 'chainsafe'
      ? (await import('@chainsafe/libp2p-yamux')).yamux({ streamOptions })
      : muxer({ streamOptions })
  return {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [streamMuxer],
  }
}

// Knobs of `rss-probe.ts` (unset in the bench): yamux's stream windows, the serving write buffer, the read-ahead.
function windowOption(): { maxStreamWindowSize?: number; initialStreamWindowSize?: number } {
  const v = process.env.BLOBS_PROBE_YAMUX_WINDOW
  const i = process.env.BLOBS_PROBE_YAMUX_INITIAL_WINDOW
  return {
    ...(v === undefined ? {} : { maxStreamWindowSize: Number(v) }),
    ...(i === undefined ? {} : { initialStreamWindowSize: Number(i) }),
  }
}
const writeBuffer = process.env.BLOBS_PROBE_WRITE_BUFFER
const writeBufferOption = writeBuffer === undefined ? {} : { maxWriteBufferBytes: Number(writeBuffer) }
// `BLOBS_PROBE_IMPORT` (comma-separated modules, unset in the bench): loaded first, e.g.
// `@provsync/sync` to weigh what importing sync's index (not its light entry) costs a blob process.
for (const module of (process.env.BLOBS_PROBE_IMPORT ?? '').split(',').filter(Boolean)) await import(module)
const readAhead = process.env.BLOBS_PROBE_READ_AHEAD
const readAheadOption = readAhead === undefined ? {} : { readAheadChunks: Number(readAhead) }

const MiB = 1024 * 1024
const [role, dir, ...rest] = process.argv.slice(2) as [string, string, ...string[]]

/**
 * Peaks of `process.memoryUsage()` sampled every 100 ms (MiB): where a peak RSS comes from (V8
 * heap, external memory, array buffers) rather than only how high it is.
 */
const peaks = { heapUsed: 0, external: 0, arrayBuffers: 0, rss: 0 }
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  for (const k of Object.keys(peaks) as Array<keyof typeof peaks>) peaks[k] = Math.max(peaks[k], m[k] / MiB)
}, 100)
sampler.unref()
/**
 * This process's own peak RSS (MiB): VmHWM of /proc/self/status. Not `resourceUsage().maxRSS`:
 * Linux keeps that across fork and exec, so a child's figure starts at its parent's RSS at spawn
 * (measured 2026-12-06: a child of a 346 MiB parent reported 303 MiB while its own VmHWM was
 * 43 MiB). The bench's parent holds a 256 MiB blob, which is what the peak RSS figures of every
 * earlier run reported (put and serve peaks identical to the KiB, 284.4 MiB). Elsewhere than
 * Linux, the largest RSS sampled.
 */
function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    if (m !== null) return Number(m[1]) / 1024
  } catch {}
  return Math.max(peaks.rss, process.memoryUsage().rss / MiB)
}
/** CPU time of this process so far (user + system, all threads), s: cost per byte, less load-bound than a rate. */
const cpuSeconds = () => {
  const { user, system } = process.cpuUsage()
  return Math.round((user + system) / 1e4) / 100
}
const rounded = () => Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v)]))

/**
 * Deterministic, incompressible-looking content, generated a MiB at a time. @provsync/testing is
 * imported here only, by the putting process: its index loads @provsync/crdt (+30 MiB RSS,
 * measured session 11), which a serving or fetching blob process never loads.
 */
async function* generated(size: number, seed: number): AsyncGenerator<Uint8Array> {
  const { fillNoiseWords, xorshift32 } = await import('@provsync/testing')
  const next = xorshift32(seed)
  for (let o = 0; o < size; o += MiB) {
    const piece = new Uint8Array(Math.min(MiB, size - o))
    fillNoiseWords(piece, next)
    yield piece
  }
}

/**
 * Puts one generated blob per size, prints `{ ids, rssMiB }` and exits: the put runs in a process
 * of its own, so the serving process's peak RSS is the serving's alone.
 */
async function put(sizesMiB: number[]): Promise<void> {
  const store = await openBlobStore({ path: dir, noSync: true })
  const ids: string[] = []
  for (const [i, mib] of sizesMiB.entries()) {
    ids.push(toHex((await store.put(generated(mib * MiB, 0x9e3779b9 + i))).ref.id))
  }
  await store.close()
  process.stdout.write(`${JSON.stringify({ ids, rssMiB: peakRssMiB() })}\n`)
}

async function serve(): Promise<void> {
  const store = await openBlobStore({ path: dir, noSync: true })
  const node = await createLibp2p({
    ...(await benchNodeOptions()),
    services: {
      blobs: blobs({
        store,
        networkId: 'bench',
        trust: [],
        limits: { bytesPerPeerPerSecond: Infinity },
        ...writeBufferOption,
      }),
    },
  })
  await node.handle(PLAIN_PROTOCOL, async (stream) => {
    const request = await new Promise<Uint8Array>((resolve) => {
      stream.addEventListener('message', (evt) => resolve(evt.data.subarray()), { once: true })
    })
    const total = Number(new DataView(request.buffer, request.byteOffset).getBigUint64(0))
    // Written as sync's bench writes its raw stream: 60,000-byte frames with backpressure.
    const writer = framedStream(stream, { maxFrameBytes: 64 * 1024 })
    const piece = new Uint8Array(60_000)
    for (let sent = 0; sent < total; sent += piece.byteLength) await writer.write(piece)
    await stream.close()
  })
  process.stdout.write(`${JSON.stringify({ addr: node.getMultiaddrs()[0]!.toString() })}\n`)
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'rss')
      process.stdout.write(
        `${JSON.stringify({ rssMiB: peakRssMiB(), peaks: rounded(), cpu: cpuSeconds() })}\n`,
      )
    if (line === 'exit') break
  }
  await node.stop()
  await store.close()
}

/** Reads the plain stream (`bytes` of it) the serving process offers, as blobs.bench.ts's reference does. */
async function readPlain(node: Awaited<ReturnType<typeof createLibp2p>>, addr: string, bytes: number) {
  const stream = await node.dialProtocol(multiaddr(addr), PLAIN_PROTOCOL)
  const request = new Uint8Array(8)
  new DataView(request.buffer).setBigUint64(0, BigInt(bytes))
  stream.send(request)
  let received = 0
  for await (const data of stream) received += data.byteLength
  return received
}

/**
 * Reads the blob `idHex` from `addr`, or with `plain:<MiB>` that many MiB of the plain stream (as
 * cpu-probe.ts compares them). Prints the bytes, seconds, peaks, the process's CPU seconds and
 * `readCpu`, those of the read alone (process start excluded).
 */
async function fetch(addr: string, idHex: string): Promise<void> {
  const store = await openBlobStore({ path: dir, noSync: true, ...readAheadOption })
  const node = await createLibp2p({
    ...(await benchNodeOptions()),
    services: { blobs: blobs({ store, networkId: 'bench', trust: [] }) },
  })
  const connection = await node.dial(multiaddr(addr))
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  let bytes = 0
  if (idHex.startsWith('plain:')) bytes = await readPlain(node, addr, Number(idHex.slice(6)) * MiB)
  else
    for await (const piece of node.services.blobs.read(parseBlobId(idHex), {
      from: [connection.remotePeer],
    })) {
      bytes += piece.byteLength
    }
  const seconds = (performance.now() - started) / 1000
  const { user, system } = process.cpuUsage(cpuBefore)
  const readCpu = Math.round((user + system) / 1e4) / 100
  process.stdout.write(
    `${JSON.stringify({ bytes, seconds, rssMiB: peakRssMiB(), peaks: rounded(), cpu: cpuSeconds(), readCpu })}\n`,
  )
  await node.stop()
  await store.close()
}

if (role === 'put') await put(rest.map(Number))
else if (role === 'serve') await serve()
else await fetch(rest[0]!, rest[1]!)
// stdin and libp2p's timers would otherwise keep the process alive after its work is done.
process.exit(0)
