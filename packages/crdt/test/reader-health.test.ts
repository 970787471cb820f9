import { createResponder } from '@provsync/merkle'
import { coordinate, openTestState, TempDirs } from '@provsync/testing'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  DEFAULT_READER_LIMITS,
  type NodeState,
  oldestReader,
  parseReaderList,
  pollReaders,
  type ReaderHealth,
  ReaderWatch,
  readerWarning,
} from '../src/index.js'

const temp = new TempDirs('provsync-reader-health-')
afterEach(async () => {
  vi.useRealTimers()
  await temp.cleanup()
})

/** `mdb_reader_list`'s layout: a header, then `pid thread txnid` per slot (`-` for a reset slot). */
function readerTable(rows: ReadonlyArray<{ pid: number; thread: string; txn: number | '-' }>): string {
  if (rows.length === 0) return '(no active readers)\n'
  const body = rows.map((r) => `${String(r.pid).padStart(10)} ${r.thread} ${r.txn}`).join('\n')
  return `\t\tpid\t\t thread\t\t txnid\n${body}\n`
}

const health = (over: Partial<ReaderHealth>): ReaderHealth => ({
  readers: 1,
  lastTxnId: 5_000,
  oldestTxnId: 100,
  oldestLagTxns: 4_900,
  oldestHeldMs: 10 * 60_000,
  ...over,
})

describe("reading LMDB's reader table", () => {
  it('parses every slot holding a snapshot and leaves out reset ones and the header', () => {
    const slot = fc.record({
      pid: fc.integer({ min: 1, max: 4_000_000 }),
      thread: fc.stringMatching(/^[0-9a-f]{1,12}$/),
      txn: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constant('-' as const)),
    })
    fc.assert(
      fc.property(fc.array(slot, { maxLength: 20 }), (rows) => {
        const held = rows.filter((r) => r.txn !== '-')
        expect(parseReaderList(readerTable(rows))).toEqual(
          held.map((r) => ({ pid: r.pid, thread: r.thread, txnId: r.txn })),
        )
        const oldest = oldestReader(parseReaderList(readerTable(rows)))
        if (held.length === 0) expect(oldest).toBeUndefined()
        else expect(oldest?.txnId).toBe(Math.min(...held.map((r) => r.txn as number)))
      }),
    )
  })

  it('warns only past both bounds, in one line naming the cause', () => {
    const { maxLagTxns, maxHeldMs } = DEFAULT_READER_LIMITS
    expect(readerWarning(health({ oldestLagTxns: maxLagTxns, oldestHeldMs: maxHeldMs + 1 }))).toBeUndefined()
    expect(readerWarning(health({ oldestLagTxns: maxLagTxns + 1, oldestHeldMs: maxHeldMs }))).toBeUndefined()
    expect(readerWarning(health({ oldestTxnId: undefined, oldestLagTxns: 0, readers: 0 }))).toBeUndefined()
    const line = readerWarning(health({ oldestLagTxns: maxLagTxns + 1, oldestHeldMs: maxHeldMs + 1 }))
    expect(line).toContain('transaction 100')
    expect(line).toContain(`${maxLagTxns + 1} transactions behind`)
    expect(line).toContain('data file grows')
    expect(line).not.toContain('\n')
    expect(
      readerWarning(health({ oldestLagTxns: 11, oldestHeldMs: 2 }), { maxLagTxns: 10, maxHeldMs: 1 }),
    ).toBeDefined()
  })

  it('times the oldest snapshot from the first check that saw it, and restarts for a newer one', () => {
    let table = readerTable([{ pid: 7, thread: 'a1', txn: 40 }])
    let last = 50
    let now = 1_000
    const watch = new ReaderWatch(
      { readerList: () => table, getStats: () => ({ lastTxnId: last }) },
      () => now,
    )
    expect(watch.check()).toEqual({
      readers: 1,
      lastTxnId: 50,
      oldestTxnId: 40,
      oldestLagTxns: 10,
      oldestHeldMs: 0,
    })
    now = 61_000
    last = 90
    expect(watch.check()).toMatchObject({ oldestLagTxns: 50, oldestHeldMs: 60_000 })
    table = readerTable([{ pid: 7, thread: 'a1', txn: 88 }])
    expect(watch.check()).toMatchObject({ oldestTxnId: 88, oldestLagTxns: 2, oldestHeldMs: 0 })
    table = readerTable([])
    expect(watch.check()).toEqual({ readers: 0, lastTxnId: 90, oldestLagTxns: 0, oldestHeldMs: 0 })
  })
})

