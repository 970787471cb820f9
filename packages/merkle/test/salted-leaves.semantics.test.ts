import { describe, expect, test } from 'vitest'
import { ByteReader } from '../src/bytes.js'
import { InconsistentPeerError } from '../src/errors.js'
import type { Children } from '../src/node-codec.js'
import { childPath, PATH_BYTES } from '../src/path.js'
import { createReconciler, createResponder, type ReconcileOptions } from '../src/reconcile.js'
import type { TreeNode, TreePosition, TreeSnapshot } from '../src/tree.js'
import { readChildrenReply } from '../src/wire.js'
import { hashOf, hex } from './helpers.js'
import { pairOf } from './memory-session.js'
import { type MemoryTree, memoryTree } from './memory-tree.js'

// Protocol 2's leaf lists and their answers (salted-session.ts), over in-memory trees: which node
// the responder lists by keys, when a leaf list is answered by leaves or by a description, and the
// collision flag of each way a node found different turns out to hold the same leaves (a collision,
// or a responder that lies). Written for run O's survivors of salted-session.ts. Nothing runs at
// module level (a tree built there would make the mutants it reaches static).

const salt = (seed: string) => hashOf(seed).subarray(0, 16)
const v2 = (seed: string): [ReconcileOptions, ReconcileOptions] => [
  { version: 2, salt: salt(`i${seed}`) },
  { salt: salt(`r${seed}`) },
]
/** A uniform key (its own path); `first` sets its first byte, whose top 5 bits are its root child. */
const uniform = (seed: string, first?: number) => {
  const key = hashOf(seed)
  if (first !== undefined) key[0] = first
  return key
}
const sortedHex = (keys: Uint8Array[]) => keys.map(hex).sort()
const ROOT: TreePosition = { path: new Uint8Array(PATH_BYTES), depth: 0 }
const childOfRoot = (digit: number): TreePosition => ({ path: childPath(ROOT.path, 0, digit), depth: 1 })

interface Outcome {
  localOnly: string[]
  remoteOnly: string[]
  differing: string[]
  collision: boolean
  rounds: number
}

/** A whole protocol-2 session with fixed salts: its result, collision flag and round trips. */
function run(a: MemoryTree, b: MemoryTree, seed = 'leaves'): Outcome {
  const [oa, ob] = v2(seed)
  const reconciler = createReconciler(a, oa)
  const responder = createResponder(b, ob)
  let n = 0
  for (let q = reconciler.next(); q !== undefined; q = reconciler.next()) {
    reconciler.receive(responder.respond(q))
    if (++n > 1000) throw new Error('session did not end')
  }
  const result = reconciler.result()
  return {
    localOnly: sortedHex(result.localOnly),
    remoteOnly: sortedHex(result.remoteOnly),
    differing: sortedHex(result.differing),
    collision: result.collision,
    rounds: reconciler.stats.rounds,
  }
}

interface Lies {
  /** Child entries the responder lists with a changed hash: `digit` of `node` (at `depth`). */
  flip?: Array<{ depth: number; digit: number; node?: TreeNode | undefined }>
  /** A bucket whose leaves the responder lists with its third and fourth leaf swapped. */
  swapAt?: TreePosition
}

/** `tree` served by a responder that lies: hashes that claim a difference its leaves do not have, or leaves out of order. */
function lying(tree: MemoryTree, lies: Lies): MemoryTree {
  const flipped = (children: Children, node: TreeNode, depth: number): Children =>
    children.map((entry, digit) => {
      const lie = lies.flip?.some((f) => f.depth === depth && f.digit === digit && (f.node ?? node) === node)
      if (entry === undefined || !lie) return entry
      const hash = entry.hash.slice()
      hash[0]! ^= 1
      return { ...entry, hash }
    })
  const swapped = (pos: TreePosition, node: TreeNode | undefined): TreeNode | undefined => {
    const at = lies.swapAt
    if (node?.kind !== 'bucket' || at === undefined || at.depth !== pos.depth) return node
    if (hex(at.path) !== hex(pos.path)) return node
    const leaves = node.leaves.slice()
    ;[leaves[2], leaves[3]] = [leaves[3]!, leaves[2]!]
    return { ...node, leaves }
  }
  const snapshot = (): TreeSnapshot => {
    const inner = tree.snapshot()
    return {
      node: (pos) => swapped(pos, inner.node(pos)),
      children: (node, depth) => flipped(inner.children(node, depth), node, depth),
      leavesAt: (pos, after) => inner.leavesAt(pos, after),
      root: () => inner.root(),
      count: () => inner.count(),
      get released() {
        return inner.released
      },
      release: () => inner.release(),
    }
  }
  return { ...tree, snapshot }
}

