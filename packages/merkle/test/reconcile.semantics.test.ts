import {
  createReconciler,
  createResponder,
  MalformedMessageError,
  MerkleInputError,
  type MerkleTree,
  OversizedMessageError,
  openMerkleTree,
  ReconcileStateError,
  SessionLimitError,
} from '@provsync/merkle'
import { describe, expect, test } from 'vitest'
import { hashOf, uniqueName, useTempEnv } from './helpers.js'

// The frame layer of a session (reconcile.ts): option bounds, the flag byte of each frame, who
// acknowledges and who pulls a long message, the exact limits, and the state rules of both ends.

const temp = useTempEnv()
const LAST = 0
const MORE = 1
const CONTROL = 2

function tree(keys: number, differ = (_: number) => false, from = 0): MerkleTree {
  const t = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
  t.update(
    Array.from({ length: keys }, (_, i) => ({
      key: hashOf(`k${from + i}`),
      valueHash: hashOf(differ(from + i) ? 'w' : 'v'),
    })),
  )
  return t
}

interface Tap {
  requests: Uint8Array[]
  responses: Uint8Array[]
  rounds: number
  sent: number
  received: number
}

/** An honest session, every frame recorded. */
function session(a: MerkleTree, b: MerkleTree, options = {}): Tap {
  const reconciler = createReconciler(a, options)
  const responder = createResponder(b, options)
  const tap: Tap = { requests: [], responses: [], rounds: 0, sent: 0, received: 0 }
  for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
    tap.requests.push(request.slice())
    const response = responder.respond(request)
    tap.responses.push(response.slice())
    reconciler.receive(response)
  }
  expect(responder.done).toBe(true)
  tap.rounds = reconciler.stats.rounds
  tap.sent = reconciler.stats.bytesSent
  tap.received = reconciler.stats.bytesReceived
  return tap
}

const sum = (frames: Uint8Array[]) => frames.reduce((n, f) => n + f.length, 0)

describe('options', () => {
  test('each limit is refused below its minimum or when not an integer, naming the option', () => {
    const a = tree(1)
    const minimums = {
      maxFrameBytes: 4 * 1024,
      maxMessageBytes: 256 * 1024,
      maxSessionBytes: 256 * 1024,
      maxRounds: 1,
    } as const
    for (const [name, min] of Object.entries(minimums)) {
      for (const bad of [min - 1, min + 0.5, Number.NaN, 2 ** 53]) {
        for (const create of [createReconciler, createResponder]) {
          let error: unknown
          try {
            create(a, { [name]: bad })
          } catch (e) {
            error = e
          }
          expect(error, `${name} = ${bad}`).toBeInstanceOf(MerkleInputError)
          expect((error as MerkleInputError).field).toBe(name)
          expect((error as Error).message).toBe(`${name}: expected an integer >= ${min}`)
        }
      }
      createReconciler(a, { [name]: min }).close()
      createResponder(a, { [name]: min }).close()
    }
  })
})

