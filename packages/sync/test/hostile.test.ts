import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Stream } from '@libp2p/interface'
import { type NodeState, openNodeState } from '@provsync/crdt'
import { createResponder } from '@provsync/merkle'
import {
  FETCH_PROTOCOL,
  type OffenceReason,
  type ProvsyncNode,
  RECONCILE_PROTOCOL,
  type SyncReport,
  trustBundleHash,
} from '@provsync/sync'
import { loopbackTransport, sleep } from '@provsync/testing'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { headsTopic } from '../src/constants.js'
import { encodeFrame, encodeLength, type FramedStream, framedStream } from '../src/framing.js'
import { decodeMessage, encodeMessage, type Message } from '../src/wire/codec.js'
import { coordinate, generateSigner, NETWORK, rootsEqual, startNode, tempDirs, waitFor } from './helpers.js'

const dirs = tempDirs()
const operator = generateSigner()
const trust = [operator.publicKey]
const trustHash = trustBundleHash(trust)
let honest: ProvsyncNode
let peer: ProvsyncNode
const hostiles: Array<Libp2p<Record<string, unknown>>> = []
const hostileStates: NodeState[] = []
let nextCoordinate = 1000

/** The attackers' receive window per stream: yamux's floor, never auto-tuned upwards. */
const ATTACKER_WINDOW_BYTES = 256 * 1024

/** A plain libp2p node with no provsync service: it speaks the protocol by hand, badly. */
async function rawNode(): Promise<Libp2p<Record<string, unknown>>> {
  const window = {
    initialStreamWindowSize: ATTACKER_WINDOW_BYTES,
    maxStreamWindowSize: ATTACKER_WINDOW_BYTES,
  }
  const node = await createLibp2p({
    ...(await loopbackTransport({ yamux: { streamOptions: window } })),
    services: { identify: identify(), pubsub: gossipsub() },
  })
  hostiles.push(node as unknown as Libp2p<Record<string, unknown>>)
  return node as unknown as Libp2p<Record<string, unknown>>
}

/**
 * Dials the honest node until a connection stands on both sides. libp2p accepts at most 5 inbound
 * connections per second from one host and every attacker here is 127.0.0.1, so a dial made right
 * after the previous test's may be refused; an attack must start from a live connection. An
 * attacker that serves provsync may be caught by the honest node's own syncs (on connect, on
 * anti-entropy) before the test attacks; it is then blocked and stays out.
 */
async function connect(h: Libp2p<Record<string, unknown>>): Promise<void> {
  const connected = (): boolean =>
    honest.libp2p.getConnections(h.peerId).length > 0 && h.getConnections(honest.peerId).length > 0
  const deadline = Date.now() + 20_000
  while (!connected() && !honest.sync.isBlocked(h.peerId)) {
    if (Date.now() > deadline) throw new Error('timed out connecting the attacker to the honest node')
    await h.dial(honest.multiaddrs()[0]!, { signal: AbortSignal.timeout(5_000) }).catch(() => {})
    await sleep(100)
  }
}

async function openStream(h: Libp2p<Record<string, unknown>>, protocol: string): Promise<Stream> {
  return h.dialProtocol(honest.peerId, protocol, { signal: AbortSignal.timeout(10_000) })
}

const send = (framed: FramedStream, message: Message): Promise<void> => framed.write(encodeMessage(message))
const hello = (networkId = NETWORK): Message => ({ type: 'hello', networkId, trustHash, version: 1 })

/** Resolves once the stream is closed or reset, whichever side ended it. */
function ended(stream: Stream): Promise<void> {
  if (stream.status !== 'open') return Promise.resolve()
  return new Promise((resolve) => stream.addEventListener('close', () => resolve(), { once: true }))
}

async function offences(h: Libp2p<Record<string, unknown>>, reason: OffenceReason): Promise<number> {
  return honest.sync.offences(h.peerId)[reason]
}

/** The honest node's reports of sessions in which it pulled records from `h`. */
function pulledFrom(h: Libp2p<Record<string, unknown>>): SyncReport[] {
  const reports: SyncReport[] = []
  honest.sync.addEventListener('sync:finished', (evt) => {
    if (evt.detail.peer.equals(h.peerId) && evt.detail.pulled > 0) reports.push(evt.detail)
  })
  return reports
}

/** The offences the honest node records against `h` from now on, with their details. */
function watchOffences(h: Libp2p<Record<string, unknown>>): Array<{ reason: OffenceReason; detail: string }> {
  const seen: Array<{ reason: OffenceReason; detail: string }> = []
  honest.sync.addEventListener('peer:offence', (evt) => {
    if (evt.detail.peer.equals(h.peerId)) seen.push({ reason: evt.detail.reason, detail: evt.detail.detail })
  })
  return seen
}

