import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ByteReader } from '../src/bytes.js'
import {
  IncompatiblePeerError,
  InconsistentPeerError,
  MalformedMessageError,
  MerkleInputError,
  ReconcileError,
} from '../src/errors.js'
import { createReconciler, createResponder, type ReconcileOptions } from '../src/reconcile.js'
import { createVersionedSession } from '../src/versioned-session.js'
import { readChildrenReply } from '../src/wire.js'
import { hashOf, hex } from './helpers.js'
import { expectExact, type Pair, pairOf, type Run, session, sortedHex } from './memory-session.js'
import { type MemoryTree, memoryTree } from './memory-tree.js'
import { checkFlippedResponses, checkJunkResponses, checkTruncatedResponses } from './tampered-responses.js'

// Protocol 2 (salted-session.ts, salted-wire.ts, fingerprint.ts, the dispatch of
// versioned-session.ts) over in-memory trees, so that `npm run mutate` can rerun it for every
// mutant: the result is exactly the symmetric difference (salts fixed, so every run is the same),
// a collision is flagged and never drops a difference for good, and a lying frame ends in a typed
// error. The LMDB twin with random salts is salted-session.test.ts. Nothing runs at module level
// (a tree built there would make the mutants it reaches static).

const salt = (seed: string) => hashOf(seed).subarray(0, 16)
/** Initiator and responder options of protocol 2 with salts fixed by `seed`. */
const v2 = (seed: string, more: ReconcileOptions = {}): [ReconcileOptions, ReconcileOptions] => [
  { version: 2, salt: salt(`i${seed}`), ...more },
  { salt: salt(`r${seed}`), ...more },
]

const uniform = (seed: string, first?: number) => {
  const key = hashOf(seed)
  if (first !== undefined) key[0] = first
  return key
}
const plainKey = (i: number) => new TextEncoder().encode(`key-${i}`)
/** Role patterns over 40 keys: mixed, one changed at the end, one missing at the start, half one-sided. */
const roles4: Array<(i: number) => number> = [
  (i) => (i % 4 === 0 ? 0 : i % 4 === 1 ? 1 : i % 4 === 2 ? 2 : 3),
  (i) => (i === 39 ? 2 : 3),
  (i) => (i === 0 ? 1 : 3),
  (i) => (i < 20 ? 0 : 3),
]
const SMALL: ReconcileOptions = { maxFrameBytes: 4096, maxMessageBytes: 256 * 1024 }

function both(pair: Pair, keysAreHashes: boolean, seed: string, more: ReconcileOptions = {}): Run {
  const a = memoryTree(pair.a, keysAreHashes)
  const b = memoryTree(pair.b, keysAreHashes)
  const [optionsA, optionsB] = v2(seed, more)
  const run = session(a, b, optionsA, optionsB)
  expectExact(pair, run)
  expect(a.snapshots).toEqual({ taken: 1, released: 1 })
  expect(b.snapshots).toEqual({ taken: 1, released: 1 })
  return run
}

/** One protocol-2 session's whole result, collision flag included. */
function resultOf(a: MemoryTree, b: MemoryTree, optionsA: ReconcileOptions, optionsB: ReconcileOptions) {
  const reconciler = createReconciler(a, optionsA)
  const responder = createResponder(b, optionsB)
  for (let q = reconciler.next(); q !== undefined; q = reconciler.next())
    reconciler.receive(responder.respond(q))
  const result = reconciler.result()
  return {
    localOnly: result.localOnly.map(hex),
    remoteOnly: result.remoteOnly.map(hex),
    differing: result.differing.map(hex),
    collision: result.collision,
  }
}

