/**
 * Record version 2 (issue #15): supersessions and assertions that carry an evidence blob id, next
 * to the first release's version 1. Frozen bytes are in test/vectors (v2/records.json); these are
 * the laws and the node's side (own assertions with evidence, the onApplied hook).
 */
import {
  type AppliedBatch,
  decodeAssertion,
  decodeSupersession,
  EVIDENCE_RECORD_VERSION,
  encodeAssertion,
  encodeSupersession,
  InvalidArgumentError,
  RECORD_VERSION,
  recordHash,
  signAssertion,
  signSupersession,
  verifyAssertion,
  verifySupersession,
} from '@provsync/crdt'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { BASE_MS, coordinate, hash32, hlc, NETWORK, signerN, supersessionBytes, TempDirs } from './helpers.js'

const agent = signerN(1)
const arbId = fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined })
const arbHlc = fc.record({
  wallMs: fc.integer({ min: 0, max: 2 ** 47 }),
  counter: fc.integer({ min: 0, max: 65535 }),
})

describe('evidence blob ids in records', () => {
  it('round-trip with or without evidence; version 2 exactly when an id is carried, 32 bytes longer (property)', () => {
    fc.assert(
      fc.property(arbId, arbHlc, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (evidence, time, run) => {
        const fields = { coordinate: coordinate(1), run, method: 'm', hlc: hlc(time.wallMs, time.counter) }
        const withId = signAssertion({ ...fields, ...(evidence ? { evidence } : {}) }, agent, NETWORK)
        const bytes = encodeAssertion(withId, NETWORK)
        expect(bytes[1]).toBe(evidence === undefined ? RECORD_VERSION : EVIDENCE_RECORD_VERSION)
        const decoded = decodeAssertion(bytes, NETWORK)
        expect(decoded).toEqual(withId)
        expect(verifyAssertion(decoded, NETWORK)).toBe(true)
        const plain = encodeAssertion(signAssertion(fields, agent, NETWORK), NETWORK)
        expect(bytes.length - plain.length).toBe(evidence === undefined ? 0 : 32)
      }),
      { numRuns: 60 },
    )
  })

  it('a supersession signed with one evidence id does not verify with another', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 31 }),
        (id, at) => {
          const record = signSupersession(
            { target: hash32(1), kind: 'invalidate', reason: 'r', hlc: hlc(BASE_MS), evidence: id },
            agent,
            NETWORK,
          )
          const other = id.slice()
          other[at] = other[at]! ^ 1
          expect(verifySupersession(record, NETWORK)).toBe(true)
          expect(verifySupersession({ ...record, evidence: other }, NETWORK)).toBe(false)
          expect(verifySupersession({ ...record, evidence: undefined }, NETWORK)).toBe(false)
        },
      ),
      { numRuns: 30 },
    )
  })
})

describe('a node with evidence-carrying records', () => {
  const dirs = new TempDirs()
  afterEach(() => dirs.cleanup())

  it('advanceVerified with evidence signs a version-2 assertion and reports it to onApplied', async () => {
    const node = await dirs.open()
    const batches: AppliedBatch[] = []
    node.onApplied((b) => batches.push(b))
    const id = hash32(77)
    const result = node.advanceVerified(coordinate(3), 5n, { method: 'sha256', evidence: id })
    const bytes = node.getRecords('assertions', [result.key])[0]!
    expect(bytes[1]).toBe(EVIDENCE_RECORD_VERSION)
    expect(decodeAssertion(bytes, NETWORK).evidence).toEqual(id)
    expect(batches).toHaveLength(1)
    expect(batches[0]!.store).toBe('assertions')
    expect(batches[0]!.from).toEqual(node.publicKey)
    expect(batches[0]!.records.map((r) => r.bytes)).toEqual([bytes])
    // a run already held asserts nothing new, and says nothing
    node.advanceVerified(coordinate(3), 5n, { evidence: id })
    expect(batches).toHaveLength(1)
    expect(() => node.advanceVerified(coordinate(3), 6n, { evidence: new Uint8Array(31) })).toThrow(
      InvalidArgumentError,
    )
  })

  it('onApplied lists only the records a commit stored, with the peer they came from', async () => {
    const node = await dirs.open()
    const batches: AppliedBatch[] = []
    const stop = node.onApplied((b) => batches.push(b))
    const peer = signerN(9).publicKey
    const withId = encodeSupersession(
      signSupersession(
        { target: hash32(2), kind: 'invalidate', reason: 'r', hlc: hlc(BASE_MS), evidence: hash32(5) },
        signerN(2),
        NETWORK,
      ),
      NETWORK,
    )
    const plain = supersessionBytes(signerN(2), hash32(3))
    const broken = withId.slice()
    broken[broken.length - 1] = broken[broken.length - 1]! ^ 1
    await node.apply('supersessions', [withId, plain, broken], { from: peer })
    await node.apply('supersessions', [withId], { from: peer }) // duplicate: nothing stored
    expect(batches).toHaveLength(1)
    expect(batches[0]!.from).toEqual(peer)
    expect(batches[0]!.records.map((r) => r.key)).toEqual([recordHash(withId), recordHash(plain)])
    expect(decodeSupersession(batches[0]!.records[0]!.bytes, NETWORK).evidence).toEqual(hash32(5))
    stop()
    await node.apply('supersessions', [supersessionBytes(signerN(2), hash32(4))], { from: peer })
    expect(batches).toHaveLength(1)
  })
})
