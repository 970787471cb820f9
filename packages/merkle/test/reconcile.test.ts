import { type MerkleTree, openMerkleTree, type TreeChange } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { arbHashKey, arbKey, hashOf, hex, uniqueName, useTempEnv } from './helpers.js'
import { reconcile } from './session-helpers.js'

const temp = useTempEnv()

interface Pair {
  common: Array<[Uint8Array, number]>
  onlyA: Uint8Array[]
  onlyB: Uint8Array[]
  changed: Uint8Array[]
}

/** Two sets built from disjoint key groups: shared, only on one side, or on both with other values. */
const arbPair = (arbKeyOf: fc.Arbitrary<Uint8Array>, max: number) =>
  fc
    .uniqueArray(fc.tuple(arbKeyOf, fc.integer({ min: 0, max: 3 })), {
      selector: ([k]) => hex(k),
      maxLength: max,
    })
    .chain((entries) =>
      fc.tuple(
        fc.constant(entries),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: entries.length, maxLength: entries.length }),
      ),
    )
    .map(([entries, roles]): Pair => {
      const pair: Pair = { common: [], onlyA: [], onlyB: [], changed: [] }
      entries.forEach(([key, v], i) => {
        const role = roles[i]!
        if (role === 0) pair.onlyA.push(key)
        else if (role === 1) pair.onlyB.push(key)
        else if (role === 2) pair.changed.push(key)
        else pair.common.push([key, v])
      })
      return pair
    })

function build(pair: Pair, keysAreHashes: boolean): { a: MerkleTree; b: MerkleTree } {
  const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes })
  const b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes })
  const common: TreeChange[] = pair.common.map(([key, v]) => ({ key, valueHash: hashOf(`v${v}`) }))
  a.update([
    ...common,
    ...pair.onlyA.map((key) => ({ key, valueHash: hashOf('a') })),
    ...pair.changed.map((key) => ({ key, valueHash: hashOf('a') })),
  ])
  b.update([
    ...common,
    ...pair.onlyB.map((key) => ({ key, valueHash: hashOf('b') })),
    ...pair.changed.map((key) => ({ key, valueHash: hashOf('b') })),
  ])
  return { a, b }
}

const sorted = (keys: Uint8Array[]) => keys.map(hex).sort()

function expectExact(pair: Pair, run: ReturnType<typeof reconcile>): void {
  expect(run.localOnly).toEqual(sorted(pair.onlyA))
  expect(run.remoteOnly).toEqual(sorted(pair.onlyB))
  expect(run.differing).toEqual(sorted(pair.changed))
  expect(run.responderDone).toBe(true)
}

describe('reconciliation finds exactly the symmetric difference', () => {
  test.each([
    ['hashed keys', false, arbKey],
    ['uniform keys', true, arbHashKey],
  ])('for random pairs of sets (%s)', (_, keysAreHashes, arbKeyOf) => {
    fc.assert(
      fc.property(arbPair(arbKeyOf, 300), fc.constantFrom(4096, 1 << 22), (pair, maxFrameBytes) => {
        const { a, b } = build(pair, keysAreHashes)
        expectExact(pair, reconcile(a, b, { maxFrameBytes }))
      }),
      { numRuns: 40 },
    )
  })

  test('when both sides are empty, equal, disjoint or one element apart', () => {
    const keys = Array.from({ length: 200 }, (_, i) => hashOf(`key${i}`))
    const cases: Array<[string, Pair]> = [
      ['both empty', { common: [], onlyA: [], onlyB: [], changed: [] }],
      ['equal', { common: keys.map((k) => [k, 0]), onlyA: [], onlyB: [], changed: [] }],
      ['disjoint', { common: [], onlyA: keys.slice(0, 100), onlyB: keys.slice(100), changed: [] }],
      ['initiator empty', { common: [], onlyA: [], onlyB: keys, changed: [] }],
      ['responder empty', { common: [], onlyA: keys, onlyB: [], changed: [] }],
      [
        'one missing here',
        { common: keys.slice(1).map((k) => [k, 0]), onlyA: [], onlyB: keys.slice(0, 1), changed: [] },
      ],
      [
        'one missing there',
        { common: keys.slice(1).map((k) => [k, 0]), onlyA: keys.slice(0, 1), onlyB: [], changed: [] },
      ],
      [
        'one changed',
        { common: keys.slice(1).map((k) => [k, 0]), onlyA: [], onlyB: [], changed: keys.slice(0, 1) },
      ],
    ]
    for (const [name, pair] of cases) {
      for (const keysAreHashes of [false, true]) {
        const { a, b } = build(pair, keysAreHashes)
        expect({ name, ...pick(reconcile(a, b)) }).toEqual({ name, ...pick(expected(pair)) })
      }
    }
  })

  test('equal trees settle in one round trip', () => {
    const keys = Array.from({ length: 500 }, (_, i) => ({ key: hashOf(`k${i}`), valueHash: hashOf('v') }))
    const a = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    const b = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    a.update(keys)
    b.update(keys)
    expect(reconcile(a, b).rounds).toBe(1)
  })

  test('a large pair: 20,000 keys, 60 differences, bytes grow with the differences', () => {
    const pair: Pair = { common: [], onlyA: [], onlyB: [], changed: [] }
    for (let i = 0; i < 20_000; i++) {
      const key = hashOf(`large${i}`)
      if (i < 20) pair.onlyA.push(key)
      else if (i < 40) pair.onlyB.push(key)
      else if (i < 60) pair.changed.push(key)
      else pair.common.push([key, 0])
    }
    const { a, b } = build(pair, true)
    const run = reconcile(a, b)
    expectExact(pair, run)
    expect(run.rounds).toBeLessThanOrEqual(3)
    // A full listing of either tree would take over 20,000 * 32 bytes.
    expect(run.bytes).toBeLessThan(60 * 1500)
  })

  test('with small frames, long answers are pulled frame by frame and still come out exact', () => {
    const pair: Pair = { common: [], onlyA: [], onlyB: [], changed: [] }
    for (let i = 0; i < 3000; i++) {
      const key = hashOf(`frames${i}`)
      if (i % 3 === 0) pair.onlyB.push(key)
      else if (i % 7 === 0) pair.changed.push(key)
      else pair.common.push([key, 0])
    }
    const { a, b } = build(pair, true)
    const small = reconcile(a, b, { maxFrameBytes: 4096 })
    expectExact(pair, small)
    const large = reconcile(a, b)
    expect(small.rounds).toBeGreaterThan(large.rounds)
    expect(small.rounds).toBeLessThanOrEqual(Math.floor(small.bytes / 4096) + 3)
  })
})

function expected(pair: Pair) {
  return { localOnly: sorted(pair.onlyA), remoteOnly: sorted(pair.onlyB), differing: sorted(pair.changed) }
}

function pick(run: { localOnly: string[]; remoteOnly: string[]; differing: string[] }) {
  return { localOnly: run.localOnly, remoteOnly: run.remoteOnly, differing: run.differing }
}
