/**
 * The LMDB fixtures: one scenario written by the current schema, then rewritten into each earlier
 * layout. The rewrites read today's byte layout, so they are run once, by the generator, and
 * their output is committed (`lmdb/schema-N/data.mdb`); the tests open those files through the
 * real migration path and never run these rewrites.
 */
import { assertionKey, blake3, type NodeState, openNodeState, recordHash, STORE_NAMES } from '@provsync/crdt'
import { openMerkleTree } from '@provsync/merkle'
import { open } from 'lmdb'
import {
  hex,
  signedAssertion,
  signedRevocation,
  signedSupersession,
  toPlain,
  VECTOR_MS,
  VECTOR_NETWORK,
  vectorSigner,
} from './build.js'

export const FIXTURE_SCHEMAS = [1, 2, 3, 4, 5, 6] as const
export const FIXTURE_WALL_MS = VECTOR_MS + 60_000
export const fixtureCoordinate = (i: number) => ({ volume: 'vol', destination: 'dst', origin: `origin-${i}` })

/** What the scenario's state looks like; every fixture must open to exactly this. */
export interface FixtureExpectation {
  networkId: string
  trust: string[]
  publicKey: string
  viewCount: number
  view: unknown
  roots: Record<string, string>
  histories: unknown
  revoked: string[]
}

export function fixtureOptions(dataDir: string) {
  return {
    dataDir,
    networkId: VECTOR_NETWORK,
    trust: [vectorSigner(3).publicKey],
    seed: new Uint8Array(32).fill(9),
    wallClock: () => FIXTURE_WALL_MS,
    verifyThreads: 0,
  }
}

/** A (seed 1) asserts three coordinates, K (seed 2) asserts one and supersedes; operator revokes K. */
export async function writeScenario(dataDir: string): Promise<FixtureExpectation> {
  const A = vectorSigner(1)
  const K = vectorSigner(2)
  const state = await openNodeState(fixtureOptions(dataDir))
  await state.apply(
    'assertions',
    [0, 1, 2].map((i) => signedAssertion(A, fixtureCoordinate(i), BigInt(i + 1))),
    { from: A.publicKey },
  )
  await state.apply('assertions', [signedAssertion(K, fixtureCoordinate(0), 4n)], { from: K.publicKey })
  await state.apply('supersessions', [signedSupersession(K)], { from: K.publicKey })
  state.advanceVerified(fixtureCoordinate(0), 5n)
  state.advanceVerified(fixtureCoordinate(9), 1n)
  await state.apply('revocations', [signedRevocation(vectorSigner(3), K.publicKey)], {
    from: vectorSigner(3).publicKey,
  })
  const expectation = describeState(state)
  await state.close()
  return expectation
}

export function describeState(state: NodeState): FixtureExpectation {
  const coords = [0, 1, 2, 9].map(fixtureCoordinate)
  return {
    networkId: state.networkId,
    trust: [hex(vectorSigner(3).publicKey)],
    publicKey: hex(state.publicKey),
    viewCount: state.view.count(),
    view: toPlain([...state.view.entries()]),
    roots: Object.fromEntries(STORE_NAMES.map((store) => [store, hex(state.tree(store).root())])),
    histories: toPlain(coords.map((c) => state.history.byCoordinate(c))),
    revoked: [vectorSigner(1), vectorSigner(2)]
      .filter((s) => state.revocations.isRevoked(s.publicKey))
      .map((s) => hex(s.publicKey)),
  }
}

const openRaw = (dataDir: string) =>
  open({ path: dataDir, noSubdir: false, maxDbs: 64, keyEncoding: 'binary' })

/** A sub-database with binary keys and values. */
const binaryDb = (env: ReturnType<typeof openRaw>, name: string) =>
  env.openDB<Uint8Array, Uint8Array>({ name, keyEncoding: 'binary', encoding: 'binary' })

