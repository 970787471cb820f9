import {
  EMPTY_ROOT,
  MerkleInputError,
  type MerkleTree,
  openMerkleTree,
  type TreeChange,
  TreeCorruptError,
} from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BUCKET_MAX } from '../src/canonical.js'
import { arbHashKey, arbKey, arbValue, hashOf, hex, uniqueName, useTempEnv } from './helpers.js'

const temp = useTempEnv()

const enc = (s: string) => new TextEncoder().encode(s)
const fresh = (keysAreHashes = false): MerkleTree =>
  openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes })

function applyInTxn(tree: MerkleTree, changes: TreeChange[]): void {
  temp.env.transactionSync(() => tree.update(changes))
}

function contents(tree: MerkleTree): Map<string, string> {
  const out = new Map<string, string>()
  for (const leaf of tree.leaves()) out.set(hex(leaf.key), hex(leaf.valueHash))
  return out
}

describe('basics', () => {
  test('an empty tree has the fixed empty root and no leaves', () => {
    const tree = fresh()
    expect(tree.root()).toEqual(EMPTY_ROOT)
    expect(tree.count()).toBe(0)
    expect([...tree.leaves()]).toEqual([])
    expect(tree.verify()).toEqual({ ok: true, leaves: 0, nodes: 0, mismatches: [] })
  })

  test('insert, read back, replace and delete', () => {
    const tree = fresh()
    applyInTxn(tree, [
      { key: enc('a'), valueHash: hashOf('1') },
      { key: enc('b'), valueHash: hashOf('2') },
    ])
    expect(tree.count()).toBe(2)
    expect(tree.get(enc('a'))).toEqual(hashOf('1'))
    expect(tree.get(enc('zz'))).toBeUndefined()
    const rootBefore = tree.root()
    applyInTxn(tree, [{ key: enc('a'), valueHash: hashOf('9') }])
    expect(tree.count()).toBe(2)
    expect(tree.root()).not.toEqual(rootBefore)
    applyInTxn(tree, [{ key: enc('a'), valueHash: hashOf('1') }])
    expect(tree.root()).toEqual(rootBefore)
    applyInTxn(tree, [
      { key: enc('a'), valueHash: null },
      { key: enc('b'), valueHash: null },
    ])
    expect(tree.root()).toEqual(EMPTY_ROOT)
    expect(tree.count()).toBe(0)
  })

  test('the last change of a key in a batch wins; deleting an absent key is a no-op', () => {
    const tree = fresh()
    tree.update([
      { key: enc('k'), valueHash: hashOf('1') },
      { key: enc('k'), valueHash: null },
      { key: enc('k'), valueHash: hashOf('2') },
      { key: enc('absent'), valueHash: null },
    ])
    expect(tree.count()).toBe(1)
    expect(tree.get(enc('k'))).toEqual(hashOf('2'))
  })

  test('leaves are in path order and honour start, end and limit', () => {
    const tree = fresh(true)
    const keys = Array.from({ length: 50 }, (_, i) => hashOf(`k${i}`))
    tree.update(keys.map((key) => ({ key, valueHash: hashOf('v') })))
    const sorted = keys.map(hex).sort()
    expect([...tree.leaves()].map((l) => hex(l.key))).toEqual(sorted)
    const start = Buffer.from(sorted[10]!, 'hex')
    const end = Buffer.from(sorted[20]!, 'hex')
    expect([...tree.leaves({ start, end })].map((l) => hex(l.key))).toEqual(sorted.slice(10, 20))
    expect([...tree.leaves({ start, limit: 3 })].map((l) => hex(l.key))).toEqual(sorted.slice(10, 13))
    expect([...tree.leaves({ start: end, end: start })]).toEqual([])
  })

  test('large batches split into inner nodes and collapse back into buckets', () => {
    const tree = fresh()
    const changes = Array.from({ length: 3000 }, (_, i) => ({
      key: enc(`k${i}`),
      valueHash: hashOf(`${i}`),
    }))
    tree.update(changes)
    const report = tree.verify()
    expect(report.ok).toBe(true)
    expect(report.leaves).toBe(3000)
    expect(report.nodes).toBeGreaterThan(16)
    tree.update(changes.slice(BUCKET_MAX).map((c) => ({ key: c.key, valueHash: null })))
    expect(tree.count()).toBe(BUCKET_MAX)
    expect(tree.verify()).toMatchObject({ ok: true, leaves: BUCKET_MAX, nodes: 1 })
  })
})

