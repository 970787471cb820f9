/**
 * The read flood of issue #17, as a soak figure: a target node in its own process
 * (`flood-target.ts`), an attacker node in this one, real libp2p over TCP on 127.0.0.1. Each round
 * the attacker (always the same identity) opens `streams` fetch streams, sends hello, then
 * `requests` fetch requests of 1,024 keys each (about 10 MB in all) and never reads an answer. The
 * target's VmRSS is sampled every 100 ms; the figure is the highest sample minus the one taken
 * before the first round.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { fromHex, toHex } from '@provsync/crdt'
import { FETCH_PROTOCOL } from '@provsync/sync'
import { createLibp2p, type Libp2p } from 'libp2p'
import { encodeFrame, framedStream } from '../src/framing.js'
import { decodeMessage, encodeMessage } from '../src/wire/codec.js'

/** The attacker's receive window per stream: yamux's floor, so the target's answers stall at once. */
const ATTACKER_WINDOW_BYTES = 256 * 1024
const NETWORK = 'provsync-soak'

export interface ReadFloodPlan {
  rounds: number
  streams: number
  requests: number
  /** How long a round waits for the target to end its streams before the next round. */
  roundMs: number
}

export interface ReadFloodRound {
  round: number
  /** Streams the target accepted (hello answered) in this round; 0 once the attacker is cut off. */
  accepted: number
  bytesSent: number
  maxRssMiB: number
}

export interface ReadFloodResult {
  baselineRssMiB: number
  maxRssMiB: number
  gainMiB: number
  rounds: ReadFloodRound[]
  /** The round in which the target blocked the attacker (1-based), undefined if it never did. */
  blockedInRound?: number
  blockedAfterMs?: number
  offences: Record<string, number>
}

interface Target {
  child: ChildProcess
  ready: { peerId: string; addr: string; trustHash: string; keys: string[] }
  events: Array<{ at: number; offence?: string; blocked?: boolean }>
}

async function startTarget(seed: Uint8Array): Promise<Target> {
  const script = fileURLToPath(new URL('./flood-target.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, toHex(seed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const events: Target['events'] = []
  const lines = createInterface({ input: child.stdout! })
  const ready = await new Promise<Target['ready']>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`flood target exited with ${code} before it was ready`)))
    lines.on('line', (line) => {
      const parsed = JSON.parse(line)
      if (parsed.ready === true) resolve(parsed)
      else if (parsed.rss !== undefined) console.error(`    target ${line}`)
      else events.push(parsed)
    })
  })
  return { child, ready, events }
}

function rssMiB(pid: number): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)
  return match === null ? 0 : Number(match[1]) / 1024
}