describe('protocol 2: the result is exactly the symmetric difference', () => {
  test.each([
    ['uniform', true],
    ['hashed', false],
  ])('for random pairs of sets and salts (%s keys, property)', (_, keysAreHashes) => {
    const arbKeyOf = keysAreHashes
      ? fc.uint8Array({ minLength: 32, maxLength: 32 })
      : fc.integer({ min: 0, max: 2000 }).map(plainKey)
    fc.assert(
      fc.property(
        fc.uniqueArray(arbKeyOf, { selector: hex, maxLength: 250 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 250, maxLength: 250 }),
        fc.constantFrom<ReconcileOptions>({}, SMALL, { fingerprintBytes: 8 }),
        fc.nat(),
        (keys, roles, more, seed) => {
          // Four-byte fingerprints over at most 250 keys: a collision has odds below 10^-5 per
          // session, and the salts are fixed by the seed, so a failure replays exactly.
          both(
            pairOf(keys, (i) => roles[i]!),
            keysAreHashes,
            `p${seed}`,
            more,
          )
        },
      ),
      { numRuns: 50, seed: 18 },
    )
  })

  test('both empty, equal, disjoint, one side empty, one key apart, in both key modes', () => {
    const keys = Array.from({ length: 200 }, (_, i) => uniform(`k${i}`))
    const cases: Array<(i: number) => number> = [
      () => 3,
      (i) => (i < 100 ? 0 : 1),
      () => 1,
      () => 0,
      (i) => (i === 7 ? 1 : 3),
      (i) => (i === 7 ? 0 : 3),
      (i) => (i === 7 ? 2 : 3),
      (i) => (i < 40 ? 2 : 3),
    ]
    for (const keysAreHashes of [true, false]) {
      expect(
        both(
          pairOf([], () => 3),
          keysAreHashes,
          'empty',
        ).rounds,
      ).toBe(1)
      cases.forEach((role, n) => {
        both(pairOf(keys, role), keysAreHashes, `case${n}`)
      })
    }
  })

  test('equal trees settle in one round trip with no collision; a single difference in a few', () => {
    const keys = Array.from({ length: 500 }, (_, i) => uniform(`eq${i}`))
    const equal = pairOf(keys, () => 3)
    expect(both(equal, true, 'eq').rounds).toBe(1)
    const [oa, ob] = v2('eq')
    expect(resultOf(memoryTree(equal.a), memoryTree(equal.b), oa, ob)).toEqual({
      localOnly: [],
      remoteOnly: [],
      differing: [],
      collision: false,
    })
    expect(
      both(
        pairOf(keys, (i) => (i === 3 ? 2 : 3)),
        true,
        'one',
      ).rounds,
    ).toBeLessThanOrEqual(3)
  })

  test('keys sharing their first 15 bytes: the descent goes 30 levels down', () => {
    // A leaf's fingerprint covers the first 16 bytes of its path, so the keys differ in byte 15.
    const keys = Array.from({ length: 40 }, (_, i) => {
      const key = new Uint8Array(32).fill(0xa5)
      key[15] = i * 5
      return key
    })
    roles4.forEach((role, n) => {
      both(pairOf(keys, role), true, `deep${n}`)
    })
  })

  test('keys equal in their first 16 bytes have one leaf fingerprint whatever the salt: flagged, never silent', () => {
    // Known limit of protocol 2 (fingerprint.ts hashes 16 bytes of path): uniform keys that share
    // 128 bits cannot be told apart by their values' owner; the session says it saw a collision.
    const keys = Array.from({ length: 40 }, (_, i) => {
      const key = new Uint8Array(32).fill(0xa5)
      key[31] = i * 5
      return key
    })
    const pair = pairOf(keys, roles4[0]!)
    for (const seed of ['x', 'y']) {
      const [oa, ob] = v2(seed)
      const result = resultOf(memoryTree(pair.a), memoryTree(pair.b), oa, ob)
      expect(result.collision).toBe(true)
      // What it does report is right: the keys held with other values (the one-sided ones are
      // hidden behind equal fingerprints).
      expect(result.differing).toEqual(sortedHex(pair.changed))
      expect(result.localOnly).toEqual([])
      expect(result.remoteOnly).toEqual([])
    }
  })

  test('a subtree only one side has is listed whole, also across several messages', () => {
    const many = Array.from({ length: 9000 }, (_, i) => uniform(`m${i}`, i % 8))
    const shared = Array.from({ length: 300 }, (_, i) => uniform(`s${i}`, 0x40 + (i % 0xbf)))
    const keys = [...many, ...shared]
    const pair = pairOf(keys, (i) => (i < many.length ? 1 : i % 3 === 0 ? 2 : 3))
    const small = both(pair, true, 'sub', SMALL)
    const large = both(pair, true, 'sub')
    expect(small.rounds).toBeGreaterThan(large.rounds)
    both(
      pairOf(keys, (i) => (i < many.length ? 0 : i % 3 === 0 ? 2 : 3)),
      true,
      'sub2',
      SMALL,
    )
  })

  test('many differing nodes under the smallest message limit', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => uniform(`many${i}`))
    both(
      pairOf(keys, (i) => (i % 3 === 0 ? 2 : i % 7 === 0 ? 0 : i % 11 === 0 ? 1 : 3)),
      true,
      'many',
      SMALL,
    )
  })

  test('a protocol-1 initiator is served by the same responder, with the same result', () => {
    const keys = Array.from({ length: 300 }, (_, i) => uniform(`r${i}`))
    const pair = pairOf(keys, (i) => (i < 10 ? 0 : i < 20 ? 1 : i % 9 === 0 ? 2 : 3))
    const [, ob] = v2('served')
    expectExact(pair, session(memoryTree(pair.a), memoryTree(pair.b), {}, ob))
    // Protocol 1 compares 128-bit hashes: its result says no collision, in so many words.
    expect(resultOf(memoryTree(pair.a), memoryTree(pair.b), {}, ob)).toEqual({
      localOnly: sortedHex(pair.onlyA),
      remoteOnly: sortedHex(pair.onlyB),
      differing: sortedHex(pair.changed),
      collision: false,
    })
    both(pair, true, 'served')
  })

  test('the result lists copies: overwriting the frames afterwards changes nothing', () => {
    const keys = Array.from({ length: 300 }, (_, i) => uniform(`w${i}`))
    const pair = pairOf(keys, (i) => (i < 10 ? 0 : i < 20 ? 1 : i % 9 === 0 ? 2 : 3))
    const [oa, ob] = v2('wipe')
    const reconciler = createReconciler(memoryTree(pair.a), oa)
    const responder = createResponder(memoryTree(pair.b), ob)
    for (let q = reconciler.next(); q !== undefined; q = reconciler.next()) {
      const response = responder.respond(q)
      reconciler.receive(response)
      response.fill(0xee)
    }
    const result = reconciler.result()
    expect(result.remoteOnly.map(hex)).toEqual(sortedHex(pair.onlyB))
    expect(result.localOnly.map(hex)).toEqual(sortedHex(pair.onlyA))
    expect(result.differing.map(hex)).toEqual(sortedHex(pair.changed))
  })
})

