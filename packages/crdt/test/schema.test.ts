import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openNodeState, SCHEMA_VERSION, SchemaVersionError } from '@provsync/crdt'
import { open } from 'lmdb'
import { afterEach, describe, expect, it } from 'vitest'
import { assertionBytes, coordinate, NETWORK, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const A = signerN(1)
const coords = [coordinate(1), coordinate(2), coordinate(3)]

describe('schema and migrations', () => {
  // Databases written by each earlier schema are committed fixtures, opened through the real
  // migrations by test/vectors/vectors.test.ts ('LMDB directories written by each schema version').

  it('refuses a database from a newer schema, and one of another network', async () => {
    const dataDir = temp.dir()
    await (await openNodeState({ dataDir, networkId: NETWORK, verifyThreads: 0 })).close()
    await expect(openNodeState({ dataDir, networkId: 'other', verifyThreads: 0 })).rejects.toThrow(/network/)
    const env = open({ path: dataDir, noSubdir: false, maxDbs: 64 })
    await env.openDB({ name: 'crdt/meta' }).put('schemaVersion', SCHEMA_VERSION + 1)
    await env.close()
    await expect(openNodeState({ dataDir, networkId: NETWORK, verifyThreads: 0 })).rejects.toThrow(
      SchemaVersionError,
    )
  })

  it('keeps the node identity and never issues an HLC below one it issued before a restart', async () => {
    const dataDir = temp.dir()
    const first = await openNodeState({ dataDir, networkId: NETWORK, verifyThreads: 0 })
    const key = first.publicKey
    first.advanceVerified(coords[0]!, 1n)
    const issued = first.clock.now()
    await first.close()
    // A wall clock that went back an hour: the persisted mark keeps the clock ahead.
    const second = await temp.open({ dataDir, wallClock: () => issued.wallMs - 3_600_000 })
    expect(second.publicKey).toEqual(key)
    const next = second.clock.now()
    expect(
      next.wallMs > issued.wallMs || (next.wallMs === issued.wallMs && next.counter > issued.counter),
    ).toBe(true)
  })
})

describe('data directory', () => {
  it('opens, and reopens, a data directory whose names contain dots', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'tmp.')) // like mktemp's /tmp/tmp.XXXX
    try {
      for (const dataDir of [parent, join(parent, 'node.1')]) {
        const first = await openNodeState({ dataDir, networkId: NETWORK, verifyThreads: 0 })
        first.advanceVerified(coords[0]!, 3n)
        const key = first.publicKey
        await first.close()
        expect(statSync(dataDir).isDirectory()).toBe(true)
        expect(readdirSync(dataDir)).toContain('data.mdb')
        const again = await openNodeState({ dataDir, networkId: NETWORK, verifyThreads: 0 })
        expect(again.publicKey).toEqual(key)
        expect(again.view.get(coords[0]!)?.run).toBe(3n)
        await again.close()
      }
    } finally {
      rmSync(parent, { recursive: true, force: true })
    }
  })
})

describe('trust bundle', () => {
  it('revocations by an operator removed from the trust bundle stop acting at the next open', async () => {
    const { revocationBytes } = await import('./helpers.js')
    const operator = signerN(100)
    const dataDir = temp.dir()
    const state = await temp.open({ dataDir, trust: [operator.publicKey] })
    await state.apply('assertions', [assertionBytes(A, coords[0]!, 3n)], { from: A.publicKey })
    await state.apply('revocations', [revocationBytes(operator, A.publicKey)], { from: operator.publicKey })
    expect(state.view.get(coords[0]!)).toBeUndefined()
    await state.close()
    const reopened = await temp.open({ dataDir, trust: [] })
    expect(reopened.revocations.isRevoked(A.publicKey)).toBe(false)
    expect(reopened.view.get(coords[0]!)?.run).toBe(3n)
    expect(reopened.history.since().at(-1)?.kind).toBe('reinstate')
    expect(reopened.ledger.replay()).toBe(0)
  })
})

describe('schema 5 migration reads its indexes in chunks', () => {
  it('lists every key once, in order, across chunk boundaries and keys that prefix others', async () => {
    const { keysInChunks } = await import('../src/db.js')
    const env = open({ path: temp.dir(), noSubdir: false, maxDbs: 4 })
    const db = env.openDB<Uint8Array, Uint8Array>({ name: 'keys', keyEncoding: 'binary', encoding: 'binary' })
    const keys = [[1], [1, 0], [1, 0, 0], [1, 255], [2], [2, 0, 7], [3, 1]].map((k) => new Uint8Array(k))
    await env.transaction(() => {
      for (const key of keys) db.put(key, new Uint8Array(1))
    })
    for (const chunk of [1, 2, 3, 7, 8]) {
      expect(
        [...keysInChunks(db, chunk)].map((k) => [...k]),
        `chunk ${chunk}`,
      ).toEqual(keys.map((k) => [...k]))
    }
    await env.close()
  })
})

describe('asserter index keys', () => {
  it('are the asserter then the register number as u64 big-endian, so they sort by number', async () => {
    const { asserterIndexKey } = await import('../src/db.js')
    const { readSeq } = await import('../src/persisted.js')
    const asserter = A.publicKey
    const numbers = [1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]
    const keys = numbers.map((n) => asserterIndexKey(asserter, n))
    for (const [i, key] of keys.entries()) {
      expect(key.subarray(0, 32)).toEqual(asserter)
      expect(readSeq(new DataView(key.buffer), 32), `n = ${numbers[i]}`).toBe(numbers[i])
    }
    const sorted = [...keys].sort((a, b) => Buffer.compare(a, b))
    expect(sorted).toEqual(keys)
  })

  it("a register added in a later transaction, or after a reopen, appends to its asserter's range", async () => {
    const { revocationBytes } = await import('./helpers.js')
    const operator = signerN(100)
    const B = signerN(2)
    const dataDir = temp.dir()
    let state = await temp.open({ dataDir, trust: [operator.publicKey] })
    const c = [1, 2, 3, 4, 5].map((i) => coordinate(i))
    await state.apply('assertions', [assertionBytes(A, c[0]!, 1n)], { from: A.publicKey })
    await state.apply('assertions', [assertionBytes(B, c[0]!, 1n), assertionBytes(B, c[1]!, 1n)], {
      from: B.publicKey,
    })
    await state.apply('assertions', [assertionBytes(A, c[1]!, 1n), assertionBytes(A, c[2]!, 1n)], {
      from: A.publicKey,
    })
    await state.close()
    state = await temp.open({ dataDir, trust: [operator.publicKey] })
    // A new run at c[0] replaces A's register there: no second index entry.
    await state.apply('assertions', [assertionBytes(A, c[3]!, 1n), assertionBytes(A, c[0]!, 2n)], {
      from: A.publicKey,
    })
    await state.apply('revocations', [revocationBytes(operator, A.publicKey)], { from: operator.publicKey })
    const [entry] = state.ledger.bySubject(A.publicKey)
    expect(entry?.result).toMatchObject({ invalidated: 4 })
    expect(state.view.get(c[2]!)).toBeUndefined()
    expect(state.view.get(c[3]!)).toBeUndefined()
    expect(state.view.get(c[1]!)?.provenance).toMatchObject({ type: 'asserted', asserter: B.publicKey })
    await state.close()
  })
})
