import {
  createReconciler,
  createResponder,
  IncompatiblePeerError,
  InconsistentPeerError,
  MerkleInputError,
  type MerkleTree,
  openMerkleTree,
  ReconcileError,
} from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { Fingerprinter } from '../src/fingerprint.js'
import { arbHashKey, arbKey, hashOf, hex, uniqueName, useTempEnv } from './helpers.js'
import { reconcile } from './session-helpers.js'

// Protocol 2 (salted fingerprints, salted-session.ts): exact differences for random sets and salts,
// collisions flagged and never fatal for good, the protocol-1 guards still catching a lying peer.

const temp = useTempEnv()
const V2 = { version: 2 } as const

function treeOf(entries: Map<string, Uint8Array>, keysAreHashes: boolean, keyBytes: Map<string, Uint8Array>) {
  const tree = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes })
  tree.update([...entries].map(([k, valueHash]) => ({ key: keyBytes.get(k)!, valueHash })))
  return tree
}

/** What an exact session returns between two maps of key (hex) to value hash. */
function expected(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>) {
  const localOnly = [...a.keys()].filter((k) => !b.has(k)).sort()
  const remoteOnly = [...b.keys()].filter((k) => !a.has(k)).sort()
  const differing = [...a.keys()].filter((k) => b.has(k) && hex(b.get(k)!) !== hex(a.get(k)!)).sort()
  return { localOnly, remoteOnly, differing }
}

/** Two random sets over shared keys: each key in A, B or both, with equal or different values. */
const arbPair = (arbK: fc.Arbitrary<Uint8Array>) =>
  fc.uniqueArray(fc.tuple(arbK, fc.nat({ max: 5 })), { selector: ([k]) => hex(k), maxLength: 400 })

function split(entries: Array<[Uint8Array, number]>) {
  const a = new Map<string, Uint8Array>()
  const b = new Map<string, Uint8Array>()
  const keys = new Map<string, Uint8Array>()
  for (const [key, kind] of entries) {
    const k = hex(key)
    keys.set(k, key)
    if (kind !== 1) a.set(k, hashOf(`v${k}`))
    if (kind !== 0) b.set(k, hashOf(kind === 2 ? `w${k}` : `v${k}`))
  }
  return { a, b, keys }
}

const sorted = (run: { localOnly: string[]; remoteOnly: string[]; differing: string[] }) => ({
  localOnly: [...run.localOnly].sort(),
  remoteOnly: [...run.remoteOnly].sort(),
  differing: [...run.differing].sort(),
})

describe('protocol 2 finds exactly the differences', () => {
  for (const keysAreHashes of [true, false]) {
    test(`random sets and salts (keysAreHashes: ${keysAreHashes})`, () => {
      const arbK = keysAreHashes ? arbHashKey : arbKey
      fc.assert(
        fc.property(arbPair(arbK), fc.constantFrom(undefined, 4096), (entries, frame) => {
          const { a, b, keys } = split(entries)
          const run = reconcile(treeOf(a, keysAreHashes, keys), treeOf(b, keysAreHashes, keys), {
            ...V2,
            ...(frame === undefined ? {} : { maxFrameBytes: frame }),
          })
          // Four-byte fingerprints: a collision in these small sessions has odds below 10^-6.
          expect(sorted(run)).toEqual(expected(a, b))
          expect(run.responderDone).toBe(true)
        }),
        { numRuns: 40 },
      )
    })
  }

  test('large trees: fewer bytes than protocol 1, within three round trips', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => hashOf(`k${i}`))
    const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    const b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    a.update(keys.slice(0, 19_900).map((key) => ({ key, valueHash: hashOf('v') })))
    b.update(keys.slice(100).map((key, i) => ({ key, valueHash: hashOf(i % 97 === 0 ? 'w' : 'v') })))
    const v1 = reconcile(a, b)
    const v2 = reconcile(a, b, V2)
    expect(sorted(v2)).toEqual(sorted(v1))
    expect(v2.localOnly).toHaveLength(100)
    expect(v2.bytes).toBeLessThan(v1.bytes / 2)
    expect(v2.rounds).toBeLessThanOrEqual(3)
  })
})

