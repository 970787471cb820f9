import { rmSync } from 'node:fs'
import { createClock, memoryHighWaterMarkStore } from '@provsync/hlc'
import { tempDir } from '@provsync/testing'
import fc from 'fast-check'
import type { RootDatabase } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { AsserterIndexWriter, lastIndexNumber } from '../src/asserter-index.js'
import type { Context } from '../src/context.js'
import { asserterIndexKey, type Databases, openDatabases, openEnvironment } from '../src/db.js'
import { historyWriter, lastKey, nextHistorySeq } from '../src/durability.js'

// Session 15: the next history sequence number and each asserter's last index entry number are
// taken from a hint (what the last append left) when two point reads confirm it, instead of a
// reverse range read per write transaction. A hint can be wrong: a transaction that aborted after
// advancing it, or entries written by a path that does not advance it. Whatever the hint, the
// answer must be the range read's, and appends must stay contiguous.

let env: RootDatabase
let dbs: Databases

/** Runs `fn` on a new empty store (clearSync inside a transaction hung lmdb-js here). */
async function withStore(fn: () => void): Promise<void> {
  const dir = tempDir('provsync.crdt.hints.')
  env = openEnvironment(dir, { noSync: true })
  dbs = openDatabases(env)
  try {
    fn()
  } finally {
    await env.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function freshContext(): Context {
  const clock = createClock({ nodeId: new Uint8Array(8).fill(0xab), store: memoryHighWaterMarkStore() })
  return { dbs, clock, hints: { history: undefined, asserters: new Map() } } as unknown as Context
}

const ENTRY = {
  kind: 'advance',
  coordinate: new Uint8Array([1, 2, 3]),
  before: undefined,
  after: undefined,
  cause: { type: 'local' },
} as const

const ABORT = new Error('abort this transaction')

/** Runs `fn` in a write transaction, committed or rolled back. */
function inTransaction(commit: boolean, fn: () => void): void {
  try {
    env.transactionSync(() => {
      fn()
      if (!commit) throw ABORT
    })
  } catch (error) {
    if (error !== ABORT) throw error
  }
}

const asserters = [new Uint8Array(32).fill(7), new Uint8Array(32).fill(9)]

type Op =
  | { type: 'history'; count: number; commit: boolean }
  /** Entries put at the last key + 1 by a path that leaves the hints alone. */
  | { type: 'history-behind'; count: number }
  | { type: 'index'; asserter: number; registers: number; commit: boolean }
  | { type: 'index-behind'; asserter: number }
  /** A state reopened: its hints start empty. */
  | { type: 'reopen' }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    type: fc.constant('history' as const),
    count: fc.integer({ min: 1, max: 4 }),
    commit: fc.boolean(),
  }),
  fc.record({ type: fc.constant('history-behind' as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({
    type: fc.constant('index' as const),
    asserter: fc.integer({ min: 0, max: 1 }),
    registers: fc.integer({ min: 1, max: 3 }),
    commit: fc.boolean(),
  }),
  fc.record({ type: fc.constant('index-behind' as const), asserter: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ type: fc.constant('reopen' as const) }),
)

/** The numbers of an asserter's index entries, in key order. */
function indexNumbers(asserter: Uint8Array): number[] {
  const out: number[] = []
  const end = asserterIndexKey(asserter, Number.MAX_SAFE_INTEGER)
  for (const key of dbs.asserterChunks.getKeys({ start: asserter, end })) {
    out.push(Number(Buffer.from(key as Uint8Array).readBigUInt64BE(32)))
  }
  return out
}

function run(ctx: Context, step: Op): Context {
  if (step.type === 'reopen') return freshContext()
  if (step.type === 'history') {
    inTransaction(step.commit, () => {
      const writer = historyWriter(ctx)
      for (let i = 0; i < step.count; i++) writer.append(ENTRY)
    })
  } else if (step.type === 'history-behind') {
    env.transactionSync(() => {
      for (let i = 0; i < step.count; i++) dbs.history.putSync(lastKey(dbs.history) + 1, new Uint8Array([0]))
    })
  } else if (step.type === 'index') {
    inTransaction(step.commit, () => {
      const writer = new AsserterIndexWriter(ctx)
      for (let i = 0; i < step.registers; i++)
        writer.note(asserters[step.asserter]!, new Uint8Array(32).fill(i))
      writer.finish()
    })
  } else {
    const asserter = asserters[step.asserter]!
    // A block, not an expression: a callback that returns put's promise keeps lmdb-js's
    // transaction open until it resolves, and the next transactionSync then waits for ever.
    env.transactionSync(() => {
      dbs.asserterChunks.putSync(
        asserterIndexKey(asserter, lastIndexNumber(ctx, asserter) + 1),
        new Uint8Array(32),
      )
    })
  }
  return ctx
}

describe('sequence hints', () => {
  it('whatever the hints hold, the next history seq and last index numbers are the range reads, and appends stay contiguous', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) =>
        withStore(() => {
          let ctx = freshContext()
          for (const step of ops) {
            ctx = run(ctx, step)
            const last = lastKey(dbs.history)
            // Read inside a write transaction, as the writers do (reads there see its own writes).
            env.transactionSync(() => expect(nextHistorySeq(ctx)).toBe(last + 1))
            for (const [i, asserter] of asserters.entries()) {
              const numbers = indexNumbers(asserter)
              expect(numbers).toEqual(numbers.map((_, k) => k + 1))
              const hint = ctx.hints.asserters.get(Buffer.from(asserter).toString('hex'))
              expect(lastIndexNumber(ctx, asserter, hint), `asserter ${i}`).toBe(numbers.length)
            }
          }
          const keys = [...dbs.history.getKeys()] as number[]
          expect(keys).toEqual(keys.map((_, k) => k + 1))
        }),
      ),
      { numRuns: 100 },
    )
  })

  it('a hint past the last key (an aborted append) and one behind it (an append that left it) are not taken', () =>
    withStore(() => {
      const ctx = freshContext()
      run(ctx, { type: 'history', count: 3, commit: true })
      expect(ctx.hints.history).toBe(4)
      run(ctx, { type: 'history', count: 2, commit: false })
      // The aborted transaction advanced the hint to 6; seq 5 was rolled back.
      expect(ctx.hints.history).toBe(6)
      env.transactionSync(() => expect(nextHistorySeq(ctx)).toBe(4))
      run(ctx, { type: 'history', count: 1, commit: true })
      run(ctx, { type: 'history-behind', count: 2 })
      expect(ctx.hints.history).toBe(5)
      env.transactionSync(() => expect(nextHistorySeq(ctx)).toBe(7))
      const a = asserters[0]!
      run(ctx, { type: 'index', asserter: 0, registers: 1, commit: true })
      run(ctx, { type: 'index', asserter: 0, registers: 1, commit: false })
      expect(lastIndexNumber(ctx, a, 2)).toBe(1)
      run(ctx, { type: 'index-behind', asserter: 0 })
      expect(lastIndexNumber(ctx, a, 1)).toBe(2)
      expect(lastIndexNumber(ctx, a, 2)).toBe(2)
    }))
})