describe('frames', () => {
  test('long messages travel as full MORE frames then a LAST one; each is acknowledged or pulled with a control byte', () => {
    const a = tree(3000, (i) => i % 40 === 0)
    const b = tree(2600, (i) => i % 40 === 0 && i % 80 !== 0, 300)
    const tap = session(a, b, { maxFrameBytes: 4096 })
    const { requests, responses } = tap
    let pulled = 0
    let acknowledged = 0
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i]!
      const response = responses[i]!
      for (const frame of [request, response]) {
        expect(frame.length).toBeLessThanOrEqual(4096)
        expect([LAST, MORE, CONTROL]).toContain(frame[0])
        if (frame[0] === MORE) expect(frame.length).toBe(4096)
        if (frame[0] === CONTROL) expect(frame.length).toBe(1)
      }
      // A request cut into frames is acknowledged, frame by frame, by a bare control byte.
      if (request[0] === MORE) {
        expect([...response]).toEqual([CONTROL])
        acknowledged++
      }
      // A long answer is pulled, frame by frame, with a bare control byte.
      if (response[0] === MORE) {
        expect([...requests[i + 1]!]).toEqual([CONTROL])
        pulled++
      }
    }
    expect(pulled).toBeGreaterThan(0)
    expect(acknowledged).toBeGreaterThan(0)
    // Stats count every frame: sent is the requests, received the responses, a round per response.
    expect(tap.sent).toBe(sum(requests))
    expect(tap.received).toBe(sum(responses))
    expect(tap.rounds).toBe(responses.length)
    // A message that fits is one LAST frame.
    const small = session(tree(3), tree(4))
    expect(small.requests.every((f) => f[0] === LAST)).toBe(true)
    expect(small.responses.every((f) => f[0] === LAST)).toBe(true)
  })

  test('a frame of exactly maxFrameBytes is taken, one byte more is refused with its size and the limit', () => {
    const limit = 4096
    const exact = createResponder(tree(1), { maxFrameBytes: limit })
    const partial = new Uint8Array(limit)
    partial[0] = MORE
    expect([...exact.respond(partial)]).toEqual([CONTROL])
    const over = createResponder(tree(1), { maxFrameBytes: limit })
    const big = new Uint8Array(limit + 1)
    big[0] = MORE
    let error: unknown
    try {
      over.respond(big)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(OversizedMessageError)
    expect(error).toMatchObject({ what: 'frame', size: limit + 1, limit })
  })

  test('a message is refused once its frames pass maxMessageBytes, counting payloads only', () => {
    const limit = 256 * 1024
    const frame = new Uint8Array(4096)
    frame[0] = MORE
    const responder = createResponder(tree(1), { maxMessageBytes: limit, maxFrameBytes: 4096 })
    const frames = limit / 4095
    for (let i = 0; i < Math.floor(frames); i++) responder.respond(frame)
    // 64 frames of 4,095 payload bytes: 262,080 bytes, 64 under the limit.
    const rest = new Uint8Array(1 + (limit - Math.floor(frames) * 4095))
    rest[0] = MORE
    expect([...responder.respond(rest)]).toEqual([CONTROL])
    let error: unknown
    try {
      responder.respond(Uint8Array.of(MORE, 0))
    } catch (e) {
      error = e
    }
    expect(error).toMatchObject({ what: 'message', size: limit + 1, limit })
  })

  test('frames that are not frames are refused, each with its reason', () => {
    const cases: Array<[unknown, string]> = [
      [new Uint8Array(0), 'empty frame'],
      [Uint8Array.of(3), 'unknown frame flag 3'],
      [Uint8Array.of(0xff, 1), 'unknown frame flag 255'],
      [Uint8Array.of(CONTROL, 0), 'control frame with a payload'],
      [[0, 1, 2], 'frame is not a Uint8Array'],
      [Uint8Array.of(CONTROL), 'nothing left to send'],
    ]
    for (const [frame, reason] of cases) {
      const responder = createResponder(tree(1))
      expect(() => responder.respond(frame as Uint8Array), reason).toThrow(new MalformedMessageError(reason))
    }
  })
})