describe('history independence', () => {
  test('any order and batching of the same inserts gives the same root', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(arbKey, arbValue), { selector: ([k]) => hex(k), maxLength: 120 }),
        fc.infiniteStream(fc.integer({ min: 1, max: 40 })),
        fc.infiniteStream(fc.nat()),
        (entries, batchSizes, swaps) => {
          const a = fresh()
          a.update(entries.map(([key, valueHash]) => ({ key, valueHash })))
          const shuffled = entries.slice()
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = swaps.next().value % (i + 1)
            ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
          }
          const b = fresh()
          for (let i = 0; i < shuffled.length; ) {
            const size = batchSizes.next().value
            b.update(shuffled.slice(i, i + size).map(([key, valueHash]) => ({ key, valueHash })))
            i += size
          }
          expect(hex(b.root())).toBe(hex(a.root()))
          expect(b.count()).toBe(entries.length)
          expect(b.verify().ok).toBe(true)
        },
      ),
      { numRuns: 40 },
    )
  })

  test('inserting then deleting a set gives back the old root', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(arbHashKey, arbValue), { selector: ([k]) => hex(k), maxLength: 80 }),
        fc.uniqueArray(fc.tuple(arbHashKey, arbValue), {
          selector: ([k]) => hex(k),
          minLength: 1,
          maxLength: 80,
        }),
        fc.boolean(),
        (base, extra, oneByOne) => {
          const baseKeys = new Set(base.map(([k]) => hex(k)))
          const added = extra.filter(([k]) => !baseKeys.has(hex(k)))
          const tree = fresh(true)
          tree.update(base.map(([key, valueHash]) => ({ key, valueHash })))
          const before = tree.root()
          tree.update(added.map(([key, valueHash]) => ({ key, valueHash })))
          const removals = added.map(([key]) => ({ key, valueHash: null }))
          if (oneByOne) for (const change of removals) tree.update([change])
          else tree.update(removals)
          expect(hex(tree.root())).toBe(hex(before))
          expect(tree.verify().ok).toBe(true)
        },
      ),
      { numRuns: 40 },
    )
  })

  test('the two key modes build different, self-consistent trees', () => {
    const keys = Array.from({ length: 40 }, (_, i) => hashOf(`k${i}`))
    const hashed = fresh(false)
    const uniform = fresh(true)
    for (const tree of [hashed, uniform]) tree.update(keys.map((key) => ({ key, valueHash: key })))
    expect(hex(hashed.root())).not.toBe(hex(uniform.root()))
    expect(hashed.verify().ok && uniform.verify().ok).toBe(true)
  })
})

describe('transactions and persistence', () => {
  test('an aborted transaction leaves records and tree exactly as before', () => {
    const tree = fresh()
    const records = temp.env.openDB<string, string>({ name: uniqueName('records') })
    tree.update(Array.from({ length: 100 }, (_, i) => ({ key: enc(`k${i}`), valueHash: hashOf(`${i}`) })))
    const root = tree.root()
    const before = contents(tree)
    expect(() =>
      temp.env.transactionSync(() => {
        records.putSync('r', 'record')
        tree.update(Array.from({ length: 200 }, (_, i) => ({ key: enc(`k${i * 2}`), valueHash: null })))
        tree.update([{ key: enc('new'), valueHash: hashOf('x') }])
        throw new Error('crash before commit')
      }),
    ).toThrow('crash before commit')
    expect(records.get('r')).toBeUndefined()
    expect(hex(tree.root())).toBe(hex(root))
    expect(contents(tree)).toEqual(before)
    expect(tree.verify().ok).toBe(true)
  })

  test('records and tree commit together and survive close and reopen', async () => {
    const name = uniqueName()
    let tree = openMerkleTree(temp.env, { name })
    const records = temp.env.openDB<string, string>({ name: `${name}-records` })
    temp.env.transactionSync(() => {
      records.putSync('r1', 'one')
      tree.update([{ key: enc('r1'), valueHash: hashOf('one') }])
    })
    const root = tree.root()
    const env = await temp.reopen()
    tree = openMerkleTree(env, { name })
    expect(hex(tree.root())).toBe(hex(root))
    expect(tree.get(enc('r1'))).toEqual(hashOf('one'))
    expect(env.openDB<string, string>({ name: `${name}-records` }).get('r1')).toBe('one')
  })

  test('reopening with the other key mode is refused', () => {
    const name = uniqueName()
    openMerkleTree(temp.env, { name }).update([{ key: enc('a'), valueHash: hashOf('a') }])
    expect(() => openMerkleTree(temp.env, { name, keysAreHashes: true })).toThrow(MerkleInputError)
  })
})