describe('collisions cost a session, never a difference for good', () => {
  /** One session with one-byte fingerprints (collisions are frequent), salts fixed by `n`: deterministic. */
  let n = 0
  function narrow(a: MerkleTree, b: MerkleTree) {
    const salt = (side: string) => hashOf(`${side}${n}`).subarray(0, 16)
    n++
    const reconciler = createReconciler(a, { ...V2, fingerprintBytes: 1, salt: salt('i') })
    const responder = createResponder(b, { salt: salt('r') })
    for (let q = reconciler.next(); q !== undefined; q = reconciler.next())
      reconciler.receive(responder.respond(q))
    return reconciler.result()
  }

  test('every result is a subset of the truth, the union of a few sessions is all of it, and misses are flagged or found next time', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => hashOf(`c${i}`))
    const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    const b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    a.update(keys.slice(0, 2950).map((key) => ({ key, valueHash: hashOf('v') })))
    b.update(keys.slice(50).map((key, i) => ({ key, valueHash: hashOf(i % 40 === 0 ? 'w' : 'v') })))
    const truth = reconcile(a, b)
    const all = new Set([...truth.localOnly, ...truth.remoteOnly, ...truth.differing])
    const seen = new Set<string>()
    let flagged = 0
    let incomplete = 0
    for (let session = 0; session < 40; session++) {
      const result = narrow(a, b)
      const got = [...result.localOnly, ...result.remoteOnly, ...result.differing].map(hex)
      for (const k of got) expect(all.has(k)).toBe(true)
      for (const k of got) seen.add(k)
      if (result.collision) flagged++
      if (got.length < all.size) incomplete++
    }
    expect(seen.size).toBe(all.size)
    // With 8-bit fingerprints many sessions collide; most of those are caught in the session.
    expect(incomplete).toBeGreaterThan(0)
    expect(flagged).toBeGreaterThan(0)
  })

  test('a single difference hidden by a collision is flagged (the node whose children all match, or the roots)', () => {
    const keys = Array.from({ length: 500 }, (_, i) => hashOf(`s${i}`))
    const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    const b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    a.update(keys.map((key) => ({ key, valueHash: hashOf('v') })))
    b.update(keys.map((key, i) => ({ key, valueHash: hashOf(i === 7 ? 'w' : 'v') })))
    let missed = 0
    // About one session in a hundred collides on the single difference's path (three 8-bit compares).
    for (let session = 0; session < 1000; session++) {
      const result = narrow(a, b)
      if (result.differing.length === 0) {
        missed++
        expect(result.collision).toBe(true)
      } else expect(result.differing.map(hex)).toEqual([hex(keys[7]!)])
    }
    expect(missed).toBeGreaterThan(0)
  })

  test('equal trees never report a collision or a difference', () => {
    const keys = Array.from({ length: 300 }, (_, i) => hashOf(`e${i}`))
    const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    const b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    for (const t of [a, b]) t.update(keys.map((key) => ({ key, valueHash: hashOf('v') })))
    for (let i = 0; i < 20; i++) {
      const result = narrow(a, b)
      expect(result).toEqual({ localOnly: [], remoteOnly: [], differing: [], collision: false })
    }
  })
})

describe('fingerprints', () => {
  test('a function of seed, width and input; another seed gives others', () => {
    const seedA = new Uint8Array(16).fill(1)
    const seedB = new Uint8Array(16).fill(2)
    const h = hashOf('x')
    const out = (seed: Uint8Array, width: number) => {
      const bytes = new Uint8Array(width)
      new Fingerprinter(seed, width).child(h, bytes, 0)
      return hex(bytes)
    }
    expect(out(seedA, 4)).toBe(out(seedA, 4))
    expect(out(seedA, 4)).not.toBe(out(seedB, 4))
    expect(out(seedA, 3)).toBe(out(seedA, 4).slice(0, 6))
    expect(out(seedA, 8).slice(0, 8)).toBe(out(seedA, 4))
  })

  test('distinct inputs collide about once in 2^(8 × width) salts', () => {
    const pairs = 4000
    let collisions = 0
    for (let i = 0; i < pairs; i++) {
      const fp = new Fingerprinter(hashOf(`seed${i}`).subarray(0, 16), 1)
      const x = new Uint8Array(1)
      const y = new Uint8Array(1)
      fp.leaf(hashOf(`p${i}`), hashOf('v'), x, 0)
      fp.leaf(hashOf(`p${i}`), hashOf('w'), y, 0)
      if (x[0] === y[0]) collisions++
    }
    // Expected 4000 / 256 ≈ 15.6; a biased hash (e.g. one that ignored the value) would be far off.
    expect(collisions).toBeGreaterThan(3)
    expect(collisions).toBeLessThan(40)
  })
})