/**
 * Connects the attacker, then repeats an attack until the honest node blocks it and drops its
 * connections. Each attack must provoke one offence by itself; the threshold is two.
 */
async function untilCutOff(h: Libp2p<Record<string, unknown>>, attack: () => Promise<void>): Promise<void> {
  await connect(h)
  for (let i = 0; i < 4 && !honest.sync.isBlocked(h.peerId); i++) {
    // The attack's own failure is expected (the honest node resets its streams); the verdict is below.
    await attack().catch(() => {})
  }
  await waitFor(() => honest.sync.isBlocked(h.peerId), 'the attacker to be blocked', 20_000)
  await waitFor(
    () => honest.libp2p.getConnections(h.peerId).length === 0,
    'the attacker to be disconnected',
    20_000,
  )
  // The connection gater keeps it out: a redial never yields a live connection on the honest side.
  await h.dial(honest.multiaddrs()[0]!, { signal: AbortSignal.timeout(3_000) }).catch(() => {})
  await sleep(100)
  expect(honest.libp2p.getConnections(h.peerId)).toHaveLength(0)
}

/**
 * A hostile node that holds a real state (so its tree reconciles) but answers fetches with
 * whatever `serve` makes of the genuine records.
 */
async function lyingResponder(
  serve: (records: Uint8Array[]) => Uint8Array[],
  options: { wallClock?: () => number; records?: number } = {},
): Promise<Libp2p<Record<string, unknown>>> {
  const h = await rawNode()
  const state = await openNodeState({
    dataDir: await dirs.make(),
    networkId: NETWORK,
    trust,
    verifyThreads: 0,
    ...(options.wallClock !== undefined ? { wallClock: options.wallClock } : {}),
  })
  hostileStates.push(state)
  for (let i = 0; i < (options.records ?? 20); i++) state.advanceVerified(coordinate(nextCoordinate++), 1n)
  await h.handle(RECONCILE_PROTOCOL, async (stream) => {
    const framed = framedStream(stream)
    const responders = new Map<string, ReturnType<typeof createResponder>>()
    for (let frame = await framed.read(); frame !== undefined; frame = await framed.read()) {
      const m = decodeMessage(frame)
      if (m.type === 'hello') await send(framed, { type: 'welcome', version: 1 })
      if (m.type === 'reconcile') {
        const store = m.store as 'assertions'
        const responder = responders.get(store) ?? createResponder(state.tree(store))
        responders.set(store, responder)
        await send(framed, { type: 'reconcile', store, payload: responder.respond(m.payload) })
      }
      if (m.type === 'offer' && m.last)
        await send(framed, { type: 'pulled', store: m.store, applied: 0, refused: 0 })
      if (m.type === 'end') await send(framed, { type: 'end' })
    }
    await stream.close()
  })
  await h.handle(FETCH_PROTOCOL, async (stream) => {
    const framed = framedStream(stream)
    for (let frame = await framed.read(); frame !== undefined; frame = await framed.read()) {
      const m = decodeMessage(frame)
      if (m.type === 'hello') await send(framed, { type: 'welcome', version: 1 })
      if (m.type === 'fetch') {
        const genuine = state.getRecords(m.store as 'assertions', m.keys).filter((r) => r !== undefined)
        await send(framed, { type: 'records', records: serve(genuine), last: true, missing: 0 })
      }
      if (m.type === 'end') await send(framed, { type: 'end' })
    }
    await stream.close()
  })
  return h
}

const SESSIONS_PER_PEER = 4
const OFFENCE_THRESHOLD = 2

/**
 * Syncs with a lying responder until it is cut off: everything pulled from it is refused for
 * `refusal`, counted as invalid records, and none of it is stored.
 */
async function expectEveryPullRefused(h: Libp2p<Record<string, unknown>>, refusal: string): Promise<void> {
  const before = honest.state.tree('assertions').count()
  const reports = pulledFrom(h)
  await untilCutOff(h, async () => {
    await honest.sync.syncWith(h.peerId)
  })
  expect(reports.length).toBeGreaterThanOrEqual(1)
  for (const report of reports) {
    expect(report.applied).toBe(0)
    expect(report.refusedByReason[refusal]).toBe(report.pulled)
  }
  expect(await offences(h, 'invalid-record')).toBeGreaterThanOrEqual(OFFENCE_THRESHOLD)
  expect(honest.state.tree('assertions').count()).toBe(before)
}

