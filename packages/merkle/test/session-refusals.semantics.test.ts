import fc from 'fast-check'
import { beforeEach, describe, expect, test } from 'vitest'
import { ByteWriter, compareBytes } from '../src/bytes.js'
import {
  InconsistentPeerError,
  MalformedMessageError,
  ReconcileError,
  ReconcileStateError,
  SessionLimitError,
} from '../src/errors.js'
import { presenceMask } from '../src/node-codec.js'
import { PATH_BYTES } from '../src/path.js'
import { createReconciler, createResponder } from '../src/reconcile.js'
import { writeChildrenDescription, writeChildrenReply, writeLeavesDescription } from '../src/wire.js'
import { hashOf, hex } from './helpers.js'
import { type Pair, pairOf, type Run, session } from './memory-session.js'
import { type MemoryTree, memoryTree } from './memory-tree.js'
import { checkFlippedResponses, checkJunkResponses, checkTruncatedResponses } from './tampered-responses.js'

// A peer that lies, over in-memory trees: every wrong frame ends the session with a typed
// ReconcileError (never a crash, a hang or a silently smaller result), and the session refuses all
// later input. The LMDB twin of the random cases is lying-peer.test.ts.

// Built before each test, not at module level: code run while the file loads makes the mutants it
// reaches static (each reruns the whole mutation test selection); a few milliseconds per test.
let pair: Pair
let a: MemoryTree
let b: MemoryTree
beforeEach(() => {
  const keys = Array.from({ length: 600 }, (_, i) => hashOf(`k${i}`))
  pair = pairOf(keys, (i) => (i < 20 ? 0 : i < 40 ? 1 : i % 50 === 0 ? 2 : 3))
  a = memoryTree(pair.a)
  b = memoryTree(pair.b)
})

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
    checkJunkResponses(endsWith, 300, 60)
  })

  test('a truncated response is always refused (property)', () => {
    const honest = session(a, b).responses.length
    expect(honest).toBeGreaterThanOrEqual(2)
    checkTruncatedResponses(endsWith, honest, 60)
  })

  test('a flipped byte: a typed error, or a session that still ends (property)', () => {
    checkFlippedResponses(endsWith, 60)
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

describe('crafted lies in the first answer', () => {
  // The initiator's first request describes the root by its children; each lie below is the
  // responder's first message: its hello (count, limits), then what `body` writes.
  const ROOT = { path: new Uint8Array(PATH_BYTES), depth: 0 }
  const childZero = { path: new Uint8Array(PATH_BYTES), depth: 1 }

  function lie(tree: MemoryTree, body: (w: ByteWriter) => void): () => void {
    const reconciler = createReconciler(tree)
    reconciler.next()
    const w = new ByteWriter()
    w.u8(0) // one frame
    w.varint(10) // hello: count, message limit, frame limit
    w.varint(1 << 20)
    w.varint(1 << 20)
    body(w)
    const response = w.finish()
    return () => reconciler.receive(response)
  }
  const rootBitmap = (tree: MemoryTree) => presenceMask(tree.children(tree.node(ROOT)!, 0))
  /** The root answer: every child the same. */
  const allSame = (tree: MemoryTree) => (w: ByteWriter) =>
    writeChildrenReply(w, 32, rootBitmap(tree), rootBitmap(tree), 0)
  /** `n` uniform keys under root child `digit`, in path order. */
  const under = (digit: number, n: number, seed = 'x') =>
    Array.from({ length: n }, (_, i) => {
      const key = hashOf(`${seed}${digit}/${i}`)
      key[0] = (digit << 3) | (key[0]! & 7)
      return key
    }).sort(compareBytes)

  test('more answers than descriptions sent, or descriptions of nodes not found different', () => {
    expect(
      lie(a, (w) => {
        w.varint(2)
        w.u8(0)
      }),
    ).toThrow(new MalformedMessageError('varint 2 above 1'))
    expect(
      lie(a, (w) => {
        w.varint(1)
        allSame(a)(w)
        w.varint(1) // a description nobody expects
        w.u8(0)
      }),
    ).toThrow(new MalformedMessageError('varint 1 above 0'))
  })

  test('an answer to a leaf list names at most 32 keys of its own', () => {
    // Two leaves: the initiator describes the root by them; the answer: two statuses, then 33 keys.
    const two = memoryTree(under(3, 2).map((k) => [k, hashOf('v')] as const))
    const answer = (n: number) =>
      lie(two, (w) => {
        w.varint(1)
        w.u8(0) // statuses and keys
        w.u8(0) // both leaves the same
        w.varint(n)
        for (const key of under(5, n)) w.bytes(key)
        w.varint(0)
        w.varint(0)
        w.u8(1)
      })
    expect(answer(33)).toThrow(new MalformedMessageError('varint 33 above 32'))
    expect(answer(32)).not.toThrow()
  })

  test('a key streamed for no subtree the initiator lacks', () => {
    expect(
      lie(a, (w) => {
        w.varint(1)
        allSame(a)(w)
        w.varint(0)
        w.varint(1)
        w.bytes(hashOf('stray'))
        w.u8(1)
      }),
    ).toThrow(new InconsistentPeerError('key sent for no subtree we lack'))
  })

  test('a node said to differ, described by exactly the children or the leaves the initiator has', () => {
    const answerChildZero = (w: ByteWriter) => {
      w.varint(1)
      w.u8(2) // the one-byte answer: only child 0 differs
      w.varint(1) // one description: child 0
    }
    const node = a.node(childZero)!
    const sameChildren = lie(a, (w) => {
      answerChildZero(w)
      writeChildrenDescription(w, a.children(node, 1))
      w.varint(0)
      w.u8(1)
    })
    expect(sameChildren).toThrow(
      new InconsistentPeerError('peer describes as different a node whose children all match'),
    )
    const ctx = { keysAreHashes: true, path: childZero.path, depth: 1 }
    const sameLeaves = lie(a, (w) => {
      answerChildZero(w)
      writeLeavesDescription(w, [...a.leavesAt(childZero)], ctx)
      w.varint(0)
      w.u8(1)
    })
    expect(sameLeaves).toThrow(
      new InconsistentPeerError('peer describes as different a node whose leaves all match'),
    )
    const outside = lie(a, (w) => {
      answerChildZero(w)
      writeLeavesDescription(w, [{ key: new Uint8Array(32).fill(0xff), valueHash: hashOf('x') }], ctx)
      w.varint(0)
      w.u8(1)
    })
    expect(outside).toThrow(new InconsistentPeerError('key outside the node it is listed under'))
    const [k0, k1] = under(0, 2)
    const unordered = lie(a, (w) => {
      answerChildZero(w)
      writeLeavesDescription(
        w,
        [
          { key: k1!, valueHash: hashOf('x') },
          { key: k0!, valueHash: hashOf('x') },
        ],
        ctx,
      )
      w.varint(0)
      w.u8(1)
    })
    expect(unordered).toThrow(new InconsistentPeerError('keys out of order'))
  })

  describe('keys streamed for subtrees only the responder has', () => {
    // The initiator has keys under root children 2-31 only; the responder claims children 0 and 1.
    // Built per test, not in the describe body: a tree built while no test runs makes every mutant
    // it reaches (the canonical build, the node codec, the bit helpers) static for Stryker.
    let mine: MemoryTree
    let theirs: number
    beforeEach(() => {
      mine = memoryTree(Array.from({ length: 30 }, (_, i) => [under(i + 2, 2)[0]!, hashOf('v')] as const))
      theirs = rootBitmap(mine) | 0x3
    })
    const claim = (w: ByteWriter) => {
      w.varint(1)
      writeChildrenReply(w, 32, rootBitmap(mine), theirs, 0)
      w.varint(0) // descriptions
    }
    const stream = (keys: Uint8Array[], ended: boolean) =>
      lie(mine, (w) => {
        claim(w)
        w.varint(keys.length)
        for (const key of keys) w.bytes(key)
        w.u8(ended ? 1 : 0)
      })

    test('each claimed subtree gets its keys, in order, before the stream ends', () => {
      const [c0a, c0b] = under(0, 2)
      const [c1a] = under(1, 1)
      expect(stream([c0a!, c0b!, c1a!], true)).not.toThrow()
      expect(stream([c1a!], true)).toThrow(
        new InconsistentPeerError('a subtree the peer has was sent without keys'),
      )
      expect(stream([c0a!], true)).toThrow(
        new InconsistentPeerError('peer ended its key list before every subtree it has'),
      )
      expect(stream([], true)).toThrow(
        new InconsistentPeerError('peer ended its key list before every subtree it has'),
      )
      // One claimed subtree, ended without a key: its keys would be dropped.
      const one = lie(mine, (w) => {
        w.varint(1)
        writeChildrenReply(w, 32, rootBitmap(mine), rootBitmap(mine) | 1, 0)
        w.varint(0)
        w.varint(0)
        w.u8(1)
      })
      expect(one).toThrow(new InconsistentPeerError('peer ended its key list before every subtree it has'))
      expect(stream([c0b!, c0a!], false)).toThrow(new InconsistentPeerError('keys out of order'))
      expect(stream([c0a!, c0a!], false)).toThrow(new InconsistentPeerError('keys out of order'))
      expect(stream([c0a!, c1a!, c0b!], false)).toThrow(
        new InconsistentPeerError('key sent for no subtree we lack'),
      )
    })

    test('an accepted stream lands in the result, an open one is pulled for more', () => {
      const [c0a, c0b] = under(0, 2)
      const [c1a, c1b] = under(1, 2)
      const reconciler = createReconciler(mine)
      reconciler.next()
      const first = new ByteWriter()
      first.u8(0)
      first.varint(34)
      first.varint(1 << 20)
      first.varint(1 << 20)
      claim(first)
      first.varint(3)
      for (const key of [c0a!, c0b!, c1a!]) first.bytes(key)
      first.u8(0) // more to come
      reconciler.receive(first.finish())
      expect(reconciler.done).toBe(false)
      // The pull: no answers, no descriptions.
      expect([...reconciler.next()!]).toEqual([0, 0, 0])
      const rest = new ByteWriter()
      rest.u8(0)
      rest.varint(0)
      rest.varint(0)
      rest.varint(1)
      rest.bytes(c1b!)
      rest.u8(1)
      reconciler.receive(rest.finish())
      expect(reconciler.done).toBe(true)
      expect(reconciler.result().remoteOnly.map((k) => Buffer.from(k).toString('hex'))).toEqual(
        [c0a!, c0b!, c1a!, c1b!].map((k) => Buffer.from(k).toString('hex')),
      )
    })

    test('an enumeration flag other than 0 or 1 is refused', () => {
      const reconciler = lie(mine, (w) => {
        claim(w)
        w.varint(0)
        w.u8(2)
      })
      expect(reconciler).toThrow(new MalformedMessageError('unknown enumeration flag 2'))
    })
  })
})

describe('a lying answer one level down', () => {
  // 2,000 keys, one of them changed: the initiator describes the root, the responder the child on
  // the way to that key (depth 1), the initiator the grandchild (depth 2, by its children: the leaf
  // depth is 3). The responder's second message opens with its answer for that grandchild: the
  // one-byte form naming the one child that differs. Below, that answer is replaced by a lie.
  // Built per test (see above): sorting and hashing 2,000 keys in the describe body made the
  // mutants of compareBytes and the hash static.
  let keys: Uint8Array[]
  let mine: MemoryTree
  let theirs: MemoryTree
  beforeEach(() => {
    keys = Array.from({ length: 2000 }, (_, i) => hashOf(`deep${i}`))
    const deep = pairOf(keys, (i) => (i === 7 ? 2 : 3))
    mine = memoryTree(deep.a)
    theirs = memoryTree(deep.b)
  })

  function withSecondAnswer(answer: number[]): () => Run {
    return () =>
      session(mine, theirs, {}, {}, (r, i) => {
        if (i !== 1) return r
        expect([r[0], r[1]]).toEqual([0, 1]) // one frame, one answer
        expect(r[2]).toBeGreaterThanOrEqual(2) // the one-byte form
        return Uint8Array.from([0, 1, ...answer, ...r.subarray(3)])
      })
  }

  test('the honest session finds the one changed key', () => {
    expect(session(mine, theirs).differing).toEqual([hex(keys[7]!)])
  })

  test('an answer saying the responder has none of the children of a node it said differs', () => {
    // Flag 1 (own presence), an empty mask over 8 children.
    expect(withSecondAnswer([1, 0])).toThrow(new InconsistentPeerError('peer lost a node it said it had'))
  })

  test('an answer saying no child differs under a node it said differs', () => {
    // Flag 0 (same presence), then one zero bit per child both have.
    expect(withSecondAnswer([0, 0])).toThrow(
      new InconsistentPeerError('peer says a node it reported different has no differing child'),
    )
  })
})
