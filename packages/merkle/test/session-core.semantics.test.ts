import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ByteReader, compareBytes } from '../src/bytes.js'
import { hashLeaves } from '../src/hash.js'
import { createReconciler, createResponder, type ReconcileOptions } from '../src/reconcile.js'
import { readChildrenReply } from '../src/wire.js'
import { hashOf, hex } from './helpers.js'
import {
  type Entries,
  expectExact,
  type Pair,
  pairOf,
  type Run,
  session,
  sortedHex,
} from './memory-session.js'
import { type MemoryTree, memoryTree } from './memory-tree.js'

// Reconciliation (session.ts and the frames of reconcile.ts) over in-memory trees: no LMDB, so each
// session takes about a millisecond and a mutation run can afford to rerun all of these for every
// mutant of the session. The rule they pin: the initiator's result is exactly the symmetric
// difference (keys only it has, keys only the peer has, keys both have with other values), for any
// pair of sets, key mode and limits; a difference is never dropped and nothing extra is reported.
// The refusals of lying frames are in session-refusals.semantics.test.ts.

function both(pair: Pair, keysAreHashes: boolean, optionsA: ReconcileOptions = {}, optionsB = optionsA) {
  const a = memoryTree(pair.a, keysAreHashes)
  const b = memoryTree(pair.b, keysAreHashes)
  const run = session(a, b, optionsA, optionsB)
  expectExact(pair, run)
  // Each side took one snapshot for the session and released it when the session ended.
  expect(a.snapshots).toEqual({ taken: 1, released: 1 })
  expect(b.snapshots).toEqual({ taken: 1, released: 1 })
  return run
}

/** A uniform key: `prefix` bytes, then bytes drawn from `seed`. */
function uniform(seed: string, prefix: number[] = []): Uint8Array {
  const key = hashOf(seed)
  key.set(prefix)
  return key
}

const plainKey = (i: number) => new TextEncoder().encode(`key-${i}`)

/** `n` uniform keys: the first `under0` under root child 0 (first 5 bits zero), the others never. */
function keysUnder(n: number, under0: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => uniform(`u${i}`, [i < under0 ? 0 : 8 + (i % 31) * 8]))
}
const SMALL: ReconcileOptions = { maxFrameBytes: 4096, maxMessageBytes: 256 * 1024 }

