/**
 * Frozen vectors of the record version 2 (issue #15): a supersession or an assertion that carries
 * an evidence blob id. The version-1 vectors (`v1/records.json`, checked by `vectors.test.ts`) stay
 * valid and keep their hashes; a node of the first release (its codec, copied verbatim into
 * `packages/crdt/test/fixtures/release1-records.ts`) reads every version-1 record this release
 * writes and refuses a version-2 record with a typed `unknown-kind` error.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AnyRecord,
  decodeAssertion,
  decodeRecord,
  decodeSupersession,
  EVIDENCE_RECORD_VERSION,
  encodeAssertion,
  encodeSupersession,
  MalformedRecordError,
  openNodeState,
  RECORD_VERSION,
  recordHash,
  UnknownKindError,
  verifyAssertion,
  verifySupersession,
} from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import * as release1 from '../../packages/crdt/test/fixtures/release1-records.js'
import {
  buildEvidenceRecordVectors,
  hex,
  type RecordVector,
  toPlain,
  unhex,
  VECTOR_NETWORK,
  vectorSigner,
} from './build.js'

const here = new URL('.', import.meta.url).pathname
const load = <T>(path: string): T => JSON.parse(readFileSync(join(here, path), 'utf8')) as T
const BUMP = 'protocol change: bump the version'
const v1 = load<RecordVector[]>('v1/records.json')
const v2 = load<RecordVector[]>('v2/records.json')

function reencode(any: AnyRecord): Uint8Array {
  if (any.type === 'assertion') return encodeAssertion(any.record, VECTOR_NETWORK)
  if (any.type === 'supersession') return encodeSupersession(any.record, VECTOR_NETWORK)
  throw new Error(`no version-2 ${any.type}`)
}

function verifies(any: AnyRecord): boolean {
  if (any.type === 'assertion') return verifyAssertion(any.record, VECTOR_NETWORK)
  if (any.type === 'supersession') return verifySupersession(any.record, VECTOR_NETWORK)
  return false
}

describe('frozen record vectors (v2: evidence blob ids)', () => {
  it('signing the fixed fields with the fixed seeds gives the committed bytes', () => {
    const built = buildEvidenceRecordVectors()
    expect(built.map((r) => r.name)).toEqual(v2.map((r) => r.name))
    for (const [i, vector] of v2.entries()) {
      expect(built[i]!.hex, `${BUMP}: record ${vector.name} encodes differently`).toBe(vector.hex)
      expect(built[i]!.fields).toEqual(vector.fields)
    }
  })

  it('the committed bytes are version 2, decode to the committed fields (evidence included), re-encode and verify', () => {
    for (const vector of v2) {
      const bytes = unhex(vector.hex)
      expect(bytes[1]).toBe(EVIDENCE_RECORD_VERSION)
      const decoded = decodeRecord(bytes, VECTOR_NETWORK)
      expect(decoded.type).toBe(vector.type)
      expect(toPlain(decoded.record)).toEqual(vector.fields)
      expect((vector.fields as { evidence?: string }).evidence).toMatch(/^[0-9a-f]{64}$/)
      expect(hex(reencode(decoded))).toBe(vector.hex)
      expect(hex(recordHash(bytes))).toBe(vector.hash)
      expect(verifies(decoded)).toBe(true)
    }
  })

  it('a version-1 record decodes without an evidence field and stays version 1 when re-encoded', () => {
    for (const vector of v1.filter((r) => r.type !== 'revocation')) {
      const decoded = decodeRecord(unhex(vector.hex), VECTOR_NETWORK)
      expect('evidence' in decoded.record).toBe(false)
      const again = reencode(decoded)
      expect(again[1]).toBe(RECORD_VERSION)
      expect(hex(again)).toBe(vector.hex)
    }
  })

  it('evidence cannot be stripped: the same bytes less the id, marked version 1, fail their signature', () => {
    for (const vector of v2) {
      const bytes = unhex(vector.hex)
      const stripped = new Uint8Array(bytes.length - 32)
      stripped.set(bytes.subarray(0, bytes.length - 64 - 32))
      stripped.set(bytes.subarray(bytes.length - 64), bytes.length - 64 - 32)
      stripped[1] = RECORD_VERSION
      const decoded = decodeRecord(stripped, VECTOR_NETWORK)
      expect('evidence' in decoded.record).toBe(false)
      expect(verifies(decoded)).toBe(false)
    }
  })

  it('an evidence id of the wrong length is a MalformedRecordError; a truncated version-2 record too', () => {
    const agent = vectorSigner(2)
    const fields = {
      target: new Uint8Array(32).fill(7),
      kind: 'invalidate' as const,
      reason: 'x',
      hlc: { wallMs: 1, counter: 0 },
      evidence: new Uint8Array(31),
    }
    expect(() => release1.signSupersession(fields, agent, VECTOR_NETWORK)).not.toThrow() // the old codec ignores it
    let caught: unknown
    try {
      encodeSupersession(
        {
          ...fields,
          hlc: { ...fields.hlc, nodeId: new Uint8Array(8) },
          agent: agent.publicKey,
          signature: new Uint8Array(64),
        },
        VECTOR_NETWORK,
      )
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(MalformedRecordError)
    const bytes = unhex(v2[1]!.hex)
    expect(() => decodeSupersession(bytes.subarray(0, bytes.length - 70), VECTOR_NETWORK)).toThrow(
      MalformedRecordError,
    )
  })

  it('a revocation of version 2 does not exist: refused as unknown-kind', () => {
    const revocation = unhex(v1.find((r) => r.type === 'revocation')!.hex)
    revocation[1] = EVIDENCE_RECORD_VERSION
    expect(() => decodeRecord(revocation, VECTOR_NETWORK)).toThrow(UnknownKindError)
  })
})

describe('a node of the first release (its codec, verbatim)', () => {
  it('reads every version-1 record this release writes, with the same fields and hash', () => {
    for (const vector of v1) {
      const bytes = unhex(vector.hex)
      const old = release1.decodeRecord(bytes, VECTOR_NETWORK)
      expect(toPlain(old.record)).toEqual(toPlain(decodeRecord(bytes, VECTOR_NETWORK).record))
      expect(hex(release1.recordHash(bytes))).toBe(vector.hash)
    }
  })

  it('refuses every version-2 record with a typed unknown-kind error, never anything else', () => {
    for (const vector of v2) {
      const bytes = unhex(vector.hex)
      let caught: unknown
      try {
        release1.decodeRecord(bytes, VECTOR_NETWORK)
      } catch (err) {
        caught = err
      }
      expect((caught as { reason?: string }).reason, vector.name).toBe('unknown-kind')
      expect((caught as Error).message).toMatch(/record version 2/)
      const decodeOne = vector.type === 'assertion' ? release1.decodeAssertion : release1.decodeSupersession
      expect(() => decodeOne(bytes, VECTOR_NETWORK)).toThrow(/record version 2/)
    }
  })

  it('signs a record without evidence to the very bytes this release signs', () => {
    const agent = vectorSigner(2)
    const fields = {
      target: new Uint8Array(32).fill(9),
      kind: 'invalidate' as const,
      reason: 'r',
      hlc: { wallMs: 5, counter: 1 },
    }
    const old = release1.encodeSupersession(
      release1.signSupersession(fields, agent, VECTOR_NETWORK),
      VECTOR_NETWORK,
    )
    const now = encodeSupersession(decodeSupersession(old, VECTOR_NETWORK), VECTOR_NETWORK)
    expect(hex(now)).toBe(hex(old))
    const assertion = decodeAssertion(unhex(v1[0]!.hex), VECTOR_NETWORK)
    expect(hex(encodeAssertion(assertion, VECTOR_NETWORK))).toBe(
      hex(release1.encodeAssertion(assertion, VECTOR_NETWORK)),
    )
  })
})

describe('version-2 records in a node', () => {
  it('are applied next to version-1 records, keyed by their hash, and read back with their evidence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provsync-v2-'))
    const node = await openNodeState({
      dataDir: dir,
      networkId: VECTOR_NETWORK,
      noSync: true,
      wallClock: () => Date.UTC(2026, 0, 1),
    })
    try {
      const from = vectorSigner(9).publicKey
      const sup = [...v1, ...v2].filter((r) => r.type === 'supersession').map((r) => unhex(r.hex))
      const outcomes = await node.apply('supersessions', sup, { from })
      expect(outcomes.map((o) => o.status)).toEqual(sup.map(() => 'applied'))
      for (const [i, bytes] of sup.entries()) expect(hex(outcomes[i]!.key!)).toBe(hex(recordHash(bytes)))
      const stored = node.getRecords('supersessions', sup.map(recordHash))
      expect(stored.map((b) => hex(b!))).toEqual(sup.map(hex))
      const withEvidence = v2.find((r) => r.type === 'supersession')!
      const back = decodeSupersession(
        node.getRecords('supersessions', [unhex(withEvidence.hash)])[0]!,
        VECTOR_NETWORK,
      )
      expect(hex(back.evidence!)).toBe((withEvidence.fields as { evidence: string }).evidence)
      const assertion = unhex(v2[0]!.hex)
      const [applied] = await node.apply('assertions', [assertion], { from })
      expect(applied!.status).toBe('applied')
      expect(hex(node.getRecords('assertions', [applied!.key!])[0]!)).toBe(hex(assertion))
    } finally {
      await node.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
