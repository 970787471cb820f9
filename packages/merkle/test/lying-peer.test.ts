import {
  createReconciler,
  createResponder,
  IncompatiblePeerError,
  InconsistentPeerError,
  MalformedMessageError,
  type MerkleTree,
  OversizedMessageError,
  openMerkleTree,
  ReconcileError,
  ReconcileStateError,
  SessionLimitError,
} from '@provsync/merkle'
import fc from 'fast-check'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { ByteWriter } from '../src/bytes.js'
import { hashOf, type TempEnv, tempEnv, uniqueName } from './helpers.js'
import { reconcile } from './session-helpers.js'
import { checkFlippedResponses, checkJunkResponses, checkTruncatedResponses } from './tampered-responses.js'

let temp: TempEnv
let a: MerkleTree
let b: MerkleTree
let honestRounds: number
beforeAll(() => {
  temp = tempEnv()
})
// The trees and the honest session are built in the first test that runs (a beforeEach, not the
// beforeAll): code run outside any test is static coverage for the mutation run (`npm run mutate`),
// and every mutant it reaches would run the whole suite instead of the tests that cover it.
beforeEach(() => {
  if (a !== undefined) return
  a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
  b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
  const keys = Array.from({ length: 3000 }, (_, i) => hashOf(`k${i}`))
  a.update(keys.slice(0, 2900).map((key) => ({ key, valueHash: hashOf('v') })))
  b.update(keys.slice(100).map((key, i) => ({ key, valueHash: hashOf(i % 50 === 0 ? 'w' : 'v') })))
  honestRounds = reconcile(a, b).rounds
})
afterAll(async () => {
  await temp.cleanup()
})

/** Runs a session whose responses go through `tamper`; returns the error it ended with, if any. */
function endsWith(tamper: (response: Uint8Array, round: number) => Uint8Array, options = {}): unknown {
  try {
    reconcile(a, b, options, tamper)
    return undefined
  } catch (error) {
    return error
  }
}