describe('the result is exactly the symmetric difference', () => {
  test.each([
    ['uniform', true],
    ['hashed', false],
  ])('for random pairs of sets (%s keys, property)', (_, keysAreHashes) => {
    const arbKeyOf = keysAreHashes
      ? fc.uint8Array({ minLength: 32, maxLength: 32 })
      : fc.integer({ min: 0, max: 2000 }).map(plainKey)
    fc.assert(
      fc.property(
        fc.uniqueArray(arbKeyOf, { selector: hex, maxLength: 250 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 250, maxLength: 250 }),
        fc.constantFrom<ReconcileOptions>({}, SMALL, { maxFrameBytes: 4096 }),
        (keys, roles, options) => {
          both(
            pairOf(keys, (i) => roles[i]!),
            keysAreHashes,
            options,
          )
        },
      ),
      { numRuns: 60 },
    )
  })

  test('both empty, equal, disjoint, one side empty, one key apart', () => {
    const keys = Array.from({ length: 200 }, (_, i) => uniform(`k${i}`))
    const cases: Array<[string, (i: number) => number]> = [
      ['equal', () => 3],
      ['disjoint', (i) => (i < 100 ? 0 : 1)],
      ['initiator empty', () => 1],
      ['responder empty', () => 0],
      ['one only on the responder', (i) => (i === 7 ? 1 : 3)],
      ['one only on the initiator', (i) => (i === 7 ? 0 : 3)],
      ['one changed', (i) => (i === 7 ? 2 : 3)],
    ]
    for (const keysAreHashes of [true, false]) {
      const empty = both(
        pairOf([], () => 3),
        keysAreHashes,
      )
      expect(empty.rounds).toBe(1)
      for (const [name, role] of cases) {
        const pair = pairOf(keys, role)
        const run = session(memoryTree(pair.a, keysAreHashes), memoryTree(pair.b, keysAreHashes))
        expect({ name, ...run, rounds: 0, requests: [], responses: [] }).toEqual({
          name,
          localOnly: sortedHex(pair.onlyA),
          remoteOnly: sortedHex(pair.onlyB),
          differing: sortedHex(pair.changed),
          rounds: 0,
          requests: [],
          responses: [],
          responderDone: true,
        })
      }
    }
  })

  test('equal trees settle in one round trip, and a single difference in a few', () => {
    const keys = Array.from({ length: 500 }, (_, i) => uniform(`eq${i}`))
    expect(
      both(
        pairOf(keys, () => 3),
        true,
      ).rounds,
    ).toBe(1)
    const one = both(
      pairOf(keys, (i) => (i === 3 ? 2 : 3)),
      true,
    )
    expect(one.rounds).toBeLessThanOrEqual(3)
  })

  test('keys sharing all but their last bits: the descent reaches the deepest level', () => {
    // 40 uniform keys equal in their first 31 bytes: every node on the way down holds them all.
    const keys = Array.from({ length: 40 }, (_, i) => {
      const key = new Uint8Array(32).fill(0xa5)
      key[31] = i * 5
      return key
    })
    for (const roles of [
      (i: number) => (i % 4 === 0 ? 0 : i % 4 === 1 ? 1 : i % 4 === 2 ? 2 : 3),
      (i: number) => (i === 39 ? 2 : 3),
      (i: number) => (i === 0 ? 1 : 3),
      (i: number) => (i < 20 ? 0 : 3),
    ])
      both(pairOf(keys, roles), true)
  })

  test('a subtree only one side has is listed whole, also across several messages', () => {
    // 9,000 uniform keys under root child 0 only the responder has: their listing (32 bytes
    // each) is larger than the smallest message, so it streams over several messages.
    const many = Array.from({ length: 9000 }, (_, i) => uniform(`m${i}`, [i % 8]))
    const shared = Array.from({ length: 300 }, (_, i) => uniform(`s${i}`, [0x40 + (i % 0xbf)]))
    const keys = [...many, ...shared]
    const pair = pairOf(keys, (i) => (i < many.length ? 1 : i % 3 === 0 ? 2 : 3))
    const small = both(pair, true, SMALL)
    const large = both(pair, true)
    expect(small.rounds).toBeGreaterThan(large.rounds)
    // And the other way round: the initiator lists the subtree only it has from its own snapshot.
    const mirrored = pairOf(keys, (i) => (i < many.length ? 0 : i % 3 === 0 ? 2 : 3))
    both(mirrored, true, SMALL)
  })

  test('many differing nodes under the smallest message limit: answers left over go in the next message', () => {
    // With 3,000 keys a third of them changed, hundreds of nodes differ at each level: more
    // answers and descriptions than one 256 KiB message holds with its reserve per item.
    const keys = Array.from({ length: 3000 }, (_, i) => uniform(`many${i}`))
    const pair = pairOf(keys, (i) => (i % 3 === 0 ? 2 : i % 7 === 0 ? 1 : i % 11 === 0 ? 0 : 3))
    const small = both(pair, true, SMALL)
    const large = both(pair, true)
    expect(small.rounds).toBeGreaterThan(large.rounds)
  })

  test('hashed keys: a large pair with few differences', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => plainKey(i))
    both(
      pairOf(keys, (i) => (i % 300 === 0 ? 0 : i % 300 === 1 ? 1 : i % 300 === 2 ? 2 : 3)),
      false,
      SMALL,
    )
  })
})

