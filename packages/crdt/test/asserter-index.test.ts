import type { NodeState } from '@provsync/crdt'
import { blake3, encodeCoordinate, openNodeState, toHex } from '@provsync/crdt'
import { open } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { assertionBytes, coordinate, crdtSuite, NETWORK } from './helpers.js'

// Schema 6: the asserter index (what a revocation reads) holds one entry per asserter and write
// transaction, asserter ‖ u64 n → the ids of the registers it gained, at most 1,024 per entry.
const CHUNK = 1024
const { temp, operator, A, B } = crdtSuite('each')

const idOf = (i: number) => toHex(blake3(encodeCoordinate(coordinate(i))))

/** The asserter index as stored: per asserter (hex), its entries in key order as [n, ids (hex)]. */
function readIndex(dataDir: string): Map<string, [number, string[]][]> {
  const env = open({ path: dataDir, noSubdir: false, maxDbs: 64, keyEncoding: 'binary' })
  const db = env.openDB<Uint8Array, Uint8Array>({
    name: 'crdt/asserterChunks',
    keyEncoding: 'binary',
    encoding: 'binary',
  })
  const out = new Map<string, [number, string[]][]>()
  for (const { key, value } of db.getRange()) {
    const asserter = toHex(key.subarray(0, 32))
    const n = Number(Buffer.from(key).readBigUInt64BE(32))
    const ids: string[] = []
    for (let offset = 0; offset < value.length; offset += 32)
      ids.push(toHex(value.subarray(offset, offset + 32)))
    out.set(asserter, [...(out.get(asserter) ?? []), [n, ids]])
  }
  env.close()
  return out
}

async function revoke(state: NodeState, subject: Uint8Array) {
  return state.revocations.revoke({ subject, subjectKind: 'peer', reason: 'test' }, operator)
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

describe('asserter index (schema 6)', () => {
  it('one entry per asserter and batch, split at 1,024 ids, numbered on from the last; a revocation reads them all', async () => {
    const dataDir = temp.dir()
    let state = await temp.open({ dataDir, trust: [operator.publicKey] })
    // A's and B's records interleaved in one batch: A gains 1,030 registers, B 3.
    const batch = range(0, CHUNK + 6).map((i) => assertionBytes(A, coordinate(i), 1n))
    batch.splice(10, 0, ...[5000, 5001, 5002].map((i) => assertionBytes(B, coordinate(i), 1n)))
    await state.apply('assertions', batch, { from: A.publicKey })
    // A duplicate and a higher run of a register A has: no new index entry.
    await state.apply(
      'assertions',
      [
        assertionBytes(A, coordinate(0), 1n),
        assertionBytes(A, coordinate(1), 2n),
        assertionBytes(A, coordinate(7000), 1n),
      ],
      { from: A.publicKey },
    )
    await state.close()
    const index = readIndex(dataDir)
    expect(index.get(toHex(A.publicKey))).toEqual([
      [1, range(0, CHUNK).map(idOf)],
      [2, range(CHUNK, CHUNK + 6).map(idOf)],
      [3, [idOf(7000)]],
    ])
    expect(index.get(toHex(B.publicKey))).toEqual([[1, [5000, 5001, 5002].map(idOf)]])
    state = await temp.open({ dataDir, trust: [operator.publicKey] })
    const entry = await revoke(state, A.publicKey)
    expect(entry.result).toMatchObject({ invalidated: CHUNK + 7, restored: 0 })
    expect(state.view.get(coordinate(CHUNK + 5))).toBeUndefined()
    expect(state.view.get(coordinate(5001))?.run).toBe(1n)
    await state.close()
  })

  it("lists this node's own registers, from a local advance and from evidence withheld while its key was revoked", async () => {
    const dataDir = temp.dir()
    const state = await temp.open({ dataDir, trust: [operator.publicKey] })
    const self = state.publicKey
    state.advanceVerified(coordinate(1), 1n)
    await revoke(state, self)
    state.advanceVerified(coordinate(2), 1n)
    await state.revocations.reinstate({ subject: self, subjectKind: 'peer', reason: 'cleared' }, operator)
    await state.close()
    expect(readIndex(dataDir).get(toHex(self))).toEqual([
      [1, [idOf(1)]],
      [2, [idOf(2)]],
    ])
  })

  it('migrates a schema 5 index (one row per register) into entries of at most 1,024 ids', async () => {
    const dataDir = temp.dir()
    let state = await temp.open({ dataDir, trust: [operator.publicKey] })
    await state.apply(
      'assertions',
      range(0, CHUNK + 2).map((i) => assertionBytes(A, coordinate(i), 1n)),
      {
        from: A.publicKey,
      },
    )
    await state.apply('assertions', [assertionBytes(B, coordinate(0), 1n)], { from: B.publicKey })
    await state.close()
    // Rewritten as schema 5 left it: asserter ‖ u64 n → one id per row, n from 1 per asserter.
    const env = open({ path: dataDir, noSubdir: false, maxDbs: 64, keyEncoding: 'binary' })
    const binary = (name: string) =>
      env.openDB<Uint8Array, Uint8Array>({ name, keyEncoding: 'binary', encoding: 'binary' })
    const chunks = binary('crdt/asserterChunks')
    const rows = binary('crdt/registersByAsserter')
    const stored = [...chunks.getRange()].map(({ key, value }) => [
      new Uint8Array(key),
      new Uint8Array(value),
    ])
    env.transactionSync(() => {
      const counts = new Map<string, number>()
      for (const [key, value] of stored) {
        for (let offset = 0; offset < value!.length; offset += 32) {
          const n = (counts.get(toHex(key!.subarray(0, 32))) ?? 0) + 1
          counts.set(toHex(key!.subarray(0, 32)), n)
          const rowKey = Buffer.alloc(40)
          rowKey.set(key!.subarray(0, 32))
          rowKey.writeBigUInt64BE(BigInt(n), 32)
          rows.putSync(rowKey, value!.subarray(offset, offset + 32))
        }
      }
      env.openDB({ name: 'crdt/meta', keyEncoding: 'ordered-binary' }).putSync('schemaVersion', 5)
    })
    chunks.dropSync()
    await env.close()
    state = await openNodeState({
      dataDir,
      networkId: NETWORK,
      trust: [operator.publicKey],
      verifyThreads: 0,
    })
    await state.close()
    const index = readIndex(dataDir)
    expect(index.get(toHex(A.publicKey))).toEqual([
      [1, range(0, CHUNK).map(idOf)],
      [2, range(CHUNK, CHUNK + 2).map(idOf)],
    ])
    expect(index.get(toHex(B.publicKey))).toEqual([[1, [idOf(0)]]])
    const raw = open({ path: dataDir, noSubdir: false, maxDbs: 64 })
    const names = [...raw.getKeys()].map(String)
    expect(names).toContain('crdt/asserterChunks')
    expect(names).not.toContain('crdt/registersByAsserter')
    await raw.close()
    state = await temp.open({ dataDir, trust: [operator.publicKey] })
    expect((await revoke(state, A.publicKey)).result).toMatchObject({ invalidated: CHUNK + 2 })
    await state.close()
  })
})