/**
 * `total` keys: the first `inChild0` under child 0 of the root, the others spread over children
 * 1-31 (so a tree of 200 has its leaf depth at 2, one of 48 at 1).
 */
const spread = (total: number, inChild0: number, prefix = 's') =>
  Array.from({ length: total }, (_, i) => uniform(`${prefix}${i}`, i < inChild0 ? i % 8 : 8 + (i % 31) * 8))

/** The head of the responder's first description (child 0 of the root, found different): a leaf count, or 0xfe for children. */
function firstDescriptionHead(a: MemoryTree, b: MemoryTree): number {
  const [oa, ob] = v2('head')
  const response = createResponder(b, ob).respond(createReconciler(a, oa).next()!)
  const r = new ByteReader(response)
  expect(r.u8()).toBe(0) // one frame
  r.bytes(32) // the responder's salt and root
  expect(r.varint()).toBe(b.count())
  r.varint() // message limit
  r.varint() // frame limit
  expect(r.varint()).toBe(1) // the answer for the root
  expect(readChildrenReply(r, 32, 0xffffffff).differing & 1).toBe(1) // child 0 differs
  expect(r.varint()).toBeGreaterThanOrEqual(1)
  return r.u8()
}

describe('protocol 2: the responder lists a node by keys', () => {
  test('above the leaf depth only a node of one or two leaves; a third makes it list children', () => {
    for (const [inChild0, head] of [
      [1, 1],
      [2, 2],
      [3, 0xfe],
    ] as const) {
      const keys = spread(200, inChild0)
      // The first key of child 0 has another value on the responder's side.
      const pair = pairOf(keys, (i) => (i === 0 ? 2 : 3))
      const a = memoryTree(pair.a)
      const b = memoryTree(pair.b)
      expect(firstDescriptionHead(a, b)).toBe(head)
      // The keyed list settles the difference in the first round trip, children take another.
      expect(run(a, b)).toEqual({
        localOnly: [],
        remoteOnly: [],
        differing: [hex(keys[0]!)],
        collision: false,
        rounds: inChild0 <= 2 ? 1 : 2,
      })
    }
  })

  test('at the leaf depth up to 32 leaves, 33 by children', () => {
    for (const [inChild0, head] of [
      [32, 32],
      [33, 0xfe],
    ] as const) {
      const keys = spread(48, inChild0)
      const pair = pairOf(keys, (i) => (i === 1 ? 2 : 3))
      expect(firstDescriptionHead(memoryTree(pair.a), memoryTree(pair.b))).toBe(head)
    }
  })
})