/** A whole session whose response frames are overwritten once received: the result must not share their bytes. */
function resultAfterWipe(initiator: MemoryTree, responderTree: MemoryTree) {
  const reconciler = createReconciler(initiator)
  const responder = createResponder(responderTree)
  const frames: Uint8Array[] = []
  for (let q = reconciler.next(); q !== undefined; q = reconciler.next()) {
    const response = responder.respond(q).slice()
    frames.push(response)
    reconciler.receive(response)
  }
  for (const frame of frames) frame.fill(0xee)
  return reconciler.result()
}
describe('what travels', () => {
  /** The head byte of the first node description in a message (after `skip` varints and bytes). */
  function firstDescriptionHead(message: Uint8Array, skip: (r: ByteReader) => void): number {
    const r = new ByteReader(message)
    expect(r.u8()).toBe(0) // one frame
    skip(r)
    expect(r.varint()).toBeGreaterThanOrEqual(1) // descriptions, the first one's head
    return r.u8()
  }

  test('a node of at most two leaves is described by its leaves, a larger one above the leaf depth by its children', () => {
    const request = (n: number) => createReconciler(memoryTree(pairOf(keysUnder(n, 0), () => 3).a)).next()!
    const hello = (r: ByteReader) => {
      r.u8()
      r.u8()
      r.varint()
      r.varint()
      r.varint()
      expect(r.varint()).toBe(0) // no answers
    }
    expect(firstDescriptionHead(request(0), hello)).toBe(0)
    expect(firstDescriptionHead(request(2), hello)).toBe(2)
    expect(firstDescriptionHead(request(3), hello)).toBe(0xfe)
  })

  test('the leaf depth: nodes of up to 32 leaves are listed once the larger set has at most 1.5 leaves per node', () => {
    // Child 0 of the root holds 5 leaves that differ; the rest of the set is spread over the other
    // children. The responder describes child 0 (depth 1) by its leaves when the larger of the two
    // sets has at most 1.5 leaves per depth-1 node (48 of 32 nodes), else by its children.
    const head = (initiatorSize: number, responderSize: number) => {
      const a = keysUnder(initiatorSize, 5)
      const b = keysUnder(responderSize, 5)
      const response = createResponder(memoryTree(pairOf(b, (i) => (i < 5 ? 2 : 3)).b)).respond(
        createReconciler(memoryTree(pairOf(a, () => 3).a)).next()!,
      )
      return firstDescriptionHead(response, (r) => {
        r.varint()
        r.varint()
        r.varint()
        expect(r.varint()).toBe(1) // the answer for the root: child 0 differs (and the extra key's child)
        const reply = readChildrenReply(r, 32, 0xffffffff)
        expect(reply.differing & 1).toBe(1)
      })
    }
    expect(head(48, 48)).toBe(5)
    expect(head(49, 49)).toBe(0xfe)
    // Either side's count decides: the larger one.
    expect(head(49, 48)).toBe(0xfe)
    expect(head(48, 49)).toBe(0xfe)
  })

  test('bytes grow with the differences, not with the set', () => {
    const keys = Array.from({ length: 4000 }, (_, i) => uniform(`big${i}`))
    const bytes = (run: Run) => [...run.requests, ...run.responses].reduce((n, f) => n + f.length, 0)
    const few = both(
      pairOf(keys, (i) => (i < 6 ? i % 3 : 3)),
      true,
    )
    const more = both(
      pairOf(keys, (i) => (i < 60 ? i % 3 : 3)),
      true,
    )
    // A listing of either tree would take 4,000 * 32 bytes.
    expect(bytes(few)).toBeLessThan(6 * 1500)
    expect(bytes(more)).toBeGreaterThan(3 * bytes(few))
    expect(bytes(more)).toBeLessThan(60 * 1500)
  })

  test('a value hash travels as its first 16 bytes: a difference past them is not seen', () => {
    // The wire compares 16-byte prefixes of value hashes (WIRE_HASH_BYTES); two hashes that share
    // them are the same value to reconciliation. This pins the prefix length, from both sides.
    const key = uniform('one')
    const v = hashOf('v')
    const late = v.slice()
    late[20]! ^= 1
    const early = v.slice()
    early[15]! ^= 1
    const run = (w: Uint8Array) => session(memoryTree([[key, v]]), memoryTree([[key, w]]))
    expect(run(late).differing).toEqual([])
    expect(run(early).differing).toEqual([hex(key)])
    // Same under a node described by its children (many leaves), where children hashes compare.
    const keys = Array.from({ length: 300 }, (_, i) => uniform(`c${i}`))
    const base: Entries = keys.map((k) => [k, v])
    const changed = (w: Uint8Array): Entries => keys.map((k, i) => [k, i === 9 ? w : v])
    const deep = (w: Uint8Array) => session(memoryTree(base), memoryTree(changed(w)))
    expect(deep(early).differing).toEqual([hex(keys[9]!)])
    // A bucket hash covers the whole value hash, so the late change shows in the children
    // hashes; at the leaves it compares equal. The session must still end, with no difference.
    expect(hashLeaves([{ path: keys[9]!, valueHash: late }], 0, 1)).not.toEqual(
      hashLeaves([{ path: keys[9]!, valueHash: v }], 0, 1),
    )
    expect(() => deep(late)).toThrow(/leaves all match|equal leaves/)
  })

  test('the result does not alias the frames the peer sent: overwriting them afterwards changes nothing', () => {
    // 400 keys: most differences surface in the responder's answers to leaf lists; 40 keys: in the
    // leaf lists it sends for nodes of one or two leaves.
    for (const [keysAreHashes, size] of [
      [true, 400],
      [false, 400],
      [true, 40],
      [false, 40],
    ] as const) {
      const keys = Array.from({ length: size }, (_, i) => (keysAreHashes ? uniform(`f${i}`) : plainKey(i)))
      // Keys only the responder has reach the initiator three ways: as its answer to a leaf list,
      // in its own leaf list, and streamed from a subtree only it has.
      const pair = pairOf(keys, (i) => (i % 5 === 0 ? 1 : i % 5 === 1 ? 2 : 3))
      const result = resultAfterWipe(memoryTree(pair.a, keysAreHashes), memoryTree(pair.b, keysAreHashes))
      expect(result.remoteOnly.map(hex)).toEqual(sortedHex(pair.onlyB))
      expect(result.differing.map(hex)).toEqual(sortedHex(pair.changed))
    }
    // A subtree only the responder has, streamed.
    const alone = Array.from({ length: 200 }, (_, i) => uniform(`alone${i}`, [i % 4]))
    const result = resultAfterWipe(memoryTree([]), memoryTree(alone.map((k) => [k, hashOf('v')] as const)))
    expect(result.remoteOnly.map(hex)).toEqual(sortedHex(alone))
  })

  test('keys come back sorted and copied: the result does not alias the trees or an earlier result', () => {
    const keys = Array.from({ length: 50 }, (_, i) => uniform(`k${i}`))
    const pair = pairOf(keys, (i) => i % 4)
    const a = memoryTree(pair.a)
    const reconciler = createReconciler(a)
    const responder = createResponder(memoryTree(pair.b))
    for (let q = reconciler.next(); q !== undefined; q = reconciler.next())
      reconciler.receive(responder.respond(q))
    const result = reconciler.result()
    for (const list of [result.localOnly, result.remoteOnly, result.differing]) {
      expect(list.map(hex)).toEqual(list.map(hex).sort())
      for (const key of list) expect(keys.some((k) => k === key)).toBe(false)
    }
    result.localOnly.pop()
    result.remoteOnly.pop()
    result.differing.pop()
    const again = reconciler.result()
    expect(again.localOnly.map(hex)).toEqual(sortedHex(pair.onlyA))
    expect(again.remoteOnly.map(hex)).toEqual(sortedHex(pair.onlyB))
    expect(again.differing.map(hex)).toEqual(sortedHex(pair.changed))
    // Keys listed from the initiator's own subtrees are copies too.
    for (const key of again.localOnly) expect(pair.a.some(([k]) => k === key)).toBe(false)
    expect(compareBytes(again.localOnly[0]!, again.localOnly[1]!)).toBeLessThan(0)
  })
})
