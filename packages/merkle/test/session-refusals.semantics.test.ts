import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ByteWriter } from '../src/bytes.js'
import {
  InconsistentPeerError,
  MalformedMessageError,
  ReconcileError,
  ReconcileStateError,
  SessionLimitError,
} from '../src/errors.js'
import { createReconciler, createResponder } from '../src/reconcile.js'
import { hashOf } from './helpers.js'
import { pairOf, session } from './memory-session.js'
import { memoryTree } from './memory-tree.js'

// A peer that lies, over in-memory trees: every wrong frame ends the session with a typed
// ReconcileError (never a crash, a hang or a silently smaller result), and the session refuses all
// later input. The LMDB twin of the random cases is lying-peer.test.ts.

const keys = Array.from({ length: 600 }, (_, i) => hashOf(`k${i}`))
const pair = pairOf(keys, (i) => (i < 20 ? 0 : i < 40 ? 1 : i % 50 === 0 ? 2 : 3))
const a = memoryTree(pair.a)
const b = memoryTree(pair.b)

/** The error a session with tampered responses ends with, if any. */
function endsWith(tamper: (response: Uint8Array, round: number) => Uint8Array): unknown {
  try {
    session(a, b, {}, {}, tamper)
    return undefined
  } catch (error) {
    return error
  }
}

describe('a lying responder', () => {
  test('random bytes in place of a response: a typed error, never a crash (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 3 }), fc.uint8Array({ maxLength: 300 }), (round, junk) => {
        const error = endsWith((r, i) => (i === round ? junk : r))
        if (error !== undefined) expect(error).toBeInstanceOf(ReconcileError)
      }),
      { numRuns: 60 },
    )
  })

  test('a truncated response is always refused (property)', () => {
    const honest = session(a, b).responses.length
    expect(honest).toBeGreaterThanOrEqual(2)
    fc.assert(
      fc.property(fc.nat(), fc.double({ min: 0, max: 0.999, noNaN: true }), (n, keep) => {
        const round = n % honest
        const error = endsWith((r, i) => (i === round ? r.subarray(0, Math.floor(r.length * keep)) : r))
        expect(error).toBeInstanceOf(ReconcileError)
      }),
      { numRuns: 60 },
    )
  })

  test('a flipped byte: a typed error, or a session that still ends (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (round, at, mask) => {
        const error = endsWith((r, i) => {
          if (i !== round) return r
          const copy = r.slice()
          copy[at % copy.length]! ^= mask
          return copy
        })
        if (error !== undefined) expect(error).toBeInstanceOf(ReconcileError)
      }),
      { numRuns: 60 },
    )
  })

  test('a message with no key while the peer still owes keys makes no progress', () => {
    // The responder alone has 9,000 keys under root children 0-7: they stream over several messages
    // under the smallest message limit. A message in that stream with no key and the stream not
    // ended (answers 0, descriptions 0, keys 0, flag 0) moves nothing forward. Response 1 opens
    // the stream and leaves it open, so response 2 owes keys.
    const many = Array.from({ length: 9000 }, (_, i) => {
      const key = hashOf(`m${i}`)
      key[0] = i % 8
      return key
    })
    const mine = memoryTree([])
    const theirs = memoryTree(many.map((k) => [k, hashOf('v')] as const))
    const options = { maxMessageBytes: 256 * 1024 }
    const honest = session(mine, theirs, options)
    expect(honest.remoteOnly).toHaveLength(9000)
    expect(honest.responses.length).toBe(3)
    const stalled = () =>
      session(mine, theirs, options, options, (r, i) => (i === 2 ? Uint8Array.of(0, 0, 0, 0, 0) : r))
    expect(stalled).toThrow(new InconsistentPeerError('message makes no progress'))
    // The same empty message claiming the stream ended would drop the keys not yet sent: refused too.
    const ended = () =>
      session(mine, theirs, options, options, (r, i) => (i === 2 ? Uint8Array.of(0, 0, 0, 0, 1) : r))
    expect(ended).toThrow(new InconsistentPeerError('message makes no progress'))
  })

  test('after a refusal, every later call is refused as a failed session', () => {
    const tree = memoryTree(pair.a)
    const reconciler = createReconciler(tree)
    reconciler.next()
    expect(() => reconciler.receive(new Uint8Array([0, 1]))).toThrow(ReconcileError)
    expect(tree.snapshots).toEqual({ taken: 1, released: 1 })
    expect(() => reconciler.next()).toThrow(new ReconcileStateError('the session already failed'))
    expect(() => reconciler.receive(new Uint8Array([0]))).toThrow(ReconcileStateError)
    expect(() => reconciler.result()).toThrow(new ReconcileStateError('the session is not done'))
  })

  test('maxRounds: one fewer than the honest session needs stops it', () => {
    const honest = session(a, b).rounds
    expect(honest).toBeGreaterThan(1)
    expect(() => session(a, b, { maxRounds: honest - 1 })).toThrow(SessionLimitError)
    expect(session(a, b, { maxRounds: honest }).rounds).toBe(honest)
  })
})

describe('a lying initiator', () => {
  test('random requests: a typed error from the responder, never a crash (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => {
        const responder = createResponder(b)
        try {
          responder.respond(junk)
        } catch (error) {
          expect(error).toBeInstanceOf(ReconcileError)
        }
      }),
      { numRuns: 100 },
    )
  })

  test('a request cut short is refused; the responder releases its snapshot', () => {
    const tree = memoryTree(pair.b)
    const request = createReconciler(a).next()!
    for (let keep = 1; keep < request.length; keep += Math.max(1, request.length >>> 3)) {
      const responder = createResponder(tree)
      expect(() => responder.respond(request.subarray(0, keep))).toThrow(MalformedMessageError)
    }
    expect(tree.snapshots.released).toBe(tree.snapshots.taken)
  })

  test('a request that answers nothing, describes nothing and pulls nothing makes no progress', () => {
    const responder = createResponder(b)
    const reconciler = createReconciler(a)
    responder.respond(reconciler.next()!)
    const w = new ByteWriter()
    w.u8(0) // last frame
    w.varint(0) // answers
    w.varint(0) // descriptions
    expect(() => responder.respond(w.finish())).toThrow(
      new InconsistentPeerError('message makes no progress'),
    )
  })
})