describe('protocol 2: a leaf list is answered by leaves', () => {
  test('up to 64 leaves in the same round trip, 65 by describing the node instead', () => {
    const mine = Array.from({ length: 10 }, (_, i) => uniform(`m${i}`))
    for (const total of [64, 65]) {
      const theirs = Array.from({ length: total - 10 }, (_, i) => uniform(`t${i}`))
      const v = hashOf('v')
      const a = memoryTree(mine.map((k) => [k, v] as const))
      const b = memoryTree([...mine, ...theirs].map((k) => [k, v] as const))
      const outcome = run(a, b)
      expect(outcome).toEqual({
        localOnly: [],
        remoteOnly: sortedHex(theirs),
        differing: [],
        collision: false,
        rounds: outcome.rounds,
      })
      // The root is listed by 10 fingerprints: 64 leaves answer it at once, 65 cost a round trip more.
      expect(outcome.rounds).toBe(total === 64 ? 1 : 2)
    }
  })

  test('every kind of difference found through leaf lists two levels down: exact, and no collision', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => uniform(`k${i}`))
    // Roles of keys 0 and 1 (0: only mine, 1: only theirs, 2: another value), the rest equal.
    for (const roles of [[0], [1], [2], [0, 2], [0, 1], [1, 2]]) {
      const pair = pairOf(keys, (i) => roles[i] ?? 3)
      expect(run(memoryTree(pair.a), memoryTree(pair.b))).toEqual({
        localOnly: sortedHex(pair.onlyA),
        remoteOnly: sortedHex(pair.onlyB),
        differing: sortedHex(pair.changed),
        collision: false,
        rounds: expect.any(Number),
      })
    }
  })
})

describe('protocol 2: a node found different whose leaves are all the same is a collision', () => {
  // Key 0 is only mine, found as usual; the responder claims another node of the root differs.
  const setup = () => {
    const keys = Array.from({ length: 2000 }, (_, i) => uniform(`c${i}`))
    const pair = pairOf(keys, (i) => (i === 0 ? 0 : 3))
    const a = memoryTree(pair.a)
    const b = memoryTree(pair.b)
    const x = ((keys[0]![0]! >>> 3) + 1) % 32
    const expected = { localOnly: [hex(keys[0]!)], remoteOnly: [], differing: [], rounds: expect.any(Number) }
    return { a, b, x, expected }
  }

  test('honest, the same trees: no collision', () => {
    const { a, b, expected } = setup()
    expect(run(a, b)).toEqual({ ...expected, collision: false })
  })

  test('its children all match the initiator’s (described by children fingerprints)', () => {
    const { a, b, x, expected } = setup()
    const liar = lying(b, { flip: [{ depth: 0, digit: x }] })
    expect(run(a, liar)).toEqual({ ...expected, collision: true })
  })

  test('its leaves all match the initiator’s leaf list two levels down', () => {
    const { a, b, x, expected } = setup()
    const node = b.node(childOfRoot(x))!
    const z = b.children(node, 1).findIndex((child) => child !== undefined && child.count <= 32)
    const liar = lying(b, {
      flip: [
        { depth: 0, digit: x },
        { depth: 1, digit: z, node },
      ],
    })
    expect(run(a, liar)).toEqual({ ...expected, collision: true })
  })

  test('its keyed leaves are all the initiator’s, with the same values', () => {
    // Child 0 holds two leaves, the same on both sides (listed by keys); key 5 is only mine.
    const keys = spread(200, 2, 'kc')
    const pair = pairOf(keys, (i) => (i === 5 ? 0 : 3))
    const a = memoryTree(pair.a)
    const b = memoryTree(pair.b)
    const expected = { localOnly: [hex(keys[5]!)], remoteOnly: [], differing: [], rounds: expect.any(Number) }
    expect(run(a, b)).toEqual({ ...expected, collision: false })
    expect(run(a, lying(b, { flip: [{ depth: 0, digit: 0 }] }))).toEqual({ ...expected, collision: true })
  })
})

describe('protocol 2: a lying keyed leaf list', () => {
  test('keys out of order at the fourth key are refused (InconsistentPeerError)', () => {
    // Child 0 holds 5 leaves with other values on the responder's side: listed by keys (leaf depth 1).
    const keys = spread(48, 5, 'o')
    const pair = pairOf(keys, (i) => (i < 5 ? 2 : 3))
    const a = memoryTree(pair.a)
    const b = memoryTree(pair.b)
    expect(run(a, b).differing).toEqual(sortedHex(keys.slice(0, 5)))
    const liar = lying(b, { swapAt: childOfRoot(0) })
    expect(() => run(a, liar)).toThrow(InconsistentPeerError)
    expect(() => run(a, liar)).toThrow('keys out of order')
  })
})
