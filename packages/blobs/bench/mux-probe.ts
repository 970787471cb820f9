/**
 * One stream, N MiB, sender → receiver, over libp2p on TCP loopback with noise (as
 * packages/mux/test/interop.test.ts builds its nodes), with each side's muxer chosen:
 *
 *   npx tsx packages/blobs/bench/mux-probe.ts <MiB> <rounds> [pairs...]
 *
 * a pair is `sender/receiver` with each of `ours` or `cs` (chainsafe's yamux); all four when none.
 * The sender (the listening process) writes 1 MiB `send()`s with backpressure (`onDrain`), as the
 * blobs server writes its chunks; the receiver dials, asks for N MiB and reads. Each side runs in
 * a process of its own and prints its CPU during the transfer, its transport writes (each a noise
 * message or more), the frames it wrote by type, and (sender) the time spent waiting in `onDrain`
 * and how often; `PROBE_TRACE=1` adds the sender's timeline (ms, bytes sent, waits).
 * Session 14's probe for @provsync/mux's sending side (packages/mux/README.md).
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { muxer } from '@provsync/mux'
import { createLibp2p, type Libp2p } from 'libp2p'

const PROTOCOL = '/provsync-probe/mux-send/1.0.0'
const MiB = 1024 * 1024
type Side = 'ours' | 'cs'

async function node(side: Side, listen: boolean): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [side === 'ours' ? muxer() : yamux()],
  })
}

/** Counts each transport write of a muxer (ours and chainsafe's both go through `AbstractStreamMuxer.send`). */
interface WriteCounts {
  writes: number
  bytes: number
  frames: number[]
  partial: number
}
function countWrites(m: { send(data: unknown): boolean }): WriteCounts {
  const counts: WriteCounts = { writes: 0, bytes: 0, frames: [0, 0, 0, 0], partial: 0 }
  const send = m.send.bind(m)
  let pending = 0
  m.send = (data: unknown) => {
    const raw = data as Uint8Array | { byteLength: number; get(i: number): number }
    const list = raw instanceof Uint8Array ? { byteLength: raw.byteLength, get: (i: number) => raw[i]! } : raw
    counts.writes++
    counts.bytes += list.byteLength
    // Walk the frame headers (a data frame's payload may run on into later writes).
    let at = Math.min(pending, list.byteLength)
    pending -= at
    while (at + 12 <= list.byteLength) {
      const type = list.get(at + 1)
      const length =
        ((list.get(at + 8) << 24) |
          (list.get(at + 9) << 16) |
          (list.get(at + 10) << 8) |
          list.get(at + 11)) >>>
        0
      counts.frames[type] = (counts.frames[type] ?? 0) + 1
      const payload = type === 0 ? length : 0
      at += 12 + payload
      if (at > list.byteLength) {
        pending = at - list.byteLength
        counts.partial++
      }
    }
    return send(data)
  }
  return counts
}
type Muxed = { muxer?: { send(data: unknown): boolean } }
/** Each connection's write counts, kept beside it (not written onto libp2p's object). */
const countsOf = new WeakMap<object, WriteCounts>()

const cpu = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

async function sender(side: Side): Promise<void> {
  const n = await node(side, true)
  const trace = process.env.PROBE_TRACE === '1'
  n.addEventListener('connection:open', (evt) => {
    countsOf.set(evt.detail, countWrites((evt.detail as Muxed).muxer!))
  })
  await n.handle(PROTOCOL, async (stream, connection) => {
    const request = await new Promise<Uint8Array>((resolve) => {
      stream.addEventListener('message', (evt) => resolve(evt.data.subarray()), { once: true })
    })
    const total = new DataView(request.buffer, request.byteOffset).getUint32(0) * MiB
    const counts = countsOf.get(connection)!
    const before = { ...counts, frames: [...counts.frames] }
    const cpu0 = cpu()
    const t0 = performance.now()
    const piece = new Uint8Array(MiB).fill(7)
    let waits = 0
    let waitedMs = 0
    const timeline: string[] = []
    for (let sent = 0; sent < total; sent += MiB) {
      if (!stream.send(piece)) {
        const w0 = performance.now()
        waits++
        await stream.onDrain()
        waitedMs += performance.now() - w0
        if (trace)
          timeline.push(`${(w0 - t0).toFixed(1)}+${(performance.now() - w0).toFixed(1)}@${sent / MiB}`)
      }
    }
    await stream.close()
    const frames = counts.frames.map((f, i) => f - before.frames[i]!)
    const out = {
      side: 'sender',
      muxer: side,
      cpuS: cpu() - cpu0,
      ms: performance.now() - t0,
      writes: counts.writes - before.writes,
      frames,
      partialWrites: counts.partial - before.partial,
      waits,
      waitedMs,
      ...(trace ? { timeline: timeline.join(' ') } : {}),
    }
    process.stdout.write(`${JSON.stringify(out)}\n`)
  })
  process.stdout.write(`${JSON.stringify({ addr: n.getMultiaddrs()[0]!.toString() })}\n`)
  for await (const line of createInterface({ input: process.stdin })) if (line === 'exit') break
  await n.stop()
}

