/**
 * Frozen vectors (issue #13): records, roots, reconciliation frames, sync frames and announcements
 * of protocol version 1, and an LMDB directory written by each schema version. Every failure here
 * means a peer of an earlier release would no longer understand this one.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AnyRecord,
  decodeRecord,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  openNodeState,
  recordHash,
  SCHEMA_VERSION,
  verifyAssertion,
  verifyRevocation,
  verifySupersession,
} from '@provsync/crdt'
import { createReconciler, createResponder, EMPTY_ROOT } from '@provsync/merkle'
import { open, type RootDatabase } from 'lmdb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeAnnouncement, decodeMessage } from '../../packages/sync/src/wire/codec.js'
import {
  buildMerkleVectors,
  buildRecordVectors,
  buildStoreVectors,
  buildSyncVectors,
  buildTree,
  hex,
  type MerkleVectors,
  type RecordVector,
  SESSION_SPECS,
  type StoreVectors,
  type SyncVectors,
  toPlain,
  unhex,
  VECTOR_NETWORK,
  vectorSigner,
} from './build.js'
import {
  describeState,
  FIXTURE_SCHEMAS,
  type FixtureExpectation,
  fixtureCoordinate,
  fixtureOptions,
} from './lmdb.js'

const here = new URL('.', import.meta.url).pathname
const load = <T>(path: string): T => JSON.parse(readFileSync(join(here, path), 'utf8')) as T
const BUMP = 'protocol change: bump the version'

const records = load<RecordVector[]>('v1/records.json')
const merkle = load<MerkleVectors>('v1/merkle.json')
const sync = load<SyncVectors>('v1/sync.json')

let env: RootDatabase
let scratch: string
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'provsync-vectors-'))
  env = open({ path: scratch, maxDbs: 64, keyEncoding: 'binary' })
})
afterAll(async () => {
  await env.close()
  rmSync(scratch, { recursive: true, force: true })
})

function reencode(any: AnyRecord): Uint8Array {
  if (any.type === 'assertion') return encodeAssertion(any.record, VECTOR_NETWORK)
  if (any.type === 'supersession') return encodeSupersession(any.record, VECTOR_NETWORK)
  return encodeRevocation(any.record, VECTOR_NETWORK)
}

function verifies(any: AnyRecord): boolean {
  if (any.type === 'assertion') return verifyAssertion(any.record, VECTOR_NETWORK)
  if (any.type === 'supersession') return verifySupersession(any.record, VECTOR_NETWORK)
  return verifyRevocation(any.record, VECTOR_NETWORK)
}

describe('frozen record vectors (v1)', () => {
  it('signing the fixed fields with the fixed seeds gives the committed bytes', () => {
    const built = buildRecordVectors()
    expect(built.map((r) => r.name)).toEqual(records.map((r) => r.name))
    for (const [i, vector] of records.entries()) {
      expect(built[i]!.hex, `${BUMP}: record ${vector.name} encodes differently`).toBe(vector.hex)
      expect(built[i]!.fields, `${BUMP}: record ${vector.name} has other fields`).toEqual(vector.fields)
    }
  })

  it('the committed bytes decode to the committed fields, re-encode identically and verify', () => {
    for (const vector of records) {
      const bytes = unhex(vector.hex)
      const decoded = decodeRecord(bytes, VECTOR_NETWORK)
      expect(decoded.type, `${BUMP}: record ${vector.name} decodes as another type`).toBe(vector.type)
      expect(toPlain(decoded.record), `${BUMP}: record ${vector.name} decodes differently`).toEqual(
        vector.fields,
      )
      expect(hex(reencode(decoded)), `${BUMP}: record ${vector.name} re-encodes differently`).toBe(vector.hex)
      expect(hex(recordHash(bytes)), `${BUMP}: record ${vector.name} has another content address`).toBe(
        vector.hash,
      )
      expect(verifies(decoded), `${BUMP}: record ${vector.name} no longer verifies`).toBe(true)
      expect(hex(signerPublicKey(vector.signerSeed))).toBe(signerOfFields(vector))
    }
  })
})

const signerPublicKey = (seed: number) => vectorSigner(seed).publicKey
function signerOfFields(vector: RecordVector): string {
  const fields = vector.fields as Record<string, string>
  return fields.asserter ?? fields.agent ?? fields.operator ?? ''
}

describe('frozen merkle vectors (v1)', () => {
  it('the empty root and the roots of the fixed sets are the committed ones', () => {
    expect(hex(EMPTY_ROOT), `${BUMP}: the empty root changed`).toBe(merkle.emptyRoot)
    const built = buildMerkleVectors(env)
    for (const [i, root] of merkle.roots.entries()) {
      expect(built.roots[i], `${BUMP}: root of ${root.name} changed`).toEqual(root)
    }
    for (const [i, transcript] of merkle.transcripts.entries()) {
      expect(built.transcripts[i], `${BUMP}: reconciliation frames of ${transcript.name} changed`).toEqual(
        transcript,
      )
    }
  })

  it('a responder answers the committed requests with the committed responses', () => {
    for (const [i, spec] of SESSION_SPECS.entries()) {
      const transcript = merkle.transcripts[i]!
      const responder = createResponder(buildTree(env, spec.b))
      transcript.requests.forEach((request, round) => {
        const response = responder.respond(unhex(request))
        expect(hex(response), `${BUMP}: ${spec.name} response ${round} changed`).toBe(
          transcript.responses[round],
        )
      })
      expect(responder.done).toBe(true)
    }
  })

  it('a reconciler fed the committed responses sends the committed requests and finds the committed keys', () => {
    for (const [i, spec] of SESSION_SPECS.entries()) {
      const transcript = merkle.transcripts[i]!
      const reconciler = createReconciler(buildTree(env, spec.a))
      const sent: string[] = []
      for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
        sent.push(hex(request))
        const response = transcript.responses[sent.length - 1]
        if (response === undefined) break
        reconciler.receive(unhex(response))
      }
      expect(sent, `${BUMP}: ${spec.name} requests changed`).toEqual(transcript.requests)
      const result = reconciler.result()
      expect({
        localOnly: result.localOnly.map(hex).sort(),
        remoteOnly: result.remoteOnly.map(hex).sort(),
        differing: result.differing.map(hex).sort(),
      }).toEqual(transcript.result)
    }
  })
})

describe('frozen sync wire vectors (v1)', () => {
  it('encoding the fixed messages gives the committed frames and announcements', () => {
    const built = buildSyncVectors(buildMerkleVectors(env), buildRecordVectors())
    expect(built.trustHash, `${BUMP}: the trust bundle hash changed`).toBe(sync.trustHash)
    for (const [i, frame] of sync.frames.entries()) {
      expect(built.frames[i], `${BUMP}: frame ${frame.name} changed`).toEqual(frame)
    }
    for (const [i, announcement] of sync.announcements.entries()) {
      expect(built.announcements[i], `${BUMP}: announcement ${announcement.name} changed`).toEqual(
        announcement,
      )
    }
  })

  it('the committed frames and announcements decode to the committed fields', () => {
    for (const frame of sync.frames) {
      expect(
        toPlain(decodeMessage(unhex(frame.hex))),
        `${BUMP}: frame ${frame.name} decodes differently`,
      ).toEqual(frame.fields)
    }
    for (const announcement of sync.announcements) {
      const decoded = decodeAnnouncement(unhex(announcement.hex))
      expect(toPlain(decoded), `${BUMP}: announcement ${announcement.name} decodes differently`).toEqual(
        announcement.fields,
      )
    }
  })

  it('the records a Records frame carries are the committed records', () => {
    const frame = sync.frames.find((f) => f.name === 'records')!
    const decoded = decodeMessage(unhex(frame.hex))
    expect(decoded.type === 'records' && decoded.records.map(hex)).toEqual(records.map((r) => r.hex))
  })
})

describe('frozen store vectors (v1)', () => {
  it('the record vectors sit under the committed tree keys and give the committed store roots', async () => {
    const stores = load<StoreVectors>('v1/stores.json')
    const dir = mkdtempSync(join(tmpdir(), 'provsync-store-vectors-'))
    try {
      const built = await buildStoreVectors(records, (store) => join(dir, store))
      expect(built.networkTag, `${BUMP}: the network tag changed`).toBe(stores.networkTag)
      for (const [name, key] of Object.entries(stores.treeKeys)) {
        expect(built.treeKeys[name], `${BUMP}: tree key of ${name} changed`).toBe(key)
      }
      for (const [store, root] of Object.entries(stores.roots)) {
        expect(built.roots[store], `${BUMP}: root of the ${store} store changed`).toBe(root)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('LMDB directories written by each schema version', () => {
  const expected = load<FixtureExpectation>('lmdb/expected.json')

  it.each(FIXTURE_SCHEMAS)('schema %i opens through the migrations to the same state', async (schema) => {
    const dataDir = mkdtempSync(join(tmpdir(), `provsync-schema-${schema}-`))
    try {
      copyFileSync(join(here, 'lmdb', `schema-${schema}`, 'data.mdb'), join(dataDir, 'data.mdb'))
      const state = await openNodeState(fixtureOptions(dataDir))
      expect(describeState(state), `schema ${schema} opens to another state`).toEqual(expected)
      const result = state.advanceVerified(fixtureCoordinate(1), 7n)
      expect(result).toBeDefined()
      expect(state.view.get(fixtureCoordinate(1))?.run).toBe(7n)
      expect(state.view.count()).toBe(expected.viewCount)
      await state.close()
      const raw = open({ path: dataDir, noSubdir: false, maxDbs: 64 })
      expect(raw.openDB({ name: 'crdt/meta' }).get('schemaVersion')).toBe(SCHEMA_VERSION)
      await raw.close()
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  // Schema 5 chains each coordinate's history from its entry and keys the asserter index by a
  // counter: a migrated directory must keep extending both, not just read them once.
  it.each(
    FIXTURE_SCHEMAS,
  )('schema %i: new history and a revocation extend the migrated indexes', async (schema) => {
    const dataDir = mkdtempSync(join(tmpdir(), `provsync-schema-${schema}-`))
    try {
      copyFileSync(join(here, 'lmdb', `schema-${schema}`, 'data.mdb'), join(dataDir, 'data.mdb'))
      const state = await openNodeState(fixtureOptions(dataDir))
      const old = (expected.histories as unknown[][])[1]!
      state.advanceVerified(fixtureCoordinate(1), 7n)
      const history = state.history.byCoordinate(fixtureCoordinate(1))
      expect(toPlain(history.slice(0, -1))).toEqual(old)
      expect(history.at(-1)?.after?.run).toBe(7n)
      const since = history.at(-2)!.seq
      expect(state.history.byCoordinate(fixtureCoordinate(1), { since })).toEqual(history.slice(-1))
      expect(state.history.byCoordinate(fixtureCoordinate(1), { limit: 1 })).toEqual(history.slice(0, 1))
      // A (seed 1) asserted coordinates 0, 1 and 2 before the migration; coordinate 2 has nothing else.
      const A = vectorSigner(1)
      const entry = await state.revocations.revoke(
        { subject: A.publicKey, subjectKind: 'peer', reason: 'test' },
        vectorSigner(3),
      )
      expect(entry.result).toMatchObject({ invalidated: 3, restored: 0 })
      expect(state.view.get(fixtureCoordinate(2))).toBeUndefined()
      expect(state.history.byCoordinate(fixtureCoordinate(2)).at(-1)?.kind).toBe('revoke')
      expect(state.view.count()).toBe(expected.viewCount - 1)
      await state.close()
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('the newest fixture is the current schema, so a schema bump needs a fixture of it', () => {
    expect(Math.max(...FIXTURE_SCHEMAS), 'schema bumped: run the generator with --lmdb-current').toBe(
      SCHEMA_VERSION,
    )
  })
})