async function attacker(): Promise<Libp2p> {
  return createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [
      yamux({
        streamOptions: {
          initialStreamWindowSize: ATTACKER_WINDOW_BYTES,
          maxStreamWindowSize: ATTACKER_WINDOW_BYTES,
        },
      }),
    ],
    services: { identify: identify() },
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function ended(stream: Stream): Promise<void> {
  if (stream.status !== 'open') return Promise.resolve()
  return new Promise((resolve) => stream.addEventListener('close', () => resolve(), { once: true }))
}

/** One flooding stream: hello, then `requests` fetch frames, nothing read after the welcome. */
async function floodStream(h: Libp2p, target: Target, plan: ReadFloodPlan, request: Uint8Array) {
  const peer = peerIdFromString(target.ready.peerId)
  const stream = await h.dialProtocol(peer, FETCH_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
  const framed = framedStream(stream)
  await framed.write(encodeMessage(helloOf(target)))
  const welcome = await framed.read({ signal: AbortSignal.timeout(5_000) })
  if (welcome === undefined) return 0
  stream.pause()
  let sent = 0
  for (let i = 0; i < plan.requests && stream.status === 'open'; i++) {
    stream.send(request)
    sent += request.byteLength
  }
  await Promise.race([ended(stream), sleep(plan.roundMs)])
  return sent
}

/**
 * An honest peer (its own identity) fetches the flood's keys and reads every answer, `times` times:
 * the target's code paths, buffers and pages are warm before the baseline, as in a node that has
 * been serving for a while, so the figure is what the flood adds.
 */
async function warmUp(target: Target, request: Uint8Array, times: number): Promise<void> {
  const h = await attacker()
  try {
    await h.dial(multiaddr(target.ready.addr), { signal: AbortSignal.timeout(5_000) })
    for (let i = 0; i < times; i++) {
      const peer = peerIdFromString(target.ready.peerId)
      const stream = await h.dialProtocol(peer, FETCH_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
      const framed = framedStream(stream)
      await framed.write(encodeMessage(helloOf(target)))
      await framed.read({ signal: AbortSignal.timeout(5_000) })
      stream.send(request)
      for (;;) {
        const frame = await framed.read({ signal: AbortSignal.timeout(10_000) })
        if (frame === undefined) throw new Error('the flood target ended a warm-up fetch early')
        const message = decodeMessage(frame)
        if (message.type === 'records' && message.last) break
      }
      await framed.write(encodeMessage({ type: 'end' }))
      await framed.read({ signal: AbortSignal.timeout(5_000) })
      await stream.close()
    }
  } finally {
    await h.stop()
  }
}

const helloOf = (target: Target): Parameters<typeof encodeMessage>[0] => ({
  type: 'hello',
  networkId: NETWORK,
  trustHash: fromHex(target.ready.trustHash),
  version: 1,
})

async function round(h: Libp2p, target: Target, plan: ReadFloodPlan, request: Uint8Array) {
  await h.dial(multiaddr(target.ready.addr), { signal: AbortSignal.timeout(3_000) }).catch(() => undefined)
  const results = await Promise.allSettled(
    Array.from({ length: plan.streams }, () => floodStream(h, target, plan, request)),
  )
  const sent = results.map((r) => (r.status === 'fulfilled' ? r.value : 0))
  return { accepted: sent.filter((s) => s > 0).length, bytesSent: sent.reduce((a, b) => a + b, 0) }
}

export async function runReadFlood(plan: ReadFloodPlan): Promise<ReadFloodResult> {
  const seed = new Uint8Array(randomBytes(32))
  const target = await startTarget(seed)
  const pid = target.child.pid!
  const keys = target.ready.keys.map(fromHex)
  const request = encodeFrame(encodeMessage({ type: 'fetch', store: 'assertions', keys }))
  const h = await attacker()
  try {
    await warmUp(target, request, 3)
    await sleep(2_000)
    const baselineRssMiB = rssMiB(pid)
    let maxRssMiB = baselineRssMiB
    let roundMax = 0
    const sampler = setInterval(() => {
      const rss = rssMiB(pid)
      maxRssMiB = Math.max(maxRssMiB, rss)
      roundMax = Math.max(roundMax, rss)
    }, 100)
    const rounds: ReadFloodRound[] = []
    const start = Date.now()
    let blockedInRound: number | undefined
    for (let i = 1; i <= plan.rounds; i++) {
      roundMax = rssMiB(pid)
      const r = await round(h, target, plan, request)
      await sleep(500)
      rounds.push({ round: i, ...r, maxRssMiB: Math.round(roundMax * 10) / 10 })
      console.error(`  read flood round ${i}: ${JSON.stringify(rounds.at(-1))}`)
      if (blockedInRound === undefined && target.events.some((e) => e.blocked)) blockedInRound = i
    }
    clearInterval(sampler)
    const blockedAt = target.events.find((e) => e.blocked)?.at
    const offences: Record<string, number> = {}
    for (const e of target.events) if (e.offence) offences[e.offence] = (offences[e.offence] ?? 0) + 1
    return {
      baselineRssMiB: Math.round(baselineRssMiB * 10) / 10,
      maxRssMiB: Math.round(maxRssMiB * 10) / 10,
      gainMiB: Math.round((maxRssMiB - baselineRssMiB) * 10) / 10,
      rounds,
      blockedInRound,
      blockedAfterMs: blockedAt === undefined ? undefined : blockedAt - start,
      offences,
    }
  } finally {
    await h.stop()
    target.child.kill('SIGTERM')
    await new Promise((resolve) => target.child.once('exit', resolve))
  }
}