describe('verify', () => {
  test('reports a tampered node, a missing node and a stray node', () => {
    const name = uniqueName()
    const tree = openMerkleTree(temp.env, { name })
    tree.update(Array.from({ length: 3000 }, (_, i) => ({ key: enc(`k${i}`), valueHash: hashOf(`${i}`) })))
    expect(tree.verify().ok).toBe(true)
    const raw = temp.env.openDB<Uint8Array, Buffer>({
      name: `merkle/${name}`,
      keyEncoding: 'binary',
      encoding: 'binary',
    })
    const nodeKeys = [...raw.getKeys({ start: Buffer.from('N'), end: Buffer.from('O') })]
    const victim = nodeKeys[1]!
    const value = Buffer.from(raw.get(victim)!)
    value[5] = value[5]! ^ 0xff
    raw.putSync(victim, value)
    const tampered = tree.verify()
    expect(tampered.ok).toBe(false)
    expect(tampered.mismatches.join('\n')).toMatch(/stored content differs/)
    raw.removeSync(victim)
    expect(tree.verify().mismatches.join('\n')).toMatch(/missing/)
    raw.putSync(Buffer.from([0x4e, 9, 0xab, 0xcd, 0xe0]), value)
    expect(tree.verify().mismatches.join('\n')).toMatch(/stored but not expected/)
  })

  test('reports a leaf whose value was altered underneath the tree', () => {
    const name = uniqueName()
    const tree = openMerkleTree(temp.env, { name, keysAreHashes: true })
    tree.update(Array.from({ length: 100 }, (_, i) => ({ key: hashOf(`k${i}`), valueHash: hashOf(`${i}`) })))
    const raw = temp.env.openDB<Uint8Array, Buffer>({
      name: `merkle/${name}`,
      keyEncoding: 'binary',
      encoding: 'binary',
    })
    const bucketKey = [...raw.getKeys({ start: Buffer.from('B'), end: Buffer.from('C'), limit: 1 })][0]!
    const bucket = Buffer.from(raw.get(bucketKey)!)
    bucket.set(hashOf('forged'), 32)
    raw.putSync(bucketKey, bucket)
    const report = tree.verify()
    expect(report.ok).toBe(false)
    expect(report.mismatches.join('\n')).toMatch(/node .*stored content differs/)
  })

  test('reads of a corrupt node fail with a typed error', () => {
    const name = uniqueName()
    const tree = openMerkleTree(temp.env, { name })
    tree.update([{ key: enc('a'), valueHash: hashOf('a') }])
    const raw = temp.env.openDB<Uint8Array, Buffer>({
      name: `merkle/${name}`,
      keyEncoding: 'binary',
      encoding: 'binary',
    })
    raw.putSync(Buffer.from([0x4e, 0]), Buffer.from([0xff]))
    expect(() => tree.root()).toThrow(TreeCorruptError)
  })
})

/** `node` with its last child's count (a single byte) replaced by 2^56 - 1, an eight-byte varint. */
const withHugeCount = (node: Buffer): Buffer =>
  Buffer.concat([
    node.subarray(0, node.length - 1),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
  ])

