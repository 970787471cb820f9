// Record version 2 (issue #15) against a byte model written here, independent of codec/wire.ts
// (issue #18): the exact layout of an assertion and a supersession that carry an evidence blob id,
// the domain their signature covers (`provsync/<type>/v2`), and every refusal with its typed error,
// reason and message. Pure: no LMDB, so `npm run mutate -- crdt` runs it for every codec mutant.
import {
  blake3,
  decodeAssertion,
  decodeRecord,
  decodeRevocation,
  decodeSupersession,
  EVIDENCE_ID_BYTES,
  EVIDENCE_RECORD_VERSION,
  encodeAssertion,
  encodeRevocation,
  encodeSupersession,
  RECORD_VERSION,
  recordHash,
  type Supersession,
  signAssertion,
  signedMessage,
  signRevocation,
  signSupersession,
  verifyAssertion,
  verifySignature,
  verifySupersession,
} from '@provsync/crdt'
import { encodeTimestamp } from '@provsync/hlc'
import { describe, expect, it } from 'vitest'
import { signedPrefix } from '../src/codec/records.js'
import { type Field, fixed, join, tagOf, text, u8, u64, utf8 } from './byte-model.js'
import { BASE_MS, hash32, hlc, NETWORK, signerN } from './helpers.js'

const A = signerN(1)
const head = (tag: number, version: number): Field[] => [
  u8('type', tag),
  u8('version', version),
  fixed('network', tagOf(NETWORK)),
]
/** The bytes a signature covers: the domain of the given version, then the encoding without its signature. */
const message = (type: string, version: number, encoded: Uint8Array) =>
  Uint8Array.from([
    ...utf8(`provsync/${type}/v${version}\0${NETWORK}\0`),
    ...encoded.subarray(0, encoded.length - 64),
  ])

function fieldAt(fields: readonly Field[], length: number): string {
  let end = 0
  for (const [name, bytes] of fields) {
    end += bytes.length
    if (length < end) return name
  }
  throw new Error('not truncated')
}

/** `{ type, reason, message }` of what `run` throws. */
function refusal(run: () => unknown) {
  try {
    run()
  } catch (error) {
    const e = error as Error & { reason?: string }
    return { type: e.constructor.name, reason: e.reason, message: e.message }
  }
  throw new Error('not refused')
}

const EVIDENCE = hash32(42)
const coordinate = { volume: 'photos', destination: 's3-eu', origin: 'laptop-7' }

/** An assertion with `evidence`, or a version-1 one for `null`. */
function assertionV2(evidence: Uint8Array | null = EVIDENCE) {
  const record = signAssertion(
    {
      coordinate,
      run: 2n ** 33n + 7n,
      method: 'sha256',
      hlc: { wallMs: BASE_MS, counter: 2 },
      ...(evidence === null ? {} : { evidence }),
    },
    A,
    NETWORK,
  )
  const fields: Field[] = [
    ...head(0x02, evidence === null ? 1 : 2),
    text('volume', 'photos'),
    text('destination', 's3-eu'),
    text('origin', 'laptop-7'),
    u64('run', 2n ** 33n + 7n),
    text('method', 'sha256'),
    fixed('asserter', A.publicKey),
    fixed('hlc', encodeTimestamp(hlc(BASE_MS, 2, A))),
    ...(evidence === null ? [] : [fixed('evidence', evidence)]),
    fixed('signature', record.signature),
  ]
  return { record, fields }
}

function supersessionV2(kind: Supersession['kind'], replacement?: Uint8Array) {
  const record = signSupersession(
    {
      kind,
      target: hash32(1),
      replacement,
      reason: 'bad copy',
      hlc: { wallMs: BASE_MS, counter: 4 },
      evidence: EVIDENCE,
    },
    A,
    NETWORK,
  )
  const fields: Field[] = [
    ...head(0x01, 2),
    u8('supersession kind', ['invalidate', 'replace', 'correct'].indexOf(kind) + 1),
    fixed('target', hash32(1)),
    ...(replacement === undefined ? [] : [fixed('replacement', replacement)]),
    text('reason', 'bad copy'),
    fixed('agent', A.publicKey),
    fixed('hlc', encodeTimestamp(hlc(BASE_MS, 4, A))),
    fixed('evidence', EVIDENCE),
    fixed('signature', record.signature),
  ]
  return { record, fields }
}

