import {
  createReconciler,
  createResponder,
  type MerkleTree,
  openMerkleTree,
  ReconcileStateError,
  SnapshotStateError,
  type TreeChange,
} from '@provsync/merkle'
import fc from 'fast-check'
import type { RootDatabase } from 'lmdb'
import { describe, expect, test } from 'vitest'
import { arbHashKey, hashOf, hex, uniqueName, useTempEnv } from './helpers.js'

const temp = useTempEnv()

/** A tree and the map it should hold: hex key to value tag. */
interface Side {
  tree: MerkleTree
  model: Map<string, string>
  keys: Map<string, Uint8Array>
}

function side(entries: Array<[Uint8Array, string]>): Side {
  const tree = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
  const s: Side = { tree, model: new Map(), keys: new Map() }
  write(s, entries)
  return s
}

/** Commits a batch (tag `null` deletes) through a write transaction, as the sync layer does. */
function write(s: Side, batch: Array<[Uint8Array, string | null]>): void {
  const changes: TreeChange[] = batch.map(([key, tag]) => ({
    key,
    valueHash: tag === null ? null : hashOf(tag),
  }))
  temp.env.transactionSync(() => s.tree.update(changes))
  for (const [key, tag] of batch) {
    const k = hex(key)
    s.keys.set(k, key)
    if (tag === null) s.model.delete(k)
    else s.model.set(k, tag)
  }
}

function difference(local: Map<string, string>, remote: Map<string, string>) {
  const localOnly = [...local.keys()].filter((k) => !remote.has(k)).sort()
  const remoteOnly = [...remote.keys()].filter((k) => !local.has(k)).sort()
  const differing = [...local.keys()].filter((k) => remote.has(k) && remote.get(k) !== local.get(k)).sort()
  return { localOnly, remoteOnly, differing }
}

/** Runs a session, calling `between(step)` after every request and every response. */
function runInterleaved(a: Side, b: Side, maxFrameBytes: number, between: (step: number) => void) {
  const reconciler = createReconciler(a.tree, { maxFrameBytes })
  const responder = createResponder(b.tree, { maxFrameBytes })
  let step = 0
  for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
    between(step++)
    const response = responder.respond(request)
    between(step++)
    reconciler.receive(response)
    if (step > 20_000) throw new Error('session did not end')
  }
  const result = reconciler.result()
  return {
    result: {
      localOnly: result.localOnly.map(hex),
      remoteOnly: result.remoteOnly.map(hex),
      differing: result.differing.map(hex),
    },
    steps: step,
    responderDone: responder.done,
  }
}

/** Transaction ids LMDB readers of this environment hold (each pins the pages of its snapshot). */
function pinnedTxnIds(env: RootDatabase): number[] {
  return env
    .readerList()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 3 && /^\d+$/.test(cols[2]!))
    .map((cols) => Number(cols[2]))
}

/** Commits something unrelated and reads live, so the environment's shared reader moves on. */
function advance(): void {
  const other = openMerkleTree(temp.env, { name: 'advance', keysAreHashes: true })
  other.update([{ key: hashOf(`advance${Math.random()}`), valueHash: hashOf('x') }])
  other.count()
}

const latestTxnId = (): number => (temp.env.getStats() as { lastTxnId: number }).lastTxnId

