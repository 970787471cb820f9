import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  assertionKey,
  openNodeState,
  recordHash,
  SCHEMA_VERSION,
  SchemaVersionError,
  STORE_NAMES,
} from '@provsync/crdt'
import { openMerkleTree } from '@provsync/merkle'
import { open } from 'lmdb'
import { afterEach, describe, expect, it } from 'vitest'
import {
  assertionBytes,
  coordinate,
  hash32,
  NETWORK,
  revocationBytes,
  signerN,
  supersessionBytes,
  TempDirs,
} from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const A = signerN(1)
const coords = [coordinate(1), coordinate(2), coordinate(3)]

/**
 * Rewrites a current database into the schema 1 layout: coordinate, local evidence, view
 * component and each asserter's register evidence in four sub-databases (`crdt/coords`,
 * `crdt/local`, `crdt/view`, `crdt/asByCoord` keyed by coordinate id ‖ asserter) instead of one
 * entry per coordinate.
 */
async function downgradeToSchema1(dataDir: string): Promise<void> {
  const env = open({ path: dataDir, noSubdir: false, maxDbs: 64 })
  const binary = (name: string) =>
    env.openDB<Uint8Array, Uint8Array>({ name, keyEncoding: 'binary', encoding: 'binary' })
  const meta = env.openDB({ name: 'crdt/meta' })
  const coordinates = binary('crdt/coordinates')
  const [coords, local, view, byCoord] = ['coords', 'local', 'view', 'asByCoord'].map((n) =>
    binary(`crdt/${n}`),
  ) as [
    ReturnType<typeof binary>,
    ReturnType<typeof binary>,
    ReturnType<typeof binary>,
    ReturnType<typeof binary>,
  ]
  await env.transaction(() => {
    for (const { key, value } of coordinates.getRange()) {
      const data = new DataView(value.buffer, value.byteOffset, value.byteLength)
      const length = data.getUint16(0)
      coords.put(key, value.subarray(2, 2 + length))
      let offset = 3 + length
      if (value[2 + length] === 1) {
        local.put(key, value.subarray(offset, offset + 24))
        offset += 24
      }
      const componentLength = data.getUint32(offset)
      if (componentLength > 0) view.put(key, value.subarray(offset + 4, offset + 4 + componentLength))
      offset += 4 + componentLength
      const rows = data.getUint16(offset)
      offset += 2
      for (let i = 0; i < rows; i++, offset += 121) {
        const row = value.subarray(offset, offset + 121)
        const evidence =
          row[88] === 1 ? Buffer.concat([row.subarray(32, 88), row.subarray(89)]) : row.subarray(32, 88)
        byCoord.put(Buffer.concat([key, row.subarray(0, 32)]), evidence)
      }
    }
    meta.put('schemaVersion', 1)
  })
  await coordinates.drop()
  await env.close()
}