/** A schema 5 history entry without its previous-seq field (flag 32, after the ledger seq). */
function historyWithoutPrev(value: Uint8Array): Uint8Array {
  const flags = value[2]!
  if (!(flags & 32)) return value
  const at =
    21 + ((value[19]! << 8) | value[20]!) + (flags & 1 ? 32 : 0) + (flags & 2 ? 32 : 0) + (flags & 4 ? 4 : 0)
  const out = Buffer.concat([value.subarray(0, at), value.subarray(at + 8)])
  out[2] = flags & ~32
  return out
}

/** A schema 5 coordinate entry without its latest-history field (flag bit 1, after local evidence). */
function entryWithoutHistory(value: Uint8Array): Uint8Array {
  const length = (value[0]! << 8) | value[1]!
  const flags = value[2 + length]!
  if (!(flags & 2)) return value
  const at = 3 + length + (flags & 1 ? 24 : 0)
  const out = Buffer.concat([value.subarray(0, at), value.subarray(at + 8)])
  out[2 + length] = flags & ~2
  return out
}

/**
 * Schema 5 kept one asserter index entry per register (`crdt/registersByAsserter`, asserter ‖ u64
 * n → one coordinate id, n counting each asserter's registers from 1) instead of one per asserter
 * and write transaction (`crdt/asserterChunks`, the ids packed in one value).
 */
export async function downgradeToSchema5(dataDir: string): Promise<void> {
  const env = openRaw(dataDir)
  const [chunks, registers] = ['asserterChunks', 'registersByAsserter'].map((n) => binaryDb(env, `crdt/${n}`))
  const rows = [...chunks!.getRange()].map(({ key, value }) => ({
    key: new Uint8Array(key),
    value: new Uint8Array(value),
  }))
  await env.transaction(() => {
    let asserter = ''
    let n = 0
    for (const { key, value } of rows) {
      const next = Buffer.from(key.subarray(0, 32)).toString('hex')
      if (next !== asserter) {
        asserter = next
        n = 0
      }
      for (let offset = 0; offset < value.length; offset += 32) {
        const rowKey = Buffer.alloc(40)
        rowKey.set(key.subarray(0, 32))
        rowKey.writeBigUInt64BE(BigInt(++n), 32)
        registers!.put(rowKey, value.subarray(offset, offset + 32))
      }
    }
    env.openDB({ name: 'crdt/meta', keyEncoding: 'ordered-binary' }).put('schemaVersion', 5)
  })
  await chunks!.drop()
  await env.close()
}

/**
 * Schema 4 indexed the history by coordinate (`crdt/historyByCoord`, coordinate id ‖ u64 seq)
 * instead of chaining it, and keyed the asserter index by asserter ‖ coordinate id
 * (`crdt/asByAsserter`) instead of asserter ‖ u64 n → coordinate id (`crdt/registersByAsserter`).
 */
export async function downgradeToSchema4(dataDir: string): Promise<void> {
  await downgradeToSchema5(dataDir)
  const env = openRaw(dataDir)
  const history = env.openDB<Uint8Array, number>({
    name: 'crdt/history',
    keyEncoding: 'ordered-binary',
    encoding: 'binary',
  })
  const [coordinates, byCoord, registers, byAsserter] = [
    'coordinates',
    'historyByCoord',
    'registersByAsserter',
    'asByAsserter',
  ].map((n) => binaryDb(env, `crdt/${n}`))
  const entries = [...history.getRange()].map(({ key, value }) => ({ key, value: new Uint8Array(value) }))
  const coords = [...coordinates!.getRange()].map(({ key, value }) => ({ key, value: new Uint8Array(value) }))
  const index = [...registers!.getRange()].map(({ key, value }) => ({ key, value: new Uint8Array(value) }))
  await env.transaction(() => {
    for (const { key, value } of entries) {
      history.put(key, historyWithoutPrev(value))
      const coordinate = value.subarray(21, 21 + ((value[19]! << 8) | value[20]!))
      const seq = Buffer.alloc(8)
      seq.writeBigUInt64BE(BigInt(key))
      byCoord!.put(Buffer.concat([blake3(coordinate), seq]), new Uint8Array(0))
    }
    for (const { key, value } of coords) coordinates!.put(key, entryWithoutHistory(value))
    for (const { key, value } of index)
      byAsserter!.put(Buffer.concat([key.subarray(0, 32), value]), new Uint8Array(0))
    env.openDB({ name: 'crdt/meta', keyEncoding: 'ordered-binary' }).put('schemaVersion', 4)
  })
  await registers!.drop()
  await env.close()
}

