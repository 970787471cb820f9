/**
 * How a reconciliation session reads LMDB. lmdb-js range reads keep native memory per iterator
 * (see packages/merkle/bench/lmdb-range-growth.mjs and the `soak` bench), so a session's snapshot
 * reads by point gets only; the leaves it lists must still be exactly those a range read gives.
 */
import { blake3 } from '@noble/hashes/blake3.js'
import { createReconciler, createResponder, type MerkleTree, openMerkleTree } from '@provsync/merkle'
import type { RootDatabase } from 'lmdb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hex, type TempEnv, tempEnv } from './helpers.js'

const key = (i: number) => blake3(new TextEncoder().encode(`k${i}`))

/** Opens a tree whose sub-database counts the range reads made on it. */
function countingTree(env: RootDatabase, name: string): { tree: MerkleTree; ranges: () => number } {
  let ranges = 0
  const openDB = (options: { name: string }) => env.openDB<Uint8Array, Uint8Array>(options)
  const spy = (options: { name: string }) => {
    const db = openDB(options)
    const getRange = db.getRange.bind(db)
    db.getRange = ((rangeOptions?: Parameters<typeof getRange>[0]) => {
      ranges++
      return getRange(rangeOptions)
    }) as typeof db.getRange
    return db
  }
  const tree = openMerkleTree(Object.assign(Object.create(env), { openDB: spy }), {
    name,
    keysAreHashes: true,
  })
  return { tree, ranges: () => ranges }
}

let temps: TempEnv[] = []
beforeAll(() => {
  temps = [tempEnv(), tempEnv()]
})
afterAll(async () => {
  for (const t of temps) await t.cleanup()
})

describe('session reads', () => {
  it('a session lists a whole 3,000-key tree to an empty peer without one range read', () => {
    const [a, b] = temps.map((t) => t.env) as [RootDatabase, RootDatabase]
    const full = countingTree(a, 'reads')
    full.tree.update(Array.from({ length: 3000 }, (_, i) => ({ key: key(i), valueHash: key(i + 10_000) })))
    const empty = openMerkleTree(b, { name: 'reads', keysAreHashes: true })
    const before = full.ranges()
    const reconciler = createReconciler(full.tree)
    const responder = createResponder(empty)
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      reconciler.receive(responder.respond(request))
    }
    expect(reconciler.result().localOnly).toHaveLength(3000)
    expect(full.ranges() - before).toBe(0)
  })

  it('lists, under every position and after any path, the leaves a filter of all leaves gives', () => {
    const tree = openMerkleTree(temps[0]!.env, { name: 'positions', keysAreHashes: true })
    tree.update(Array.from({ length: 2000 }, (_, i) => ({ key: key(i), valueHash: key(i) })))
    const all = [...tree.leaves()].map((l) => l.key)
    const snapshot = tree.snapshot()
    try {
      for (let t = 0; t < 40; t++) {
        const probe = key(50_000 + t)
        for (const depth of [0, 1, 2, 3, 4]) {
          const position = { path: probe, depth }
          const under = all.filter((k) => sharesBits(k, probe, prefixBitsAt(depth)))
          const listed = [...snapshot.leavesAt(position)].map((l) => hex(l.key))
          expect(listed).toEqual(under.map(hex))
          const after = under[Math.floor(under.length / 2)]
          if (after === undefined) continue
          const rest = [...snapshot.leavesAt(position, after)].map((l) => hex(l.key))
          expect(rest).toEqual(under.filter((k) => hex(k) > hex(after)).map(hex))
        }
      }
    } finally {
      snapshot.release()
    }
  })
})

/** Bits a position at `depth` fixes: 5 at the root, then 4, 3, and 4 per level (see path.ts). */
function prefixBitsAt(depth: number): number {
  const schedule = [5, 4, 3, 4]
  let bits = 0
  for (let d = 0; d < depth; d++) bits += schedule[d] ?? 4
  return bits
}

function sharesBits(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >>> 3
    const mask = 0x80 >>> (i & 7)
    if ((a[byte]! & mask) !== (b[byte]! & mask)) return false
  }
  return true
}