describe('a session reads the snapshot taken when it started', () => {
  test('both trees change between every message; the result is the difference at the start', () => {
    const keyOf = (i: number) => hashOf(`snap${i}`)
    const common = Array.from({ length: 1500 }, (_, i): [Uint8Array, string] => [keyOf(i), 'v'])
    const a = side([
      ...common,
      ...Array.from({ length: 200 }, (_, i): [Uint8Array, string] => [keyOf(2000 + i), 'a']),
    ])
    const b = side([
      ...common.map(([key], i): [Uint8Array, string] => [key, i % 9 === 0 ? 'b' : 'v']),
      ...Array.from({ length: 200 }, (_, i): [Uint8Array, string] => [keyOf(3000 + i), 'b']),
    ])
    const expected = difference(a.model, b.model)
    const rootsBefore = [hex(a.tree.root()), hex(b.tree.root())]
    let next = 10_000
    // Every step, each side inserts, deletes and rewrites keys all over the trie.
    const churn = (s: Side, step: number) => {
      const batch: Array<[Uint8Array, string | null]> = []
      for (let i = 0; i < 40; i++) batch.push([keyOf(next++), `new${step}`])
      for (let i = 0; i < 20; i++) batch.push([keyOf((step * 37 + i * 71) % 1500), i % 2 ? null : `w${step}`])
      write(s, batch)
    }
    const run = runInterleaved(a, b, 4096, (step) => {
      churn(a, step)
      churn(b, step)
    })
    expect(run.steps).toBeGreaterThan(4)
    expect(run.result).toEqual(expected)
    expect(run.responderDone).toBe(true)
    // The trees did move on, and a fresh session sees where they are now.
    expect([hex(a.tree.root()), hex(b.tree.root())]).not.toEqual(rootsBefore)
    expect(runInterleaved(a, b, 1 << 22, () => {}).result).toEqual(difference(a.model, b.model))
  })

  test('property: any interleaving of writes on either side leaves the result of the start', () => {
    const arbBatch = fc.array(
      fc.tuple(fc.boolean(), fc.oneof(arbHashKey, fc.nat(59)), fc.constantFrom('x', 'y', null)),
      { maxLength: 12 },
    )
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(arbHashKey, fc.nat(4)), { selector: ([k]) => hex(k), maxLength: 60 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'both'), arbBatch), { maxLength: 12 }),
        fc.constantFrom(4096, 1 << 22),
        (entries, writes, maxFrameBytes) => {
          const keys = entries.map(([key]) => key)
          const pick = (k: Uint8Array | number) =>
            typeof k === 'number' ? (keys[k % Math.max(1, keys.length)] ?? hashOf(`k${k}`)) : k
          // Roles 0: only a, 1: only b, 2: both with other values, else the same.
          const a = side(entries.filter(([, r]) => r !== 1).map(([k, r]) => [k, r === 2 ? 'a' : 'v']))
          const b = side(entries.filter(([, r]) => r !== 0).map(([k, r]) => [k, r === 2 ? 'b' : 'v']))
          const expected = difference(a.model, b.model)
          const run = runInterleaved(a, b, maxFrameBytes, (step) => {
            const planned = writes[step]
            if (planned === undefined) return
            const [who, ops] = planned
            // The first op of a key in a batch wins in the model, the last in the tree: keep one.
            const batch = new Map(
              ops.map(([, k, tag]) => [hex(pick(k)), [pick(k), tag] as [Uint8Array, string | null]]),
            )
            if (who !== 'b') write(a, [...batch.values()])
            if (who !== 'a') write(b, [...batch.values()])
          })
          expect(run.result).toEqual(expected)
          expect(run.responderDone).toBe(true)
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('sessions release their snapshot', () => {
  const pair = () => {
    const a = side(Array.from({ length: 300 }, (_, i): [Uint8Array, string] => [hashOf(`rel${i}`), 'a']))
    const b = side(
      Array.from({ length: 300 }, (_, i): [Uint8Array, string] => [hashOf(`rel${i + 100}`), 'b']),
    )
    return { a, b }
  }

  test('a closed responder lets its transaction go and refuses further requests', () => {
    const { a, b } = pair()
    const reconciler = createReconciler(a.tree)
    const pinnedAt = latestTxnId()
    const responder = createResponder(b.tree)
    const request = reconciler.next()!
    reconciler.receive(responder.respond(request))
    advance()
    expect(pinnedTxnIds(temp.env)).toContain(pinnedAt)
    responder.close()
    reconciler.close()
    responder.close() // idempotent
    advance()
    expect(pinnedTxnIds(temp.env)).not.toContain(pinnedAt)
    expect(() => responder.respond(request)).toThrow(ReconcileStateError)
    expect(() => reconciler.next()).toThrow(ReconcileStateError)
    // The environment still writes and reads.
    write(b, [[hashOf('after close'), 'z']])
    expect(b.tree.get(hashOf('after close'))).toEqual(hashOf('z'))
  })

  test('completion releases both sides, and a finished responder refuses more requests', () => {
    const { a, b } = pair()
    const pinnedAt = latestTxnId()
    const reconciler = createReconciler(a.tree)
    const responder = createResponder(b.tree)
    let last: Uint8Array = new Uint8Array()
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      last = request
      reconciler.receive(responder.respond(request))
    }
    expect(responder.done).toBe(true)
    expect(reconciler.done).toBe(true)
    advance()
    expect(pinnedTxnIds(temp.env)).not.toContain(pinnedAt)
    expect(() => responder.respond(last)).toThrow(ReconcileStateError)
    // The result was collected before the release and stays readable.
    expect(reconciler.result().localOnly).toHaveLength(100)
    expect(reconciler.result().remoteOnly).toHaveLength(100)
  })

  test('a failure releases the snapshot', () => {
    const { b } = pair()
    const pinnedAt = latestTxnId()
    const responder = createResponder(b.tree)
    expect(() => responder.respond(new Uint8Array([0, 99, 1, 2]))).toThrow()
    advance()
    expect(pinnedTxnIds(temp.env)).not.toContain(pinnedAt)
    expect(() => responder.respond(new Uint8Array([0]))).toThrow(ReconcileStateError)
  })
})

describe('tree snapshots', () => {
  test('keep their root, count and leaves while the tree changes, also inside a write transaction', () => {
    const s = side(Array.from({ length: 100 }, (_, i): [Uint8Array, string] => [hashOf(`t${i}`), 'v']))
    const root = s.tree.root()
    const snapshot = s.tree.snapshot()
    const whole = { path: new Uint8Array(32), depth: 0 }
    write(s, [
      [hashOf('t0'), null],
      [hashOf('extra'), 'v'],
    ])
    expect(s.tree.count()).toBe(100)
    expect(hex(snapshot.root())).toBe(hex(root))
    expect(hex(s.tree.root())).not.toBe(hex(root))
    expect(snapshot.count()).toBe(100)
    const leaves = [...snapshot.leavesAt(whole)].map((l) => hex(l.key))
    expect(leaves).toContain(hex(hashOf('t0')))
    expect(leaves).not.toContain(hex(hashOf('extra')))
    // lmdb-js point reads follow an open write transaction; the snapshot must not.
    const before = hex(s.tree.root())
    const fresh = s.tree.snapshot() // nothing read or cached yet
    temp.env.transactionSync(() => {
      s.tree.update([{ key: hashOf('t1'), valueHash: null }])
      expect(hex(fresh.root())).toBe(before)
      const bucket = fresh.node({ path: s.tree.pathOf(hashOf('t1')), depth: 1 })
      expect(bucket?.kind === 'bucket' && bucket.leaves.some((l) => hex(l.key) === hex(hashOf('t1')))).toBe(
        true,
      )
      expect([...fresh.leavesAt(whole)].map((l) => hex(l.key))).toContain(hex(hashOf('t1')))
    })
    fresh.release()
    snapshot.release()
    snapshot.release()
    expect(snapshot.released).toBe(true)
    expect(() => snapshot.root()).toThrow(SnapshotStateError)
    expect(() => [...snapshot.leavesAt(whole)]).toThrow(SnapshotStateError)
  })
})