describe('a batch over a corrupt inner node', () => {
  // Each way a stored inner node can be damaged, applied to a depth-1 node of a 3,000-leaf tree (about 94 leaves under each).
  const damage: Array<[string, (node: Buffer) => Buffer]> = [
    ['truncated', (node) => node.subarray(0, node.length - 1)],
    ['with a trailing byte', (node) => Buffer.concat([node, Buffer.from([1])])],
    ['with a zero count', (node) => Buffer.concat([node.subarray(0, node.length - 1), Buffer.from([0])])],
    [
      'with a count that never ends',
      (node) => Buffer.concat([node.subarray(0, node.length - 1), Buffer.alloc(9, 0x80)]),
    ],
    ['with a count above Number.MAX_SAFE_INTEGER', (node) => withHugeCount(node)],
    ['emptied', () => Buffer.alloc(0)],
  ]
  test.each(
    damage,
  )('fails with TreeCorruptError when the node is %s, and the aborted batch leaves it as it was', (_, harm) => {
    const { tree, raw, nodeKey, damaged, key } = treeWithDamagedNode(harm)
    expect(() => applyInTxn(tree, [{ key, valueHash: hashOf('x') }])).toThrow(TreeCorruptError)
    expect(hex(raw.get(nodeKey)!)).toBe(hex(damaged))
    expect(tree.verify().ok).toBe(false)
  })
})

/**
 * A tree of 3,000 keys whose first depth-1 inner node is replaced by `harm(node)`, and a key
 * whose change descends through that node (same first 5 bits).
 */
function treeWithDamagedNode(harm: (node: Buffer) => Buffer) {
  const name = uniqueName()
  const tree = openMerkleTree(temp.env, { name, keysAreHashes: true })
  applyInTxn(
    tree,
    Array.from({ length: 3000 }, (_, i) => ({ key: hashOf(`k${i}`), valueHash: hashOf(`${i}`) })),
  )
  const raw = temp.env.openDB<Uint8Array, Buffer>({
    name: `merkle/${name}`,
    keyEncoding: 'binary',
    encoding: 'binary',
  })
  const nodeKey = [
    ...raw.getKeys({ start: Buffer.from([0x4e, 1]), end: Buffer.from([0x4e, 2]), limit: 1 }),
  ][0]!
  const damaged = harm(Buffer.from(raw.get(nodeKey)!))
  raw.putSync(nodeKey, damaged)
  const key = hashOf('under the damaged node')
  key[0] = nodeKey[2]! | (key[0]! & 0x07)
  return { tree, raw, nodeKey, damaged, key }
}

describe('a stored count above Number.MAX_SAFE_INTEGER', () => {
  test('is refused by reads, by batches and by verify', () => {
    const { tree, raw, nodeKey, damaged, key } = treeWithDamagedNode(withHugeCount)
    // Reads decode the node (decodeNode), a batch patches it in place (readNodeLayout).
    expect(() => tree.node({ path: key, depth: 1 })).toThrow(TreeCorruptError)
    expect(() => tree.get(key)).toThrow(TreeCorruptError)
    expect(() => applyInTxn(tree, [{ key, valueHash: hashOf('x') }])).toThrow(TreeCorruptError)
    expect(hex(raw.get(nodeKey)!)).toBe(hex(damaged))
    expect(tree.verify().ok).toBe(false)
  })
})

describe('input validation', () => {
  const tree = () => fresh()
  test.each([
    ['a non-iterable', 42],
    ['a missing key', [{ valueHash: hashOf('x') }]],
    ['an empty key', [{ key: new Uint8Array(0), valueHash: hashOf('x') }]],
    ['a short value hash', [{ key: enc('k'), valueHash: new Uint8Array(31) }]],
    ['a string value hash', [{ key: enc('k'), valueHash: 'x' }]],
  ])('update refuses %s and writes nothing', (_, changes) => {
    const t = tree()
    t.update([{ key: enc('keep'), valueHash: hashOf('keep') }])
    const root = t.root()
    expect(() => t.update(changes as never)).toThrow(MerkleInputError)
    expect(t.root()).toEqual(root)
  })

  test('uniform-key trees refuse keys that are not 32 bytes', () => {
    expect(() => fresh(true).update([{ key: enc('short'), valueHash: hashOf('x') }])).toThrow(
      MerkleInputError,
    )
  })

  test('a bad name is refused', () => {
    expect(() => openMerkleTree(temp.env, { name: '' })).toThrow(MerkleInputError)
  })
})
