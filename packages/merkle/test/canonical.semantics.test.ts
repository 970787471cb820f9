import { hex } from '@provsync/testing'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  BUCKET_MAX,
  bucketChildren,
  buildSubtree,
  hashBucket,
  LeafCursor,
  type LeafRecord,
  recordChildren,
} from '../src/canonical.js'
import { hashLeaves, innerHash } from '../src/hash.js'
import { type ChildEntry, encodeNode, totalCount } from '../src/node-codec.js'
import { digitAt, fanoutAt, sharesPrefix } from '../src/path.js'

const compare = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b))
const leaf = (path: Uint8Array, n = 0): LeafRecord => ({ path, valueHash: new Uint8Array(32).fill(n) })

// Paths that crowd into few subtrees, so buckets overflow at several depths.
const arbLeaves = fc
  .uniqueArray(
    fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.uint8Array({ minLength: 30, maxLength: 30 })),
    { maxLength: 120, selector: ([a, b, rest]) => `${a}.${b}.${hex(rest)}` },
  )
  .map((items) =>
    items
      .map(([a, b, rest]) => leaf(Uint8Array.from([a << 6, b << 4, ...rest]), a + b))
      .sort((x, y) => compare(x.path, y.path)),
  )

type Event = string
/** The model: a subtree below the root with at most BUCKET_MAX leaves is a bucket, else an inner node. */
function model(
  leaves: LeafRecord[],
  path: Uint8Array,
  depth: number,
  events: Event[],
): ChildEntry | undefined {
  if (leaves.length === 0) return undefined
  if (depth > 0 && leaves.length <= BUCKET_MAX) {
    events.push(`bucket ${depth} ${hex(leaves[0]!.path)} ${leaves.length}`)
    return { hash: hashLeaves(leaves), count: leaves.length }
  }
  const children: (ChildEntry | undefined)[] = new Array(fanoutAt(depth)).fill(undefined)
  for (let digit = 0; digit < fanoutAt(depth); digit++) {
    const under = leaves.filter((l) => digitAt(l.path, depth) === digit)
    if (under.length > 0) children[digit] = model(under, under[0]!.path, depth + 1, events)
  }
  const encoded = encodeNode(children)
  events.push(`inner ${depth} ${hex(path)} ${hex(encoded)}`)
  return { hash: innerHash(encoded), count: totalCount(children) }
}

function build(leaves: LeafRecord[]) {
  const events: Event[] = []
  const cursor = new LeafCursor(leaves)
  const root = buildSubtree(cursor, leaves[0]?.path ?? new Uint8Array(32), 0, {
    inner: (path, depth, encoded) => events.push(`inner ${depth} ${hex(path)} ${hex(encoded)}`),
    bucket: (_, depth, under) => events.push(`bucket ${depth} ${hex(under[0]!.path)} ${under.length}`),
  })
  return { root, events, rest: cursor.peek() }
}

describe('canonical shape against a model (property)', () => {
  test('buildSubtree reports the same inner nodes and buckets, in order, and the same root', () => {
    fc.assert(
      fc.property(arbLeaves, (leaves) => {
        const events: Event[] = []
        const expected = model(leaves, leaves[0]?.path ?? new Uint8Array(32), 0, events)
        const got = build(leaves)
        expect(got.root).toEqual(expected)
        expect(got.events).toEqual(events)
        expect(got.rest).toBeUndefined()
      }),
    )
  })

  test('a subtree stops at the first leaf outside it and leaves that leaf in the stream', () => {
    fc.assert(
      fc.property(arbLeaves, fc.integer({ min: 1, max: 3 }), (leaves, depth) => {
        if (leaves.length === 0) return
        const first = leaves[0]!.path
        const inside = leaves.filter((l) => sharesPrefix(l.path, first, depth))
        const cursor = new LeafCursor(leaves)
        const entry = buildSubtree(cursor, first, depth, { inner() {} })
        expect(entry?.count).toBe(inside.length)
        expect(cursor.peek()).toBe(leaves[inside.length])
        if (inside.length <= BUCKET_MAX) expect(entry?.hash).toEqual(hashLeaves(inside))
      }),
    )
  })

  test('exactly BUCKET_MAX leaves make a bucket, one more an inner node', () => {
    const paths = (n: number) =>
      Array.from({ length: n }, (_, i) => leaf(Uint8Array.from([0, i, ...new Uint8Array(30)]))).sort((x, y) =>
        compare(x.path, y.path),
      )
    const full = build(
      [leaf(new Uint8Array(32).fill(0xff)), ...paths(BUCKET_MAX)].sort((x, y) => compare(x.path, y.path)),
    )
    expect(full.events.filter((e) => e.startsWith('inner'))).toHaveLength(1)
    const over = build([...paths(BUCKET_MAX + 1)])
    expect(over.events.filter((e) => e.startsWith('inner')).length).toBeGreaterThan(1)
  })
})

describe('buckets and the leaf cursor', () => {
  test('hashBucket: the leaves from..to, or nothing when empty', () => {
    const leaves = [1, 2, 3].map((n) => leaf(new Uint8Array(32).fill(n), n))
    expect(hashBucket(leaves)).toEqual({ hash: hashLeaves(leaves), count: 3 })
    expect(hashBucket(leaves, 1, 3)).toEqual({ hash: hashLeaves(leaves, 1, 3), count: 2 })
    expect(hashBucket(leaves, 2, 2)).toBeUndefined()
    expect(hashBucket([])).toBeUndefined()
  })

  test('the cursor gives back what was unread, in order, before the rest of the stream', () => {
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => leaf(new Uint8Array(32).fill(n)))
    const cursor = new LeafCursor([a!, b!, c!, d!])
    expect(cursor.take()).toBe(a)
    expect(cursor.take()).toBe(b)
    cursor.unread([a!, b!])
    expect(cursor.peek()).toBe(a)
    expect([cursor.take(), cursor.take(), cursor.take(), cursor.peek()]).toEqual([a, b, c, d])
    expect([cursor.take(), cursor.take(), cursor.peek()]).toEqual([d, undefined, undefined])
  })

  test('bucket children from leaves and from stored records agree, grouped by digit (property)', () => {
    fc.assert(
      fc.property(arbLeaves, fc.integer({ min: 0, max: 5 }), (leaves, depth) => {
        if (leaves.length === 0) return
        // A bucket's leaves: under one node at `depth`.
        const some = leaves.filter((l) => sharesPrefix(l.path, leaves[0]!.path, depth)).slice(0, BUCKET_MAX)
        const children = bucketChildren(some, depth)
        const records = new Uint8Array(some.length * 64)
        some.forEach((l, i) => {
          records.set(l.path, i * 64)
          records.set(l.valueHash, i * 64 + 32)
        })
        expect(recordChildren(records, depth)).toEqual(children)
        for (let digit = 0; digit < fanoutAt(depth); digit++) {
          const under = some.filter((l) => digitAt(l.path, depth) === digit)
          expect(children[digit]).toEqual(hashBucket(under))
        }
      }),
    )
  })
})