describe('schema and migrations', () => {
  it('opens a database written by the previous schema and migrates it forward', async () => {
    const dataDir = temp.dir()
    const state = await openNodeState({ dataDir, networkId: NETWORK, verifyThreads: 0 })
    await state.apply(
      'assertions',
      coords.map((c, i) => assertionBytes(A, c, BigInt(i + 1))),
      { from: A.publicKey },
    )
    state.advanceVerified(coords[0]!, 5n)
    state.advanceVerified(coordinate(9), 1n)
    const view = [...state.view.entries()]
    const root = state.tree('assertions').root()
    await state.close()

    await downgradeToSchema1(dataDir)
    const migrated = await temp.open({ dataDir })
    expect([...migrated.view.entries()]).toEqual(view)
    expect(migrated.view.count()).toBe(view.length)
    expect(migrated.history.byCoordinate(coords[0]!).map((h) => h.kind)).toEqual(['advance', 'advance'])
    expect(migrated.view.local(coords[0]!)?.run).toBe(5n)
    expect(migrated.tree('assertions').root()).toEqual(root)
    expect(migrated.assertions.evidence(coords[1]!)).toMatchObject([{ asserter: A.publicKey, run: 2n }])
    await migrated.apply('assertions', [assertionBytes(A, coordinate(9), 7n)], { from: A.publicKey })
    expect(migrated.view.get(coordinate(9))?.run).toBe(7n)
    await migrated.close()

    const env = open({ path: dataDir, noSubdir: false, maxDbs: 64 })
    expect(env.openDB({ name: 'crdt/meta' }).get('schemaVersion')).toBe(SCHEMA_VERSION)
    await env.close()
  })

  it('migrates a schema 2 database whose trees still hold a revoked signer’s records', async () => {
    const operator = signerN(100)
    const K = signerN(2)
    const dataDir = temp.dir()
    const options = { dataDir, trust: [operator.publicKey] }
    const state = await temp.open(options)
    const kAssertion = assertionBytes(K, coords[0]!, 4n)
    const kSupersession = supersessionBytes(K, hash32(1))
    await state.apply('assertions', [kAssertion, assertionBytes(A, coords[1]!, 1n)], { from: K.publicKey })
    await state.apply('supersessions', [kSupersession], { from: K.publicKey })
    await state.apply('revocations', [revocationBytes(operator, K.publicKey)], { from: operator.publicKey })
    const roots = STORE_NAMES.map((store) => state.tree(store).root())
    await state.close()

    // Schema 2 kept a revoked signer's records in the trees.
    const env = open({ path: dataDir, noSubdir: false, maxDbs: 64, keyEncoding: 'binary' })
    const assertions = openMerkleTree(env, { name: 'assertions', keysAreHashes: true })
    const supersessions = openMerkleTree(env, { name: 'supersessions', keysAreHashes: true })
    await env.transaction(() => {
      assertions.update([{ key: assertionKey(K.publicKey, coords[0]!), valueHash: recordHash(kAssertion) }])
      supersessions.update([{ key: recordHash(kSupersession), valueHash: recordHash(kSupersession) }])
      env.openDB({ name: 'crdt/meta', keyEncoding: 'ordered-binary' }).put('schemaVersion', 2)
    })
    expect(assertions.root()).not.toEqual(roots[STORE_NAMES.indexOf('assertions')])
    await env.close()

    const migrated = await temp.open(options)
    expect(STORE_NAMES.map((store) => migrated.tree(store).root())).toEqual(roots)
    expect(migrated.assertions.get(K.publicKey, coords[0]!)?.run).toBe(4n) // kept for audit
    await migrated.close()
    // Done once: reopening finds nothing to move.
    const again = await temp.open(options)
    expect(STORE_NAMES.map((store) => again.tree(store).root())).toEqual(roots)
  })

  it('migrates a schema 3 database: indexes its history by coordinate and counts its view entries', async () => {
    const operator = signerN(100)
    const dataDir = temp.dir()
    const options = { dataDir, trust: [operator.publicKey] }
    const state = await temp.open(options)
    await state.apply(
      'assertions',
      coords.map((c, i) => assertionBytes(A, c, BigInt(i + 1))),
      { from: A.publicKey },
    )
    state.advanceVerified(coords[0]!, 5n)
    await state.apply('revocations', [revocationBytes(operator, A.publicKey)], { from: operator.publicKey })
    const histories = coords.map((c) => state.history.byCoordinate(c))
    expect(histories.map((h) => h.map((e) => e.kind))).toEqual([
      ['advance', 'advance'],
      ['advance', 'revoke'],
      ['advance', 'revoke'],
    ])
    expect(state.view.count()).toBe(1)
    await state.close()

    // Schema 3 had neither the index nor the count.
    const env = open({ path: dataDir, noSubdir: false, maxDbs: 64 })
    await env.openDB({ name: 'crdt/historyByCoord', keyEncoding: 'binary' }).drop()
    const meta = env.openDB({ name: 'crdt/meta', keyEncoding: 'ordered-binary' })
    await meta.remove('viewCount')
    await meta.put('schemaVersion', 3)
    await env.close()

    const migrated = await temp.open(options)
    expect(coords.map((c) => migrated.history.byCoordinate(c))).toEqual(histories)
    expect(migrated.view.count()).toBe(1)
    migrated.advanceVerified(coords[1]!, 1n)
    expect(migrated.view.count()).toBe(2)
    expect(migrated.history.byCoordinate(coords[1]!).at(-1)?.kind).toBe('advance')
  })

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