describe('a lying responder ends the session with a typed error', () => {
  test('random bytes in place of any response', () => {
    checkJunkResponses(endsWith, 600, 150)
  })

  test('a truncated response', () => {
    checkTruncatedResponses(endsWith, honestRounds, 100)
  })

  test('a response with bytes flipped: an error or a finished session, never a hang or a crash', () => {
    checkFlippedResponses(endsWith, 100)
  })

  /** A response frame: hello, then whatever `body` writes. */
  function crafted(body: (w: ByteWriter) => void): Uint8Array {
    const w = new ByteWriter()
    w.u8(0) // frame flag: last
    w.varint(b.count()) // hello: count, message limit, frame limit
    w.varint(1 << 20)
    w.varint(1 << 20)
    body(w)
    return w.finish()
  }
  const ROOT = { path: new Uint8Array(32), depth: 0 }
  const childZero = { path: new Uint8Array(32), depth: 1 }

  function rootChildCount(): number {
    const root = a.node(ROOT)!
    return root.kind === 'inner' ? root.children.filter(Boolean).length : 0
  }

  /** Answer for the root saying only child 0 differs (the one-byte form). */
  function rootAnswer(w: ByteWriter): void {
    w.varint(1)
    w.u8(2)
  }

  function sessionAfterFirstRequest() {
    const reconciler = createReconciler(a)
    reconciler.next()
    return reconciler
  }

  test('a peer claiming a node differs whose children all match ours', () => {
    const reconciler = sessionAfterFirstRequest()
    const children = a.children(a.node(childZero)!, 1)
    const lie = crafted((w) => {
      rootAnswer(w)
      w.varint(1) // one description, of child 0: exactly our own children
      let bitmap = 0
      children.forEach((c, i) => {
        if (c) bitmap |= 0x8000 >>> i
      })
      if (bitmap === 0xffff) w.u8(0xff)
      else {
        w.u8(0xfe)
        w.u16(bitmap)
      }
      for (const c of children) if (c) w.bytes(c.hash, 16)
      w.varint(0) // no keys, enumeration done
      w.u8(1)
    })
    expect(() => reconciler.receive(lie)).toThrow(InconsistentPeerError)
    expect(() => reconciler.next()).toThrow(ReconcileStateError)
  })

  test('a peer listing a leaf outside the node it describes', () => {
    const reconciler = sessionAfterFirstRequest()
    const lie = crafted((w) => {
      rootAnswer(w)
      w.varint(1) // child 0 described by one leaf whose path starts with nibble f
      w.u8(1)
      w.bytes(new Uint8Array(32).fill(0xff))
      w.bytes(hashOf('x'), 16)
      w.varint(0)
      w.u8(1)
    })
    expect(() => reconciler.receive(lie)).toThrow(/outside the node/)
  })

  test('a peer that answers nothing when it owes answers', () => {
    const reconciler = sessionAfterFirstRequest()
    const lie = crafted((w) => {
      w.varint(0)
      w.varint(0)
      w.varint(0)
      w.u8(1)
    })
    expect(() => reconciler.receive(lie)).toThrow(/no progress/)
  })

  test('a peer answering more than it was asked', () => {
    const reconciler = sessionAfterFirstRequest()
    const lie = crafted((w) => {
      w.varint(2)
      w.u8(0)
    })
    expect(() => reconciler.receive(lie)).toThrow(MalformedMessageError)
  })

  test('a peer streaming keys for a subtree we never lacked', () => {
    const reconciler = sessionAfterFirstRequest()
    const lie = crafted((w) => {
      w.varint(1) // root: everything equal
      w.u8(0)
      for (let i = 0; i < Math.ceil(rootChildCount() / 8); i++) w.u8(0)
      w.varint(0)
      w.varint(1) // and yet a key to add
      w.bytes(hashOf('stray'))
      w.u8(1)
    })
    expect(() => reconciler.receive(lie)).toThrow(/no subtree we lack/)
  })

  test('frames over the limit, and messages that never end, are refused', () => {
    const big = endsWith((r, i) => (i === 0 ? new Uint8Array(8192).fill(1) : r), { maxFrameBytes: 4096 })
    expect(big).toBeInstanceOf(OversizedMessageError)
    const reconciler = createReconciler(a, { maxMessageBytes: 256 * 1024 })
    const more = new Uint8Array(64 * 1024)
    more[0] = 1 // "more frames follow", forever
    let error: unknown
    for (let i = 0; i < 100 && error === undefined; i++) {
      try {
        reconciler.next()
        reconciler.receive(more)
      } catch (e) {
        error = e
      }
    }
    expect(error).toBeInstanceOf(OversizedMessageError)
  })

  test('a session that needs more round trips than allowed stops', () => {
    expect(endsWith((r) => r, { maxRounds: 1 })).toBeInstanceOf(SessionLimitError)
  })
})

describe('a lying initiator gets typed errors from the responder', () => {
  test('random requests', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (junk) => {
        const responder = createResponder(b)
        try {
          responder.respond(junk)
        } catch (error) {
          expect(error).toBeInstanceOf(ReconcileError)
        }
      }),
      { numRuns: 150 },
    )
  })

  test('a peer with the other key mode is refused', () => {
    const hashed = openMerkleTree(temp.env, { name: uniqueName() })
    hashed.update([{ key: hashOf('x'), valueHash: hashOf('y') }])
    const request = createReconciler(hashed).next()!
    expect(() => createResponder(b).respond(request)).toThrow(IncompatiblePeerError)
  })

  test('a continuation with nothing left to send', () => {
    const responder = createResponder(b)
    expect(() => responder.respond(new Uint8Array([2]))).toThrow(MalformedMessageError)
  })
})

describe('state misuse', () => {
  test('calls out of turn are refused', () => {
    const reconciler = createReconciler(a)
    expect(() => reconciler.receive(new Uint8Array([0]))).toThrow(ReconcileStateError)
    reconciler.next()
    expect(() => reconciler.next()).toThrow(ReconcileStateError)
    expect(() => reconciler.result()).toThrow(ReconcileStateError)
  })

  test('options below their minimum are refused', () => {
    expect(() => createReconciler(a, { maxFrameBytes: 10 })).toThrow(/maxFrameBytes/)
  })
})