beforeAll(async () => {
  const sync = {
    budgets: { offenceThreshold: OFFENCE_THRESHOLD, blockMs: 60_000, maxSessionsPerPeer: SESSIONS_PER_PEER },
    // A stalled write fails fast so the slow-reader attack is cut off within seconds; an idle read
    // waits long, so sessions held open by the flood test outlive it and only the attack is judged.
    limits: { requestTimeoutMs: 2_000, idleTimeoutMs: 30_000 },
  }
  honest = await startNode({ dataDir: await dirs.make(), trust, sync })
  peer = await startNode({ dataDir: await dirs.make(), trust, sync })
  await peer.dial(honest.multiaddrs()[0]!)
  for (let i = 0; i < 600; i++) honest.state.advanceVerified(coordinate(i), 1n)
  await waitFor(() => rootsEqual(honest.state, peer.state), 'the honest pair to converge', 30_000)
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(hostiles.map((h) => h.stop()))
  await Promise.allSettled([honest?.stop(), peer?.stop(), ...hostileStates.map((s) => s.close())])
  await dirs.cleanup()
})

describe('a hostile peer', () => {
  it('sending malformed frames is refused, counted and cut off', async () => {
    const h = await rawNode()
    await untilCutOff(h, async () => {
      const stream = await openStream(h, RECONCILE_PROTOCOL)
      stream.send(encodeFrame(Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2)))
      await framedStream(stream).read({ signal: AbortSignal.timeout(2_000) })
    })
    expect(await offences(h, 'malformed-frame')).toBeGreaterThanOrEqual(1)
  })

  it('sending an oversized frame is refused from its length prefix', async () => {
    const h = await rawNode()
    await untilCutOff(h, async () => {
      const stream = await openStream(h, FETCH_PROTOCOL)
      stream.send(encodeLength(16 * 1024 * 1024))
      stream.send(new Uint8Array(1000))
      await framedStream(stream).read({ signal: AbortSignal.timeout(2_000) })
    })
    expect(await offences(h, 'oversized-frame')).toBeGreaterThanOrEqual(1)
  })

  it('claiming another network id gets a typed refusal', async () => {
    const h = await rawNode()
    const refusals: string[] = []
    await untilCutOff(h, async () => {
      const framed = framedStream(await openStream(h, RECONCILE_PROTOCOL))
      await send(framed, hello('another-network'))
      const answer = await framed.read({ signal: AbortSignal.timeout(2_000) })
      if (answer !== undefined) {
        const m = decodeMessage(answer)
        if (m.type === 'refusal') refusals.push(m.code)
      }
    })
    expect(refusals[0]).toBe('wrong-network')
    expect(await offences(h, 'wrong-network')).toBeGreaterThanOrEqual(1)
  })

  it('a stream flood is refused beyond the per-peer session budget', async () => {
    const h = await rawNode()
    await connect(h)
    // Fill the budget with sessions the honest node admitted and keeps open (it waits for a
    // reconcile request), so every stream of the flood is one beyond the budget.
    const held: Stream[] = []
    for (let i = 0; i < SESSIONS_PER_PEER; i++) {
      const stream = await openStream(h, RECONCILE_PROTOCOL)
      const framed = framedStream(stream)
      await send(framed, hello())
      const answer = await framed.read({ signal: AbortSignal.timeout(10_000) })
      expect(answer !== undefined && decodeMessage(answer).type).toBe('welcome')
      held.push(stream)
    }
    const seen = watchOffences(h)
    let welcomed = 0
    let refused = 0
    await untilCutOff(h, async () => {
      // Three times the budget at once, under the registrar's 32 streams per protocol, so it is the
      // service that says no.
      await Promise.allSettled(
        Array.from({ length: 3 * SESSIONS_PER_PEER }, async () => {
          const answer = await openStream(h, RECONCILE_PROTOCOL)
            .then(async (stream) => {
              const framed = framedStream(stream)
              await send(framed, hello())
              return framed.read({ signal: AbortSignal.timeout(10_000) })
            })
            .catch(() => undefined)
          if (answer !== undefined && decodeMessage(answer).type === 'welcome') welcomed++
          else refused++
        }),
      )
    })
    expect(welcomed).toBe(0)
    expect(refused).toBeGreaterThanOrEqual(3 * SESSIONS_PER_PEER)
    expect(seen.length).toBeGreaterThanOrEqual(OFFENCE_THRESHOLD)
    expect(seen.every((o) => o.reason === 'too-many-sessions')).toBe(true)
    expect(held.every((stream) => stream.status !== 'open')).toBe(true)
  })

  it('a slow reader times out instead of filling the write buffer', async () => {
    const h = await rawNode()
    const keys = [...honest.state.tree('assertions').leaves({ limit: 1024 })].map((l) => l.key)
    const answerBytes = honest.state
      .getRecords('assertions', keys)
      .reduce((sum, record) => sum + (record?.byteLength ?? 0), 0)
    // Ask for far more than the attacker's window lets through, so the honest writer must stall.
    const requests = Math.ceil((8 * ATTACKER_WINDOW_BYTES) / answerBytes)
    const seen = watchOffences(h)
    await untilCutOff(h, async () => {
      const stream = await openStream(h, FETCH_PROTOCOL)
      const framed = framedStream(stream)
      await send(framed, hello())
      await framed.read({ signal: AbortSignal.timeout(10_000) })
      // Stop reading: yamux stops granting window, the honest writer waits for a drain that never comes.
      stream.pause()
      for (let i = 0; i < requests; i++) await send(framed, { type: 'fetch', store: 'assertions', keys })
      await ended(stream)
    })
    expect(seen.length).toBeGreaterThanOrEqual(OFFENCE_THRESHOLD)
    for (const offence of seen) {
      expect(offence.reason).toBe('timeout')
      expect(offence.detail).toMatch(/^writing records/)
    }
  })

  it('a read flood (requests sent without reading the answers) is an offence, bounded per peer', async () => {
    const h = await rawNode()
    const keys = [...honest.state.tree('assertions').leaves({ limit: 1024 })].map((l) => l.key)
    const request = encodeFrame(encodeMessage({ type: 'fetch', store: 'assertions', keys }))
    const seen = watchOffences(h)
    await untilCutOff(h, async () => {
      // As many fetch streams as the session budget admits, each pushing 300 requests (MBs) and
      // reading nothing: the honest node must not hold all of it.
      await Promise.allSettled(
        Array.from({ length: SESSIONS_PER_PEER }, async () => {
          const stream = await openStream(h, FETCH_PROTOCOL)
          const framed = framedStream(stream)
          await send(framed, hello())
          await framed.read({ signal: AbortSignal.timeout(10_000) })
          stream.pause()
          for (let i = 0; i < 300 && stream.status === 'open'; i++) stream.send(request)
          await Promise.race([ended(stream), sleep(15_000)])
        }),
      )
    })
    // With the node's 256 KiB yamux window the flooder cannot push past a stream's read buffer
    // share, so it is caught stalling the answers it does not read (a timeout while writing); a
    // node given a wider window (maxStreamWindowBytes) resets the stream for its read buffer.
    const flood = seen.filter(
      (o) =>
        (o.reason === 'buffered-bytes' && /buffer length/.test(o.detail)) ||
        (o.reason === 'timeout' && /^writing records/.test(o.detail)),
    )
    expect(flood.length).toBeGreaterThanOrEqual(1)
  })

  it('a lying tree (keys it cannot deliver) is refused and counted', async () => {
    const h = await lyingResponder(() => [])
    await untilCutOff(h, async () => {
      await honest.sync.syncWith(h.peerId)
    })
    expect(await offences(h, 'lying-tree')).toBeGreaterThanOrEqual(1)
  })

  it('forged signatures are refused, counted, and nothing of them is stored', async () => {
    const h = await lyingResponder((records) =>
      records.map((r) => {
        const forged = Uint8Array.from(r)
        forged[forged.length - 1]! ^= 0xff
        return forged
      }),
    )
    await expectEveryPullRefused(h, 'bad-signature')
  })

  it('records with a far-future HLC are refused and counted', async () => {
    const h = await lyingResponder((records) => records, { wallClock: () => Date.now() + 24 * 3600_000 })
    await expectEveryPullRefused(h, 'far-future')
  })

  it('malformed head announcements are rejected by gossipsub validation and counted', async () => {
    const h = await rawNode()
    const pubsub = h.services.pubsub as ReturnType<ReturnType<typeof gossipsub>>
    pubsub.subscribe(headsTopic(NETWORK))
    await connect(h)
    await waitFor(
      () => pubsub.getSubscribers(headsTopic(NETWORK)).some((p) => p.equals(honest.peerId)),
      'subscription',
    )
    await untilCutOff(h, async () => {
      const before = honest.sync.offences(h.peerId)['invalid-announcement']
      await pubsub.publish(headsTopic(NETWORK), Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x01))
      await waitFor(
        () => before < honest.sync.offences(h.peerId)['invalid-announcement'],
        'the announcement to be judged',
        10_000,
      )
    })
    expect(await offences(h, 'invalid-announcement')).toBeGreaterThanOrEqual(OFFENCE_THRESHOLD)
  })

  it('leaves the honest nodes converging with nothing invalid stored', async () => {
    peer.state.advanceVerified(coordinate(5000), 3n)
    await waitFor(() => honest.state.view.get(coordinate(5000))?.run === 3n, 'honest to learn from its peer')
    await waitFor(() => rootsEqual(honest.state, peer.state), 'the honest pair to converge again')
    expect(honest.state.tree('assertions').count()).toBe(601)
    expect(honest.sync.isBlocked(peer.peerId)).toBe(false)
    const counted = Object.entries(honest.sync.offences(peer.peerId)).filter(([, n]) => n > 0)
    expect(counted).toEqual([])
  })
})