describe('version-2 layout (a model independent of the codec)', () => {
  it('the constants: version 1 without evidence, 2 with a 32-byte evidence id', () => {
    expect([RECORD_VERSION, EVIDENCE_RECORD_VERSION, EVIDENCE_ID_BYTES]).toEqual([1, 2, 32])
  })

  it('an assertion with evidence is a version-2 header, the version-1 body, the evidence id, the signature', () => {
    const { record, fields } = assertionV2()
    const encoded = encodeAssertion(record, NETWORK)
    expect(encoded).toEqual(join(fields))
    expect(decodeAssertion(encoded, NETWORK)).toStrictEqual(record)
    expect(decodeRecord(encoded, NETWORK)).toStrictEqual({ type: 'assertion', record })
    expect(signedMessage('assertion', NETWORK, encoded)).toEqual(message('assertion', 2, encoded))
    expect(verifySignature(A.publicKey, message('assertion', 2, encoded), record.signature)).toBe(true)
    expect(verifyAssertion(record, NETWORK)).toBe(true)
    expect(recordHash(encoded)).toEqual(blake3(join(fields)))
  })

  it.each([
    ['invalidate', undefined],
    ['replace', hash32(2)],
    ['correct', hash32(3)],
  ] as const)('a %s supersession with evidence: the evidence id after the HLC, domain v2', (kind, replacement) => {
    const { record, fields } = supersessionV2(kind, replacement)
    const encoded = encodeSupersession(record, NETWORK)
    expect(encoded).toEqual(join(fields))
    expect(decodeSupersession(encoded, NETWORK)).toStrictEqual(record)
    expect(decodeRecord(encoded, NETWORK)).toStrictEqual({ type: 'supersession', record })
    expect(signedMessage('supersession', NETWORK, encoded)).toEqual(message('supersession', 2, encoded))
    expect(verifySignature(A.publicKey, message('supersession', 2, encoded), record.signature)).toBe(true)
    expect(verifySupersession(record, NETWORK)).toBe(true)
  })

  it('a record without evidence stays version 1, with no evidence property at all once decoded', () => {
    const { record, fields } = assertionV2(null)
    const encoded = encodeAssertion(record, NETWORK)
    expect(encoded).toEqual(join(fields))
    const decoded = decodeAssertion(encoded, NETWORK)
    expect(Object.keys(decoded).sort()).toEqual([
      'asserter',
      'coordinate',
      'hlc',
      'method',
      'run',
      'signature',
    ])
    expect(signedMessage('assertion', NETWORK, encoded)).toEqual(message('assertion', 1, encoded))
    const sup = signSupersession(
      { kind: 'invalidate', target: hash32(1), reason: 'r', hlc: hlc(BASE_MS) },
      A,
      NETWORK,
    )
    const supDecoded = decodeSupersession(encodeSupersession(sup, NETWORK), NETWORK)
    expect(Object.keys(supDecoded).sort()).toEqual([
      'agent',
      'hlc',
      'kind',
      'reason',
      'replacement',
      'signature',
      'target',
    ])
    expect(supDecoded.replacement).toBeUndefined()
  })

  it('the signed prefix names the version of the bytes it signs, whichever was asked for first', () => {
    const v2 = encodeAssertion(assertionV2().record, NETWORK)
    const v1 = encodeAssertion(assertionV2(null).record, NETWORK)
    // both orders: a cache keyed without the version would hand the first one's prefix to the second
    for (const [first, second] of [
      [v1, v2],
      [v2, v1],
    ] as const) {
      for (const bytes of [first, second]) {
        expect(signedPrefix('assertion', `net-${first[1]}`, bytes)).toEqual(
          utf8(`provsync/assertion/v${bytes[1]}\0net-${first[1]}\0`),
        )
      }
    }
    // a version byte that is neither (a record the decoder refuses) gets the version-1 domain
    const v3 = v1.slice()
    v3[1] = 3
    expect(signedPrefix('supersession', NETWORK, v3)).toEqual(utf8(`provsync/supersession/v1\0${NETWORK}\0`))
  })

  it('the same fields signed as version 1 and version 2 give signatures that do not cross', () => {
    const withId = assertionV2().record
    const without = assertionV2(null).record
    expect(verifyAssertion({ ...withId, evidence: undefined }, NETWORK)).toBe(false)
    expect(verifyAssertion({ ...without, evidence: EVIDENCE }, NETWORK)).toBe(false)
    // a version-1 body relabelled version 2 in the signed message does not verify either
    const v1 = encodeAssertion(without, NETWORK)
    expect(verifySignature(A.publicKey, message('assertion', 2, v1), without.signature)).toBe(false)
  })
})