describe('polling the readers', () => {
  it('warns once per snapshot past the limits, again for the next one, and stops when told', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    let table = readerTable([])
    let last = 10
    const watch = new ReaderWatch({ readerList: () => table, getStats: () => ({ lastTxnId: last }) })
    const lines: string[] = []
    const stop = pollReaders(watch, (line) => lines.push(line), {
      limits: { maxLagTxns: 100, maxHeldMs: 120_000 },
    })
    table = readerTable([{ pid: 1, thread: 'a', txn: 5 }])
    last = 500
    vi.advanceTimersByTime(60_000) // first seen: held 0
    vi.advanceTimersByTime(120_000) // held 120 s: not more than the limit
    expect(lines).toEqual([])
    vi.advanceTimersByTime(60_000)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('transaction 5 ')
    vi.advanceTimersByTime(600_000) // the same snapshot: no second line
    expect(lines).toHaveLength(1)
    table = readerTable([{ pid: 1, thread: 'a', txn: 300 }])
    last = 900
    vi.advanceTimersByTime(240_000)
    expect(lines).toHaveLength(2)
    expect(lines[1]).toContain('transaction 300 ')
    stop()
    table = readerTable([{ pid: 1, thread: 'a', txn: 301 }])
    vi.advanceTimersByTime(3_600_000)
    expect(lines).toHaveLength(2)
  })

  it('skips a check that throws (an environment closing)', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const watch = new ReaderWatch({
      readerList: () => {
        throw new Error('closed')
      },
      getStats: () => ({ lastTxnId: 1 }),
    })
    const stop = pollReaders(watch, () => {
      throw new Error('no warning expected')
    })
    expect(() => vi.advanceTimersByTime(180_000)).not.toThrow()
    stop()
  })
})

/** `n` write transactions (each advance is one). */
function writes(s: NodeState, from: number, n: number): void {
  for (let i = from; i < from + n; i++) s.advanceVerified(coordinate(i % 20), BigInt(i + 1))
}

describe('a read snapshot held on a real LMDB file', () => {
  it('raises the lag and trips the warning; released, it clears', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const s = await openTestState(temp, { noSync: true })
    writes(s, 0, 20)
    const quiet = s.readerHealth()
    expect(quiet.oldestLagTxns).toBeLessThanOrEqual(1)
    expect(readerWarning(quiet)).toBeUndefined()

    // A merkle responder kept open holds a tree snapshot, as push's change feed did (session 15).
    const responder = createResponder(s.tree('supersessions'))
    const opened = s.readerHealth()
    writes(s, 20, DEFAULT_READER_LIMITS.maxLagTxns + 50)
    const lagging = s.readerHealth()
    expect(lagging.oldestTxnId).toBe(opened.oldestTxnId)
    expect(lagging.oldestLagTxns).toBeGreaterThan(DEFAULT_READER_LIMITS.maxLagTxns)
    // Not yet held long: no warning on the lag alone.
    expect(readerWarning(lagging)).toBeUndefined()
    vi.setSystemTime(Date.now() + DEFAULT_READER_LIMITS.maxHeldMs + 60_000)
    const old = s.readerHealth()
    expect(old.oldestHeldMs).toBeGreaterThan(DEFAULT_READER_LIMITS.maxHeldMs)
    expect(readerWarning(old)).toMatch(/read snapshot of transaction \d+ has been held for 6\.\d min/)

    responder.close()
    writes(s, 2_000, 2)
    const released = s.readerHealth()
    expect(released.oldestLagTxns).toBeLessThanOrEqual(1)
    expect(readerWarning(released)).toBeUndefined()
  }, 120_000)
})