describe('protocol 2: a collision costs a session, never a difference for good', () => {
  /** One-byte fingerprints, so collisions are frequent; the salts are fixed by `n`. */
  const narrow = (a: MemoryTree, b: MemoryTree, n: number) =>
    resultOf(a, b, { version: 2, fingerprintBytes: 1, salt: salt(`ni${n}`) }, { salt: salt(`nr${n}`) })

  test('every result is a subset of the truth, a few sessions find all of it, and misses are flagged', () => {
    const keys = Array.from({ length: 1500 }, (_, i) => uniform(`c${i}`))
    const pair = pairOf(keys, (i) => (i < 25 ? 0 : i < 50 ? 1 : i % 40 === 0 ? 2 : 3))
    const a = memoryTree(pair.a)
    const b = memoryTree(pair.b)
    const truth = new Set([...pair.onlyA, ...pair.onlyB, ...pair.changed].map(hex))
    const seen = new Set<string>()
    let flagged = 0
    let incomplete = 0
    for (let n = 0; n < 40; n++) {
      const result = narrow(a, b, n)
      // Never a key that is no difference (a collision may put one in another list: a key held
      // with another value whose fingerprint the peer matched elsewhere looks one-sided).
      for (const k of [...result.localOnly, ...result.remoteOnly, ...result.differing]) {
        expect(truth.has(k)).toBe(true)
        seen.add(k)
      }
      const found = result.localOnly.length + result.remoteOnly.length + result.differing.length
      if (found < pair.onlyA.length + pair.onlyB.length + pair.changed.length) incomplete++
      if (result.collision) flagged++
    }
    expect(seen.size).toBe(truth.size)
    expect(incomplete).toBeGreaterThan(0)
    // Most misses are caught in the session (a node whose children all match, or the roots).
    expect(flagged).toBeGreaterThan(0)
  })

  test('a single difference hidden by a collision is flagged, and equal trees never are', () => {
    const keys = Array.from({ length: 500 }, (_, i) => uniform(`s${i}`))
    const a = memoryTree(keys.map((k) => [k, hashOf('v')] as const))
    const b = memoryTree(keys.map((k, i) => [k, hashOf(i === 7 ? 'w' : 'v')] as const))
    let missed = 0
    for (let n = 0; n < 600; n++) {
      const result = narrow(a, b, n)
      if (result.differing.length === 0) {
        missed++
        expect(result).toEqual({ localOnly: [], remoteOnly: [], differing: [], collision: true })
      } else
        expect(result).toEqual({
          localOnly: [],
          remoteOnly: [],
          differing: [hex(keys[7]!)],
          collision: false,
        })
    }
    expect(missed).toBeGreaterThan(0)
    for (let n = 0; n < 20; n++)
      expect(narrow(a, a, n)).toEqual({ localOnly: [], remoteOnly: [], differing: [], collision: false })
  })
})