async function receiver(side: Side, addr: string, mib: number): Promise<void> {
  const n = await node(side, false)
  const connection = await n.dial(multiaddr(addr))
  const counts = countWrites((connection as unknown as Muxed).muxer!)
  const stream = await connection.newStream(PROTOCOL)
  const before = { ...counts, frames: [...counts.frames] }
  const cpu0 = cpu()
  const t0 = performance.now()
  const request = new Uint8Array(4)
  new DataView(request.buffer).setUint32(0, mib)
  stream.send(request)
  let received = 0
  let messages = 0
  for await (const data of stream) {
    received += data.byteLength
    messages++
  }
  const ms = performance.now() - t0
  const out = {
    side: 'receiver',
    muxer: side,
    cpuS: cpu() - cpu0,
    ms,
    mibPerS: received / MiB / (ms / 1000),
    received,
    messages,
    writes: counts.writes - before.writes,
    frames: counts.frames.map((f, i) => f - before.frames[i]!),
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
  await n.stop()
}

/** Runs one sender/receiver pair in two processes; returns both reports. */
async function pair(send: Side, recv: Side, mib: number): Promise<Record<string, unknown>[]> {
  const self = fileURLToPath(import.meta.url)
  const tsx = ['--import', 'tsx']
  const serving = spawn(process.execPath, [...tsx, self, 'send', send], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: serving.stdout! })[Symbol.asyncIterator]()
  const { addr } = JSON.parse((await lines.next()).value as string) as { addr: string }
  const fetching = spawn(process.execPath, [...tsx, self, 'recv', recv, addr, String(mib)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let recvLine = ''
  for await (const line of createInterface({ input: fetching.stdout! })) recvLine = line
  const sendLine = (await lines.next()).value as string
  serving.stdin!.end('exit\n')
  await new Promise((resolve) => serving.on('exit', resolve))
  return [JSON.parse(sendLine), JSON.parse(recvLine)]
}

const [role, ...args] = process.argv.slice(2)
if (role === 'send') await sender(args[0] as Side)
else if (role === 'recv') await receiver(args[0] as Side, args[1]!, Number(args[2]))
else {
  const mib = Number(role ?? 256)
  const rounds = Number(args[0] ?? 2)
  const pairs = args.length > 1 ? args.slice(1) : ['ours/ours', 'cs/cs', 'ours/cs', 'cs/ours']
  for (let r = 0; r < rounds; r++) {
    for (const p of pairs) {
      const [s, v] = p.split('/') as [Side, Side]
      const [sent, got] = await pair(s, v, mib)
      const gib = mib / 1024
      const fmt = (x: unknown) => JSON.stringify(x)
      console.log(
        `${p.padEnd(9)} ${(got!.mibPerS as number).toFixed(1).padStart(6)} MiB/s  CPU s/GiB send ${((sent!.cpuS as number) / gib).toFixed(2)} recv ${((got!.cpuS as number) / gib).toFixed(2)}` +
          `  send writes ${sent!.writes} frames ${fmt(sent!.frames)} partial ${sent!.partialWrites} waits ${sent!.waits} (${(sent!.waitedMs as number).toFixed(0)} ms)` +
          `  recv writes ${got!.writes} frames ${fmt(got!.frames)} messages ${got!.messages}` +
          (sent!.timeline === undefined ? '' : `\n  ${sent!.timeline}`),
      )
    }
  }
}