describe('limits of a whole session', () => {
  test('maxRounds: exactly the rounds an honest session needs pass, one fewer stops it', () => {
    const a = tree(300, (i) => i % 7 === 0)
    const b = tree(300, (i) => i % 11 === 0)
    const rounds = session(a, b).rounds
    expect(rounds).toBeGreaterThan(1)
    expect(session(a, b, { maxRounds: rounds }).rounds).toBe(rounds)
    let error: unknown
    try {
      session(a, b, { maxRounds: rounds - 1 })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(SessionLimitError)
    expect((error as SessionLimitError).limit).toBe(rounds - 1)
  })

  test('maxSessionBytes: a session moving exactly the limit passes, one byte less stops it', () => {
    // Everything the responder has is new to the initiator: its keys stream over many frames.
    const a = tree(0)
    const b = tree(12_000)
    const honest = session(a, b)
    const total = honest.sent + honest.received
    expect(total).toBeGreaterThan(256 * 1024)
    expect(session(a, b, { maxSessionBytes: total }).sent).toBe(honest.sent)
    let error: unknown
    try {
      session(a, b, { maxSessionBytes: total - 1 })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(OversizedMessageError)
    expect(error).toMatchObject({ what: 'session', limit: total - 1 })
  })
})

describe('state rules', () => {
  test('a failure is latched: every later call names the session as failed, with the first error as cause', () => {
    const a = tree(50)
    const reconciler = createReconciler(a)
    reconciler.next()
    const bad = Uint8Array.of(7)
    expect(() => reconciler.receive(bad)).toThrow(new MalformedMessageError('unknown frame flag 7'))
    let later: unknown
    try {
      reconciler.next()
    } catch (e) {
      later = e
    }
    // The reconciler is no longer waiting for an answer: receive is out of turn.
    expect(() => reconciler.receive(bad)).toThrow(ReconcileStateError)
    expect(later).toBeInstanceOf(ReconcileStateError)
    expect((later as Error).message).toBe('the session already failed')
    expect((later as Error).cause).toBeInstanceOf(MalformedMessageError)
    expect(reconciler.done).toBe(false)

    const responder = createResponder(a)
    expect(() => responder.respond(bad)).toThrow(MalformedMessageError)
    expect(() => responder.respond(bad)).toThrow(new ReconcileStateError('the session already failed'))
  })

  test('a closed session refuses further steps; close is idempotent', () => {
    const reconciler = createReconciler(tree(5))
    reconciler.close()
    reconciler.close()
    expect(() => reconciler.next()).toThrow(new ReconcileStateError('the session is closed'))
    const responder = createResponder(tree(5))
    responder.close()
    expect(() => responder.respond(Uint8Array.of(0))).toThrow(
      new ReconcileStateError('the session is closed'),
    )
    expect(responder.done).toBe(false)
  })

  test('after the last answer the responder is done and refuses more; the result is a fresh copy each time', () => {
    const a = tree(20)
    const b = tree(25)
    const reconciler = createReconciler(a)
    const responder = createResponder(b)
    expect(reconciler.done).toBe(false)
    let last: Uint8Array | undefined
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      last = request
      reconciler.receive(responder.respond(request))
    }
    expect(reconciler.done).toBe(true)
    expect(reconciler.next()).toBeUndefined()
    expect(responder.done).toBe(true)
    expect(() => responder.respond(last!)).toThrow(
      new ReconcileStateError('the session is over: everything was sent'),
    )
    const first = reconciler.result()
    expect(first.remoteOnly).toHaveLength(5)
    first.remoteOnly.length = 0
    first.localOnly.push(Uint8Array.of(1))
    first.differing.push(Uint8Array.of(1))
    const second = reconciler.result()
    expect(second.remoteOnly).toHaveLength(5)
    expect(second.localOnly).toHaveLength(0)
    expect(second.differing).toHaveLength(0)
  })

  test('a responder that answers before a long request is complete, or acknowledges out of turn, is refused', () => {
    const a = tree(3000, (i) => i % 40 === 0)
    const b = tree(2600, (i) => i % 40 === 0 && i % 80 !== 0, 300)
    // Run honestly until the initiator sends a MORE frame, then answer it with a LAST frame.
    const reconciler = createReconciler(a, { maxFrameBytes: 4096 })
    const responder = createResponder(b, { maxFrameBytes: 4096 })
    let request = reconciler.next()
    while (request !== undefined && request[0] !== MORE) {
      reconciler.receive(responder.respond(request))
      request = reconciler.next()
    }
    expect(request?.[0]).toBe(MORE)
    expect(() => reconciler.receive(Uint8Array.of(LAST, 0))).toThrow(
      new MalformedMessageError('answer before the request was complete'),
    )
    // An initiator that gets a control byte where an answer is due.
    const other = createReconciler(a)
    other.next()
    expect(() => other.receive(Uint8Array.of(CONTROL))).toThrow(
      new MalformedMessageError('unexpected control frame'),
    )
  })

  test('a new request before the responder finished sending its last answer is refused', () => {
    const a = tree(0)
    const b = tree(3000)
    const reconciler = createReconciler(a, { maxFrameBytes: 4096 })
    const responder = createResponder(b, { maxFrameBytes: 4096 })
    let request = reconciler.next()!
    let response = responder.respond(request)
    while (response[0] !== MORE) {
      reconciler.receive(response)
      request = reconciler.next()!
      response = responder.respond(request)
    }
    // The answer is only partly sent: a fresh request (not a control byte) is out of turn.
    expect(() => responder.respond(request)).toThrow(
      new MalformedMessageError('new request before the last answer was pulled'),
    )
  })
})