describe('version-2 refusals, each with its typed error, reason and message', () => {
  it('a version-2 record cut anywhere names the field it ends in, the evidence id included', () => {
    const cases = [
      assertionV2().fields,
      supersessionV2('replace', hash32(2)).fields,
      supersessionV2('invalidate').fields,
    ]
    for (const fields of cases) {
      const bytes = join(fields)
      const decode = bytes[0] === 0x02 ? decodeAssertion : decodeSupersession
      for (let length = 0; length < bytes.length; length++) {
        expect(refusal(() => decode(bytes.subarray(0, length), NETWORK))).toEqual({
          type: 'MalformedRecordError',
          reason: 'malformed',
          message: `truncated at ${fieldAt(fields, length)}`,
        })
      }
    }
  })

  it('a version-1 record relabelled version 2 reads its signature as the evidence id and ends short', () => {
    const { fields } = assertionV2(null)
    const relabelled = join(fields)
    relabelled[1] = 2
    expect(refusal(() => decodeAssertion(relabelled, NETWORK))).toEqual({
      type: 'MalformedRecordError',
      reason: 'malformed',
      message: 'truncated at signature',
    })
    // and a version-2 record relabelled version 1 has 32 bytes left over
    const v2 = join(assertionV2().fields)
    v2[1] = 1
    expect(refusal(() => decodeAssertion(v2, NETWORK))).toEqual({
      type: 'MalformedRecordError',
      reason: 'malformed',
      message: '32 trailing bytes',
    })
  })

  it('version 2 exists for supersessions and assertions only; 0 and 3 exist for none', () => {
    const assertion = join(assertionV2().fields)
    const supersession = join(supersessionV2('invalidate').fields)
    expect(decodeRecord(assertion, NETWORK).type).toBe('assertion')
    expect(decodeRecord(supersession, NETWORK).type).toBe('supersession')
    const withVersion = (bytes: Uint8Array, version: number) => {
      const out = bytes.slice()
      out[1] = version
      return out
    }
    for (const version of [0, 3, 255]) {
      expect(refusal(() => decodeAssertion(withVersion(assertion, version), NETWORK))).toEqual({
        type: 'UnknownKindError',
        reason: 'unknown-kind',
        message: `unknown assertion record version ${version}`,
      })
      expect(refusal(() => decodeSupersession(withVersion(supersession, version), NETWORK))).toEqual({
        type: 'UnknownKindError',
        reason: 'unknown-kind',
        message: `unknown supersession record version ${version}`,
      })
    }
  })

  it('an evidence id that is not 32 bytes is refused on signing and encoding, named', () => {
    for (const size of [0, 31, 33]) {
      const evidence = new Uint8Array(size)
      const expected = {
        type: 'MalformedRecordError',
        reason: 'malformed',
        message: 'evidence must be 32 bytes',
      }
      expect(
        refusal(() =>
          signAssertion({ coordinate, run: 1n, method: 'm', hlc: hlc(BASE_MS), evidence }, A, NETWORK),
        ),
      ).toEqual(expected)
      expect(
        refusal(() =>
          signSupersession(
            { kind: 'invalidate', target: hash32(1), reason: '', hlc: hlc(BASE_MS), evidence },
            A,
            NETWORK,
          ),
        ),
      ).toEqual(expected)
      expect(refusal(() => encodeAssertion({ ...assertionV2().record, evidence }, NETWORK))).toEqual(expected)
    }
    const notBytes = [...EVIDENCE] as unknown as Uint8Array
    expect(
      refusal(() =>
        encodeSupersession({ ...supersessionV2('invalidate').record, evidence: notBytes }, NETWORK),
      ),
    ).toEqual({
      type: 'MalformedRecordError',
      reason: 'malformed',
      message: 'evidence must be 32 bytes',
    })
  })

  it('a version-2 revocation is refused as an unknown kind', () => {
    const revocation = signRevocation(
      {
        action: 'revoke',
        subjectKind: 'signer',
        subject: signerN(2).publicKey,
        reason: 'x',
        hlc: hlc(BASE_MS),
      },
      A,
      NETWORK,
    )
    const bytes = encodeRevocation(revocation, NETWORK)
    expect(decodeRevocation(bytes, NETWORK)).toEqual(revocation)
    const v2 = bytes.slice()
    v2[1] = 2
    for (const decode of [decodeRevocation, (b: Uint8Array) => decodeRecord(b, NETWORK)]) {
      expect(refusal(() => decode(v2, NETWORK))).toEqual({
        type: 'UnknownKindError',
        reason: 'unknown-kind',
        message: 'unknown revocation record version 2',
      })
    }
  })
})