describe('versions', () => {
  test('a protocol-1 initiator is served by the same responder as before', () => {
    const keys = Array.from({ length: 200 }, (_, i) => hashOf(`r${i}`))
    const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    const b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    a.update(keys.slice(0, 190).map((key) => ({ key, valueHash: hashOf('v') })))
    b.update(keys.slice(10).map((key) => ({ key, valueHash: hashOf('v') })))
    expect(sorted(reconcile(a, b))).toEqual(sorted(reconcile(a, b, V2)))
  })

  test('an unknown version, a bad salt or width is refused', () => {
    const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    expect(() => createReconciler(a, { version: 3 as 2 })).toThrow(MerkleInputError)
    expect(() => createReconciler(a, { ...V2, salt: new Uint8Array(15) })).toThrow(MerkleInputError)
    expect(() => createReconciler(a, { ...V2, fingerprintBytes: 0 })).toThrow(MerkleInputError)
    expect(() => createReconciler(a, { ...V2, fingerprintBytes: 9 })).toThrow(MerkleInputError)
    const request = createReconciler(a, V2).next()!
    const bad = request.slice()
    bad[1] = 3 // the version byte after the frame flag
    expect(() => createResponder(a).respond(bad)).toThrow(IncompatiblePeerError)
    const wide = request.slice()
    wide[3] = 9 // the fingerprint width
    expect(() => createResponder(a).respond(wide)).toThrow(ReconcileError)
  })
})

describe('a lying peer is still caught', () => {
  function pair() {
    const keys = Array.from({ length: 3000 }, (_, i) => hashOf(`l${i}`))
    const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    const b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    a.update(keys.slice(0, 2900).map((key) => ({ key, valueHash: hashOf('v') })))
    b.update(keys.slice(100).map((key, i) => ({ key, valueHash: hashOf(i % 50 === 0 ? 'w' : 'v') })))
    return { a, b }
  }

  function endsWith(
    a: MerkleTree,
    b: MerkleTree,
    tamper: (r: Uint8Array, round: number) => Uint8Array,
  ): unknown {
    try {
      reconcile(a, b, V2, tamper)
      return undefined
    } catch (error) {
      return error
    }
  }

  test('random, truncated or bit-flipped responses end in a typed error or a result naming only our keys as ours', () => {
    const { a, b } = pair()
    const mine = new Set([...a.leaves()].map((leaf) => hex(leaf.key)))
    fc.assert(
      fc.property(
        fc.nat({ max: 2 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (round, at, mask, cut) => {
          let run: ReturnType<typeof reconcile> | undefined
          try {
            run = reconcile(a, b, V2, (r, i) => {
              if (i !== round) return r
              if (cut) return r.subarray(0, at % r.length)
              const out = r.slice()
              out[at % out.length]! ^= mask
              return out
            })
          } catch (error) {
            expect(error).toBeInstanceOf(ReconcileError)
            return
          }
          // A liar can hide differences or invent some, but what we report as ours is ours.
          expect([...run.localOnly, ...run.differing].every((k) => mine.has(k))).toBe(true)
        },
      ),
      { numRuns: 150 },
    )
  })

  test('a key listed outside its node, keys out of order, a lost node: InconsistentPeerError', () => {
    const { a, b } = pair()
    // The last response carries the answers to leaf lists, whose keys are checked against the node.
    const honest: Uint8Array[] = []
    reconcile(a, b, V2, (r) => {
      honest.push(r.slice())
      return r
    })
    let inconsistent = 0
    const last = honest.at(-1)!.length
    for (let at = 0; at < last; at += Math.ceil(last / 40)) {
      const error = endsWith(a, b, (r, i) => {
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

  test('a peer answering with junk from the first byte is refused', () => {
    const { a, b } = pair()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => {
        const error = endsWith(a, b, (r, i) => (i === 0 ? Uint8Array.of(0, ...junk) : r))
        if (error !== undefined) expect(error).toBeInstanceOf(ReconcileError)
      }),
      { numRuns: 100 },
    )
  })
})
