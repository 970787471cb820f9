import {
  BadSignatureError,
  decodeAssertion,
  decodeRecord,
  decodeRevocation,
  decodeSupersession,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  InvalidRunError,
  MalformedRecordError,
  OversizedFieldError,
  RecordRefusedError,
  recordHash,
  signAssertion,
  signRevocation,
  signSupersession,
  textProblem,
  UnknownKindError,
  verifyAssertion,
  verifyRevocation,
  verifySupersession,
  WrongNetworkError,
} from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_REASON_BYTES } from '../src/codec/records.js'
import { assertionBytes, BASE_MS, coordinate, hash32, hlc, NETWORK, signerN } from './helpers.js'

const agent = signerN(1)

// Canonical text only (see codec/text.ts); canonical.test.ts covers the rest.
const canonical = (text: string) => textProblem(text) === undefined
const arbText = (max: number) => fc.string({ unit: 'grapheme', maxLength: max }).filter(canonical)
const arbPart = fc.string({ minLength: 1, maxLength: 40 }).filter(canonical)
const arbHash = fc.uint8Array({ minLength: 32, maxLength: 32 })
const arbRun = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
const arbHlc = fc.record({
  wallMs: fc.integer({ min: 0, max: 2 ** 47 }),
  counter: fc.integer({ min: 0, max: 65535 }),
})