/** Schema 3 had neither the history index by coordinate nor the view count. */
export async function downgradeToSchema3(dataDir: string): Promise<void> {
  await downgradeToSchema4(dataDir)
  const env = openRaw(dataDir)
  await env.openDB({ name: 'crdt/historyByCoord', keyEncoding: 'binary' }).drop()
  const meta = env.openDB({ name: 'crdt/meta', keyEncoding: 'ordered-binary' })
  await meta.remove('viewCount')
  await meta.put('schemaVersion', 3)
  await env.close()
}

/** Schema 2 also kept a revoked signer's records in the trees. */
export async function downgradeToSchema2(dataDir: string): Promise<void> {
  await downgradeToSchema3(dataDir)
  const K = vectorSigner(2)
  const env = openRaw(dataDir)
  const assertions = openMerkleTree(env, { name: 'assertions', keysAreHashes: true })
  const supersessions = openMerkleTree(env, { name: 'supersessions', keysAreHashes: true })
  const kAssertion = signedAssertion(K, fixtureCoordinate(0), 4n)
  const kSupersession = signedSupersession(K)
  await env.transaction(() => {
    assertions.update([
      { key: assertionKey(K.publicKey, fixtureCoordinate(0)), valueHash: recordHash(kAssertion) },
    ])
    supersessions.update([{ key: recordHash(kSupersession), valueHash: recordHash(kSupersession) }])
    env.openDB({ name: 'crdt/meta', keyEncoding: 'ordered-binary' }).put('schemaVersion', 2)
  })
  await env.close()
}

/**
 * Schema 1 kept coordinate, local evidence, view component and each asserter's register evidence
 * in four sub-databases (`crdt/coords`, `crdt/local`, `crdt/view`, `crdt/asByCoord` keyed by
 * coordinate id ‖ asserter) instead of one entry per coordinate.
 */
export async function downgradeToSchema1(dataDir: string): Promise<void> {
  await downgradeToSchema2(dataDir)
  const env = openRaw(dataDir)
  const coordinates = binaryDb(env, 'crdt/coordinates')
  const [coords, local, view, byCoord] = ['coords', 'local', 'view', 'asByCoord'].map((n) =>
    binaryDb(env, `crdt/${n}`),
  )
  await env.transaction(() => {
    for (const { key, value } of coordinates.getRange()) {
      const data = new DataView(value.buffer, value.byteOffset, value.byteLength)
      const length = data.getUint16(0)
      coords!.put(key, value.subarray(2, 2 + length))
      let offset = 3 + length
      if (value[2 + length] === 1) {
        local!.put(key, value.subarray(offset, offset + 24))
        offset += 24
      }
      const componentLength = data.getUint32(offset)
      if (componentLength > 0) view!.put(key, value.subarray(offset + 4, offset + 4 + componentLength))
      offset += 4 + componentLength
      const rows = data.getUint16(offset)
      offset += 2
      for (let i = 0; i < rows; i++, offset += 121) {
        const row = value.subarray(offset, offset + 121)
        const evidence =
          row[88] === 1 ? Buffer.concat([row.subarray(32, 88), row.subarray(89)]) : row.subarray(32, 88)
        byCoord!.put(Buffer.concat([key, row.subarray(0, 32)]), evidence)
      }
    }
    env.openDB({ name: 'crdt/meta', keyEncoding: 'ordered-binary' }).put('schemaVersion', 1)
  })
  await coordinates.drop()
  await env.close()
}

export const DOWNGRADES: Record<number, ((dataDir: string) => Promise<void>) | undefined> = {
  1: downgradeToSchema1,
  2: downgradeToSchema2,
  3: downgradeToSchema3,
  4: downgradeToSchema4,
  5: downgradeToSchema5,
  6: undefined,
}