describe('protocol 2: options and versions are checked', () => {
  test('an unknown version, a bad salt or width is refused with the option named', () => {
    const a = memoryTree([])
    const refused = (options: ReconcileOptions, message: string) => {
      let error: unknown
      try {
        createReconciler(a, options)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(MerkleInputError)
      // The field and the accepted values, named exactly.
      expect((error as MerkleInputError).message).toBe(message)
      expect((error as MerkleInputError).field).toBe(message.slice(0, message.indexOf(':')))
    }
    const version = 'version: expected 1 or 2'
    const saltBytes = 'salt: expected 16 bytes'
    const width = 'fingerprintBytes: expected an integer from 1 to 8'
    refused({ version: 3 as 2 }, version)
    refused({ version: 0 as 2 }, version)
    refused({ version: 2, salt: new Uint8Array(15) }, saltBytes)
    refused({ version: 2, salt: new Uint8Array(17) }, saltBytes)
    refused({ version: 2, salt: [...new Uint8Array(16)] as unknown as Uint8Array }, saltBytes)
    refused({ version: 2, fingerprintBytes: 0 }, width)
    refused({ version: 2, fingerprintBytes: 9 }, width)
    refused({ version: 2, fingerprintBytes: 2.5 }, width)
    // The bounds themselves are accepted.
    for (const fingerprintBytes of [1, 8])
      expect(() => createReconciler(a, { version: 2, fingerprintBytes })).not.toThrow()
    expect(() => createReconciler(a, { version: 1 })).not.toThrow()
    expect(() => createReconciler(a, { version: 2, salt: new Uint8Array(16) })).not.toThrow()
  })

  test('the responder refuses an unknown version, tree flags, the other key mode and a bad width', () => {
    const a = memoryTree([[uniform('x'), hashOf('v')]])
    const request = createReconciler(a, v2('req')[0]).next()!
    const with_ = (at: number, value: number) => {
      const out = request.slice()
      out[at] = value
      return () => createResponder(a).respond(out)
    }
    // Frame flag, then version, flags, width.
    expect(request[1]).toBe(2)
    expect(with_(1, 3)).toThrow(IncompatiblePeerError)
    expect(with_(2, 2)).toThrow(new IncompatiblePeerError('unknown tree flags 2'))
    expect(with_(2, 0)).toThrow(IncompatiblePeerError)
    expect(with_(3, 9)).toThrow(new MalformedMessageError('fingerprint width 9 outside 1-8 bytes'))
    expect(with_(3, 0)).toThrow(new MalformedMessageError('fingerprint width 0 outside 1-8 bytes'))
    const plain = memoryTree([[plainKey(1), hashOf('v')]], false)
    expect(() => createResponder(plain).respond(request)).toThrow(IncompatiblePeerError)
  })
})

describe('protocol 2: what travels', () => {
  test('the initiator lists a node of up to 32 leaves by their fingerprints, a larger one by its children', () => {
    const head = (n: number) => {
      const keys = Array.from({ length: n }, (_, i) => uniform(`h${i}`))
      const request = createReconciler(memoryTree(pairOf(keys, () => 3).a), v2('head')[0]).next()!
      const r = new ByteReader(request)
      expect([r.u8(), r.u8(), r.u8(), r.u8()]).toEqual([0, 2, 1, 4]) // one frame, version 2, uniform keys, width 4
      expect(hex(r.bytes(16))).toBe(hex(salt('ihead')))
      expect(r.varint()).toBe(n)
      r.varint() // message limit
      r.varint() // frame limit
      expect(r.varint()).toBe(0) // no answers
      expect(r.varint()).toBe(1) // one description: the root
      return r.u8()
    }
    expect(head(0)).toBe(0)
    expect(head(32)).toBe(32)
    expect(head(33)).toBe(0xfe)
  })

  test('the responder lists a differing node by keys below the leaf depth, which the larger set decides', () => {
    // Child 0 of the root holds 5 leaves that differ; the others are spread over children 1-31.
    // The responder describes child 0 by its keys when the larger of the two sets has at most 1.5
    // leaves per depth-1 node (48 of 32 nodes), else by children fingerprints (head 0xfe).
    const keysUnder = (n: number) =>
      Array.from({ length: n }, (_, i) => uniform(`u${i}`, i < 5 ? i % 8 : 8 + (i % 31) * 8))
    const head = (initiatorSize: number, responderSize: number) => {
      const [oa, ob] = v2('depth')
      const request = createReconciler(memoryTree(pairOf(keysUnder(initiatorSize), () => 3).a), oa).next()!
      const response = createResponder(
        memoryTree(pairOf(keysUnder(responderSize), (i) => (i < 5 ? 2 : 3)).b),
        ob,
      ).respond(request)
      const r = new ByteReader(response)
      expect(r.u8()).toBe(0) // one frame
      expect(hex(r.bytes(16))).toBe(hex(salt('rdepth')))
      r.bytes(16) // the responder's root
      expect(r.varint()).toBe(responderSize)
      r.varint() // message limit
      r.varint() // frame limit
      expect(r.varint()).toBe(1) // the answer for the root: child 0 differs
      expect(readChildrenReply(r, 32, 0xffffffff).differing & 1).toBe(1)
      expect(r.varint()).toBeGreaterThanOrEqual(1) // descriptions, the first one's head
      return r.u8()
    }
    expect(head(48, 48)).toBe(5)
    expect(head(49, 49)).toBe(0xfe)
    expect(head(49, 48)).toBe(0xfe)
    expect(head(48, 49)).toBe(0xfe)
  })
})

describe('the responder of either version (versioned-session.ts)', () => {
  const limits = {
    maxFrameBytes: 8192,
    maxMessageBytes: 256 * 1024,
    maxSessionBytes: 1 << 30,
    maxRounds: 1000,
  }

  test('before the first message: not finished, never done, the local frame limit, no result; close releases the snapshot once', () => {
    const tree = memoryTree([[uniform('x'), hashOf('v')]])
    const responder = createVersionedSession(tree, 'responder', limits)
    expect(tree.snapshots).toEqual({ taken: 1, released: 0 })
    expect(responder.finished).toBe(false)
    expect(responder.done).toBe(false)
    expect(responder.frameBytes).toBe(8192)
    expect(() => responder.result()).toThrow('unreachable')
    expect(() => responder.build()).toThrow('unreachable')
    responder.close()
    responder.close()
    expect(tree.snapshots).toEqual({ taken: 1, released: 1 })
  })

  test('after a protocol-2 opening it speaks protocol 2 on the same snapshot, and close releases it once', () => {
    const tree = memoryTree([[uniform('x'), hashOf('v')]])
    const other = memoryTree([[uniform('y'), hashOf('v')]])
    const initiator = createVersionedSession(other, 'initiator', limits, { version: 2, salt: salt('a') })
    const responder = createVersionedSession(tree, 'responder', limits, { salt: salt('b') })
    responder.absorb(initiator.build().subarray(1))
    const reply = responder.build()
    // The reply opens with the responder's salt (after the one headroom byte).
    expect(hex(reply.subarray(1, 17))).toBe(hex(salt('b')))
    expect(responder.done).toBe(false)
    expect(responder.result()).toEqual({ localOnly: [], remoteOnly: [], differing: [], collision: false })
    responder.close()
    responder.close()
    expect(tree.snapshots).toEqual({ taken: 1, released: 1 })
    initiator.close()
  })
})

describe('protocol 2: a lying responder', () => {
  const lying = () => {
    const keys = Array.from({ length: 600 }, (_, i) => hashOf(`l${i}`))
    const pair = pairOf(keys, (i) => (i < 20 ? 0 : i < 40 ? 1 : i % 50 === 0 ? 2 : 3))
    const a = memoryTree(pair.a)
    const b = memoryTree(pair.b)
    const [oa, ob] = v2('lie')
    const endsWith = (tamper: (response: Uint8Array, round: number) => Uint8Array): unknown => {
      try {
        session(a, b, oa, ob, tamper)
        return undefined
      } catch (error) {
        return error
      }
    }
    return { a, b, oa, ob, pair, endsWith }
  }

  test('random bytes in place of a response: a typed error, never a crash (property)', () => {
    checkJunkResponses(lying().endsWith, 300, 60)
  })

  test('a truncated response is always refused (property)', () => {
    const { a, b, oa, ob, endsWith } = lying()
    const honest = session(a, b, oa, ob).responses.length
    expect(honest).toBeGreaterThanOrEqual(2)
    checkTruncatedResponses(endsWith, honest, 60)
  })

  test('a flipped byte: a typed error, or a session that still ends with our keys only as ours (property)', () => {
    checkFlippedResponses(lying().endsWith, 60)
  })

  test('a flipped byte in the last response (keys and leaf answers): some flips are InconsistentPeerError', () => {
    const { a, b, oa, ob, endsWith } = lying()
    const honest = session(a, b, oa, ob).responses
    const last = honest.at(-1)!.length
    let inconsistent = 0
    for (let at = 1; at < last; at += Math.ceil(last / 60)) {
      const error = endsWith((r, i) => {
        if (i !== honest.length - 1) return r
        const out = r.slice()
        out[at]! ^= 0x80
        return out
      })
      if (error instanceof InconsistentPeerError) inconsistent++
      else if (error !== undefined) expect(error).toBeInstanceOf(ReconcileError)
    }
    expect(inconsistent).toBeGreaterThan(0)
  })

  test('a stalled key stream is refused: an empty message while keys are owed', () => {
    const many = Array.from({ length: 9000 }, (_, i) => uniform(`st${i}`, i % 8))
    const mine = memoryTree([])
    const theirs = memoryTree(many.map((k) => [k, hashOf('v')] as const))
    const [oa, ob] = v2('stall', { maxMessageBytes: 256 * 1024 })
    const honest = session(mine, theirs, oa, ob)
    expect(honest.remoteOnly).toHaveLength(9000)
    const last = honest.responses.length - 1
    expect(last).toBeGreaterThanOrEqual(2)
    for (const ended of [0, 1]) {
      const stalled = () =>
        session(mine, theirs, oa, ob, (r, i) => (i === last ? Uint8Array.of(0, 0, 0, 0, ended) : r))
      expect(stalled).toThrow(ReconcileError)
    }
  })
})
