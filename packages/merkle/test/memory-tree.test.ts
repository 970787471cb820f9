import { openMerkleTree, type TreeNode, type TreePosition } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { childPath, fanoutAt, PATH_BYTES } from '../src/path.js'
import { arbHashKey, hashOf, hex, uniqueName, useTempEnv } from './helpers.js'
import { memoryTree } from './memory-tree.js'

// The in-memory tree the fast session tests run on (memory-tree.ts) must be the LMDB tree's
// twin: same root, and at every position the same node kind, hash, count, children and leaves.
// Otherwise a session test on it would pin a protocol the real trees do not speak.

const temp = useTempEnv()

const view = (n: TreeNode | undefined) =>
  n === undefined ? undefined : { kind: n.kind, hash: hex(n.hash), count: n.count }

describe('memoryTree is the LMDB tree, node for node', () => {
  test('around the bucket bound: 32 leaves under a root child make a bucket, 33 an inner node', () => {
    // Uniform keys whose first 5 bits pick the root child: 32, 33 and 70 leaves under children 0, 1, 2.
    const keys = [32, 33, 70].flatMap((n, digit) =>
      Array.from({ length: n }, (_, i) => {
        const key = hashOf(`${digit}/${i}`)
        key[0] = (digit << 3) | (key[0]! & 7)
        return key
      }),
    )
    const entries = keys.map((k) => [k, hashOf('v')] as const)
    const model = memoryTree(entries).snapshot()
    const lmdb = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    lmdb.update(entries.map(([key, valueHash]) => ({ key, valueHash })))
    for (const digit of [0, 1, 2]) {
      const pos = { path: childPath(new Uint8Array(PATH_BYTES), 0, digit), depth: 1 }
      expect(view(model.node(pos))).toEqual(view(lmdb.node(pos)))
    }
    expect(model.node({ path: childPath(new Uint8Array(PATH_BYTES), 0, 0), depth: 1 })?.kind).toBe('bucket')
    expect(model.node({ path: childPath(new Uint8Array(PATH_BYTES), 0, 1), depth: 1 })?.kind).toBe('inner')
    expect(hex(model.root())).toBe(hex(lmdb.root()))
  })

  for (const keysAreHashes of [true, false]) {
    test(`at every position of random sets (${keysAreHashes ? 'uniform' : 'hashed'} keys, property)`, () => {
      const arbEntryKey = keysAreHashes
        ? arbHashKey
        : fc.integer({ min: 0, max: 5000 }).map((n) => hashOf(`${n}`).subarray(0, 5))
      fc.assert(
        fc.property(
          fc.array(fc.tuple(arbEntryKey, fc.integer({ min: 0, max: 2 })), { maxLength: 400 }),
          (raw) => {
            const entries = raw.map(([k, v]) => [k, hashOf(`v${v}`)] as const)
            const model = memoryTree(entries, keysAreHashes)
            const lmdb = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes })
            lmdb.update(entries.map(([key, valueHash]) => ({ key, valueHash })))
            expect(hex(model.root())).toBe(hex(lmdb.root()))
            expect(model.count()).toBe(lmdb.count())
            const a = model.snapshot()
            const b = lmdb.snapshot()
            expect(a.count()).toBe(b.count())
            const visit = (pos: TreePosition) => {
              const mine = a.node(pos)
              const theirs = b.node(pos)
              expect(view(mine)).toEqual(view(theirs))
              expect([...a.leavesAt(pos)].map((l) => hex(l.key))).toEqual(
                [...b.leavesAt(pos)].map((l) => hex(l.key)),
              )
              if (mine === undefined || theirs === undefined || pos.depth >= 6) return
              const mc = a.children(mine, pos.depth).map((c) => c && { hash: hex(c.hash), count: c.count })
              const tc = b.children(theirs, pos.depth).map((c) => c && { hash: hex(c.hash), count: c.count })
              expect(mc).toEqual(tc)
              for (let digit = 0; digit < fanoutAt(pos.depth); digit++)
                if (mc[digit] !== undefined)
                  visit({ path: childPath(pos.path, pos.depth, digit), depth: pos.depth + 1 })
            }
            visit({ path: new Uint8Array(PATH_BYTES), depth: 0 })
            a.release()
            b.release()
            expect(model.snapshots).toEqual({ taken: 1, released: 1 })
          },
        ),
        { numRuns: 25 },
      )
    })
  }
})