describe('record codecs', () => {
  it('round-trip assertions and verify them (property)', () => {
    fc.assert(
      fc.property(
        arbPart,
        arbPart,
        arbPart,
        arbRun,
        arbHlc,
        arbText(20),
        (volume, destination, origin, run, time, method) => {
          const record = signAssertion(
            { coordinate: { volume, destination, origin }, run, method, hlc: hlc(time.wallMs, time.counter) },
            agent,
            NETWORK,
          )
          const bytes = encodeAssertion(record, NETWORK)
          const decoded = decodeAssertion(bytes, NETWORK)
          expect(decoded).toEqual(record)
          expect(verifyAssertion(decoded, NETWORK)).toBe(true)
          expect(encodeAssertion(decoded, NETWORK)).toEqual(bytes)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('round-trip supersessions of every kind (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('invalidate', 'replace', 'correct' as const),
        arbHash,
        arbHash,
        arbText(50),
        arbHlc,
        (kind, target, replacement, reason, time) => {
          const record = signSupersession(
            {
              kind,
              target,
              reason,
              hlc: hlc(time.wallMs, time.counter),
              ...(kind === 'invalidate' ? {} : { replacement }),
            },
            agent,
            NETWORK,
          )
          const decoded = decodeRecord(encodeSupersession(record, NETWORK), NETWORK)
          expect(decoded.type).toBe('supersession')
          expect(decoded.record).toEqual(record)
          expect(verifySupersession(record, NETWORK)).toBe(true)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('round-trip revocations and reinstatements', () => {
    for (const action of ['revoke', 'reinstate'] as const) {
      const record = signRevocation(
        { action, subjectKind: 'signer', subject: signerN(2).publicKey, reason: 'leaked', hlc: hlc(BASE_MS) },
        agent,
        NETWORK,
      )
      const bytes = encodeRevocation(record, NETWORK)
      expect(decodeRevocation(bytes, NETWORK)).toEqual(record)
      expect(verifyRevocation(record, NETWORK)).toBe(true)
    }
  })

  it('derives the HLC node id from the signer and refuses a mismatch', () => {
    const bytes = assertionBytes(agent, coordinate(1), 5n)
    const decoded = decodeAssertion(bytes, NETWORK)
    expect(decoded.hlc.nodeId).toEqual(hlc(0, 0, agent).nodeId)
    const forged = { ...decoded, hlc: hlc(BASE_MS, 0, signerN(9)) }
    expect(() => encodeAssertion(forged, NETWORK)).toThrow(MalformedRecordError)
  })

  it('refuses a record of another network before verifying it', () => {
    const bytes = assertionBytes(agent, coordinate(1), 5n, BASE_MS, 0, 'other-net')
    expect(() => decodeAssertion(bytes, NETWORK)).toThrow(WrongNetworkError)
  })

  it('a signature never verifies under another network id or record type', () => {
    const record = decodeAssertion(assertionBytes(agent, coordinate(1), 5n), NETWORK)
    expect(verifyAssertion(record, 'other-net')).toBe(false)
    expect(verifyAssertion({ ...record, run: 6n }, NETWORK)).toBe(false)
  })

  it('refuses every single-byte corruption with a typed error or a failed verification (property)', () => {
    const bytes = assertionBytes(agent, coordinate(1), 5n)
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const corrupt = bytes.slice()
        corrupt[at]! ^= flip
        let verified = false
        try {
          verified = verifyAssertion(decodeAssertion(corrupt, NETWORK), NETWORK)
        } catch (error) {
          expect(error).toBeInstanceOf(RecordRefusedError)
          return
        }
        expect(verified).toBe(false)
      }),
      { numRuns: 200 },
    )
  })

  it('refuses truncated records, trailing bytes and random bytes with typed errors (property)', () => {
    const bytes = assertionBytes(agent, coordinate(1), 5n)
    expect(() => decodeAssertion(bytes.subarray(0, bytes.length - 1), NETWORK)).toThrow(MalformedRecordError)
    expect(() => decodeAssertion(new Uint8Array([...bytes, 0]), NETWORK)).toThrow(MalformedRecordError)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (random) => {
        expect(() => decodeRecord(random, NETWORK)).toThrow(RecordRefusedError)
      }),
    )
  })

  it('bounds every variable field', () => {
    const long = 'x'.repeat(MAX_REASON_BYTES + 1)
    expect(() =>
      signSupersession(
        { kind: 'invalidate', target: hash32(1), reason: long, hlc: hlc(BASE_MS) },
        agent,
        NETWORK,
      ),
    ).toThrow(OversizedFieldError)
    expect(() =>
      signAssertion(
        {
          coordinate: { volume: 'v'.repeat(257), destination: 'd', origin: 'o' },
          run: 1n,
          method: 'm',
          hlc: hlc(BASE_MS),
        },
        agent,
        NETWORK,
      ),
    ).toThrow(OversizedFieldError)
    expect(() =>
      signAssertion(
        { coordinate: coordinate(1), run: 1n, method: 'm'.repeat(65), hlc: hlc(BASE_MS) },
        agent,
        NETWORK,
      ),
    ).toThrow(OversizedFieldError)
    expect(() =>
      signAssertion(
        {
          coordinate: { volume: '', destination: 'd', origin: 'o' },
          run: 1n,
          method: 'm',
          hlc: hlc(BASE_MS),
        },
        agent,
        NETWORK,
      ),
    ).toThrow(MalformedRecordError)
    expect(() => decodeRecord(new Uint8Array(5000), NETWORK)).toThrow(OversizedFieldError)
  })

  it('refuses negative, 2^64+ and non-bigint run ids', () => {
    for (const run of [-1n, 2n ** 64n, 5, '5', undefined] as unknown[]) {
      expect(() =>
        signAssertion(
          { coordinate: coordinate(1), run: run as bigint, method: 'm', hlc: hlc(BASE_MS) },
          agent,
          NETWORK,
        ),
      ).toThrow(InvalidRunError)
    }
  })

  it('refuses unknown record types, versions and kinds', () => {
    const bytes = assertionBytes(agent, coordinate(1), 5n)
    const badTag = bytes.slice()
    badTag[0] = 0x7f
    expect(() => decodeRecord(badTag, NETWORK)).toThrow(UnknownKindError)
    const badVersion = bytes.slice()
    badVersion[1] = 9
    expect(() => decodeRecord(badVersion, NETWORK)).toThrow(UnknownKindError)
    const sup = encodeSupersession(
      signSupersession(
        { kind: 'invalidate', target: hash32(1), reason: '', hlc: hlc(BASE_MS) },
        agent,
        NETWORK,
      ),
      NETWORK,
    )
    const badKind = sup.slice()
    badKind[10] = 9
    expect(() => decodeSupersession(badKind, NETWORK), NETWORK).toThrow(UnknownKindError)
    expect(() =>
      signSupersession(
        { kind: 'erase' as 'invalidate', target: hash32(1), reason: '', hlc: hlc(BASE_MS) },
        agent,
        NETWORK,
      ),
    ).toThrow(UnknownKindError)
  })

  it('requires a replacement exactly for replace and correct', () => {
    expect(() =>
      signSupersession({ kind: 'replace', target: hash32(1), reason: '', hlc: hlc(BASE_MS) }, agent, NETWORK),
    ).toThrow(MalformedRecordError)
    expect(() =>
      signSupersession(
        { kind: 'invalidate', target: hash32(1), replacement: hash32(2), reason: '', hlc: hlc(BASE_MS) },
        agent,
        NETWORK,
      ),
    ).toThrow(MalformedRecordError)
  })

  it('content-addresses records by their signed encoding', () => {
    const a = assertionBytes(agent, coordinate(1), 5n)
    const b = assertionBytes(agent, coordinate(1), 6n)
    expect(recordHash(a)).toEqual(recordHash(a.slice()))
    expect(recordHash(a)).not.toEqual(recordHash(b))
    expect(new BadSignatureError().reason).toBe('bad-signature')
  })
})
