// The record codecs against a byte model written here, independent of codec/wire.ts (issue #18):
// the exact layout of each record type, what each signature covers, the refusal of every
// malformed input with its typed error and message, and the canonical-text boundaries.
import {
  blake3,
  decodeAssertion,
  decodeCoordinate,
  decodeInvalidation,
  decodeRecord,
  decodeRevocation,
  decodeSupersession,
  encodeAssertion,
  encodeCoordinate,
  encodeInvalidation,
  encodeRevocation,
  encodeSupersession,
  formatCoordinate,
  InvalidRunError,
  invalidationHash,
  MalformedRecordError,
  NonCanonicalTextError,
  networkTag,
  nodeIdFor,
  OversizedFieldError,
  recordHash,
  type Supersession,
  signAssertion,
  signedMessage,
  signInvalidation,
  signRevocation,
  signSupersession,
  textProblem,
  verifySignature,
  WrongNetworkError,
} from '@provsync/crdt'
import { encodeTimestamp } from '@provsync/hlc'
import { describe, expect, it } from 'vitest'
import { verifyInvalidationBytes } from '../src/codec/invalidation.js'
import { coordinateBytesOf, MAX_RUN, signerOf } from '../src/codec/records.js'
import { decodeCanonicalText, encodeCanonicalText } from '../src/codec/text.js'
import { type Field, fixed, join, tagOf, text, u8, u64, utf8 } from './byte-model.js'
import { BASE_MS, hash32, hlc, NETWORK, signerN } from './helpers.js'

const A = signerN(1)
const head = (tag: number): Field[] => [u8('type', tag), u8('version', 1), fixed('network', tagOf(NETWORK))]

/** The field a decoder names when the bytes end `length` bytes in: the first one not complete. */
function fieldAt(fields: readonly Field[], length: number): string {
  let end = 0
  for (const [name, bytes] of fields) {
    end += bytes.length
    if (length < end) return name
  }
  throw new Error('not truncated')
}

function assertionModel() {
  const coordinate = { volume: 'photos', destination: 's3-eu', origin: 'laptop-7' }
  const record = signAssertion(
    { coordinate, run: 2n ** 40n + 5n, method: 'checksum', hlc: { wallMs: BASE_MS, counter: 3 } },
    A,
    NETWORK,
  )
  const fields: Field[] = [
    ...head(0x02),
    text('volume', 'photos'),
    text('destination', 's3-eu'),
    text('origin', 'laptop-7'),
    u64('run', 2n ** 40n + 5n),
    text('method', 'checksum'),
    fixed('asserter', A.publicKey),
    fixed('hlc', encodeTimestamp(hlc(BASE_MS, 3, A))),
    fixed('signature', record.signature),
  ]
  return { record, fields }
}

function supersessionModel(kind: Supersession['kind'], replacement?: Uint8Array) {
  const record = signSupersession(
    { kind, target: hash32(1), replacement, reason: 'wrong file', hlc: { wallMs: BASE_MS, counter: 0 } },
    A,
    NETWORK,
  )
  const fields: Field[] = [
    ...head(0x01),
    u8('supersession kind', ['invalidate', 'replace', 'correct'].indexOf(kind) + 1),
    fixed('target', hash32(1)),
    ...(replacement === undefined ? [] : [fixed('replacement', replacement)]),
    text('reason', 'wrong file'),
    fixed('agent', A.publicKey),
    fixed('hlc', encodeTimestamp(hlc(BASE_MS, 0, A))),
    fixed('signature', record.signature),
  ]
  return { record, fields }
}

function revocationModel(action: 'revoke' | 'reinstate', subjectKind: 'peer' | 'signer') {
  const subject = signerN(2).publicKey
  const record = signRevocation(
    { action, subjectKind, subject, reason: 'leaked', hlc: { wallMs: BASE_MS, counter: 1 } },
    A,
    NETWORK,
  )
  const fields: Field[] = [
    ...head(0x03),
    u8('revocation action', action === 'revoke' ? 1 : 2),
    u8('subject kind', subjectKind === 'peer' ? 1 : 2),
    fixed('subject', subject),
    text('reason', 'leaked'),
    fixed('operator', A.publicKey),
    fixed('hlc', encodeTimestamp(hlc(BASE_MS, 1, A))),
    fixed('signature', record.signature),
  ]
  return { record, fields }
}

/** The bytes a signature covers: the domain, then the encoding without its signature. */
const message = (type: string, network: string, encoded: Uint8Array) =>
  Uint8Array.from([...utf8(`provsync/${type}/v1\0${network}\0`), ...encoded.subarray(0, encoded.length - 64)])

describe('record layout (a model independent of the codec)', () => {
  it('an assertion is header, coordinate, run, method, asserter, HLC, signature', () => {
    const { record, fields } = assertionModel()
    const encoded = encodeAssertion(record, NETWORK)
    expect(encoded).toEqual(join(fields))
    expect(decodeAssertion(join(fields), NETWORK)).toEqual(record)
    expect(signedMessage('assertion', NETWORK, encoded)).toEqual(message('assertion', NETWORK, encoded))
    expect(verifySignature(A.publicKey, message('assertion', NETWORK, encoded), record.signature)).toBe(true)
    expect(recordHash(encoded)).toEqual(blake3(join(fields)))
    expect(coordinateBytesOf(encoded)).toEqual(join(fields.slice(3, 6)))
  })

  it.each([
    ['invalidate', undefined],
    ['replace', hash32(2)],
    ['correct', hash32(3)],
  ] as const)('a %s supersession: header, kind, target, [replacement], reason, agent, HLC', (kind, replacement) => {
    const { record, fields } = supersessionModel(kind, replacement)
    const encoded = encodeSupersession(record, NETWORK)
    expect(encoded).toEqual(join(fields))
    expect(decodeSupersession(encoded, NETWORK)).toEqual(record)
    expect(decodeRecord(encoded, NETWORK)).toEqual({ type: 'supersession', record })
    expect(signerOf({ type: 'supersession', record })).toEqual(A.publicKey)
    expect(verifySignature(A.publicKey, message('supersession', NETWORK, encoded), record.signature)).toBe(
      true,
    )
  })

  it.each([
    ['revoke', 'peer'],
    ['revoke', 'signer'],
    ['reinstate', 'peer'],
    ['reinstate', 'signer'],
  ] as const)('a %s of a %s: header, action, subject kind, subject, reason, operator, HLC', (action, kind) => {
    const { record, fields } = revocationModel(action, kind)
    const encoded = encodeRevocation(record, NETWORK)
    expect(encoded).toEqual(join(fields))
    expect(decodeRevocation(encoded, NETWORK)).toEqual(record)
    expect(decodeRecord(encoded, NETWORK)).toEqual({ type: 'revocation', record })
    expect(signerOf({ type: 'revocation', record })).toEqual(A.publicKey)
    expect(verifySignature(A.publicKey, message('revocation', NETWORK, encoded), record.signature)).toBe(true)
  })

  it('decodeRecord dispatches an assertion by its tag, and its signer is the asserter', () => {
    const { record, fields } = assertionModel()
    expect(decodeRecord(join(fields), NETWORK)).toEqual({ type: 'assertion', record })
    expect(signerOf({ type: 'assertion', record })).toEqual(A.publicKey)
  })

  it('a field over 255 bytes has a two-byte length, and a record over the first buffer grows it', () => {
    const coordinate = { volume: 'v'.repeat(256), destination: 'd'.repeat(255), origin: 'é'.repeat(100) }
    const record = signAssertion(
      { coordinate, run: 0n, method: 'm', hlc: { wallMs: BASE_MS, counter: 0 } },
      A,
      NETWORK,
    )
    const encoded = encodeAssertion(record, NETWORK)
    const coord = [text('volume', coordinate.volume), text('destination', coordinate.destination)]
    expect(encoded.subarray(10, 10 + 258 + 257)).toEqual(join(coord))
    expect(coordinateBytesOf(encoded)).toEqual(encodeCoordinate(coordinate))
    expect(decodeCoordinate(coordinateBytesOf(encoded))).toEqual(coordinate)
    expect(decodeAssertion(encoded, NETWORK)).toEqual(record)
    expect(formatCoordinate({ volume: 'a', destination: 'b', origin: 'c' })).toBe('a/b/c')
  })

  it('runs 0 and 2^64 - 1 are the bounds of a run', () => {
    for (const run of [0n, MAX_RUN]) {
      const record = signAssertion(
        { coordinate: { volume: 'v', destination: 'd', origin: 'o' }, run, method: '', hlc: hlc(BASE_MS) },
        A,
        NETWORK,
      )
      expect(decodeAssertion(encodeAssertion(record, NETWORK), NETWORK).run).toBe(run)
    }
    expect(MAX_RUN).toBe(2n ** 64n - 1n)
    for (const run of [-1n, 2n ** 64n]) {
      expect(() =>
        signAssertion(
          { coordinate: { volume: 'v', destination: 'd', origin: 'o' }, run, method: '', hlc: hlc(0) },
          A,
          NETWORK,
        ),
      ).toThrow(InvalidRunError)
    }
  })

  it('the network tag is the first 8 bytes of BLAKE3("provsync/network" ‖ id), the node id of BLAKE3(key)', () => {
    for (const network of ['test-net', 'other', '']) expect(networkTag(network)).toEqual(tagOf(network))
    expect(nodeIdFor(A.publicKey)).toEqual(blake3(A.publicKey).slice(0, 8))
  })
})

describe('refusals, each with its typed error and message', () => {
  const refusal = (run: () => unknown) => {
    try {
      run()
    } catch (error) {
      return { type: (error as Error).constructor.name, message: (error as Error).message }
    }
    throw new Error('not refused')
  }

  it('a record cut anywhere names the field it ends in', () => {
    const { fields } = assertionModel()
    const bytes = join(fields)
    for (let length = 0; length < bytes.length; length++) {
      expect(refusal(() => decodeAssertion(bytes.subarray(0, length), NETWORK))).toEqual({
        type: 'MalformedRecordError',
        message: `truncated at ${fieldAt(fields, length)}`,
      })
    }
    const sup = supersessionModel('replace', hash32(2)).fields
    const supBytes = join(sup)
    for (let length = 10; length < supBytes.length; length += 7) {
      expect(refusal(() => decodeSupersession(supBytes.subarray(0, length), NETWORK)).message).toBe(
        `truncated at ${fieldAt(sup, length)}`,
      )
    }
    const rev = revocationModel('revoke', 'signer').fields
    const revBytes = join(rev)
    for (let length = 10; length < revBytes.length; length += 5) {
      expect(refusal(() => decodeRevocation(revBytes.subarray(0, length), NETWORK)).message).toBe(
        `truncated at ${fieldAt(rev, length)}`,
      )
    }
  })

  it('trailing bytes are counted', () => {
    const bytes = join(assertionModel().fields)
    expect(refusal(() => decodeAssertion(Uint8Array.from([...bytes, 0]), NETWORK))).toEqual({
      type: 'MalformedRecordError',
      message: '1 trailing bytes',
    })
    expect(
      refusal(() =>
        decodeCoordinate(
          Uint8Array.from([...encodeCoordinate({ volume: 'a', destination: 'b', origin: 'c' }), 1, 2, 3]),
        ),
      ).message,
    ).toBe('3 trailing bytes')
  })

  it('a wrong type tag, version or kind byte is an unknown kind, named', () => {
    const sup = join(supersessionModel('invalidate').fields)
    const patched = (bytes: Uint8Array, at: number, value: number) => {
      const out = bytes.slice()
      out[at] = value
      return out
    }
    const assertion = join(assertionModel().fields)
    const rev = join(revocationModel('revoke', 'peer').fields)
    expect(refusal(() => decodeSupersession(assertion, NETWORK))).toEqual({
      type: 'UnknownKindError',
      message: 'expected a supersession record, got type tag 2',
    })
    // version 2 is the evidence-carrying assertion (issue #15): the first unknown version is 3
    expect(refusal(() => decodeAssertion(patched(assertion, 1, 3), NETWORK)).message).toBe(
      'unknown assertion record version 3',
    )
    expect(refusal(() => decodeRevocation(patched(rev, 1, 2), NETWORK)).message).toBe(
      'unknown revocation record version 2',
    )
    expect(refusal(() => decodeSupersession(patched(sup, 10, 4), NETWORK)).message).toBe(
      'unknown supersession kind 4',
    )
    expect(refusal(() => decodeSupersession(patched(sup, 10, 0), NETWORK)).message).toBe(
      'unknown supersession kind 0',
    )
    expect(refusal(() => decodeRevocation(patched(rev, 10, 3), NETWORK)).message).toBe(
      'unknown revocation action 3',
    )
    expect(refusal(() => decodeRevocation(patched(rev, 11, 0), NETWORK)).message).toBe(
      'unknown subject kind 0',
    )
    expect(refusal(() => decodeRecord(patched(rev, 0, 0x7f), NETWORK))).toEqual({
      type: 'UnknownKindError',
      message: 'unknown record type tag 127',
    })
    expect(refusal(() => decodeRecord(new Uint8Array(0), NETWORK)).message).toBe(
      'unknown record type tag undefined',
    )
    // Tag 4 is an invalidation: its own store, never decoded as one of the three.
    expect(refusal(() => decodeRecord(patched(rev, 0, 0x04), NETWORK)).message).toBe(
      'unknown record type tag 4',
    )
  })

  it('a kind that does not exist is refused on encoding, quoted', () => {
    const hlcNow = { wallMs: BASE_MS, counter: 0 }
    expect(
      refusal(() =>
        signSupersession(
          { kind: 'erase' as 'invalidate', target: hash32(1), reason: '', hlc: hlcNow },
          A,
          NETWORK,
        ),
      ),
    ).toEqual({ type: 'UnknownKindError', message: 'unknown supersession kind "erase"' })
    expect(
      refusal(() =>
        signRevocation(
          { action: 'ban' as 'revoke', subjectKind: 'peer', subject: A.publicKey, reason: '', hlc: hlcNow },
          A,
          NETWORK,
        ),
      ).message,
    ).toBe('unknown revocation action "ban"')
    expect(
      refusal(() =>
        signRevocation(
          { action: 'revoke', subjectKind: 'node' as 'peer', subject: A.publicKey, reason: '', hlc: hlcNow },
          A,
          NETWORK,
        ),
      ).message,
    ).toBe('unknown subject kind "node"')
  })

  it('replace and correct need a replacement, invalidate has none', () => {
    const sign = (kind: Supersession['kind'], replacement?: Uint8Array) => () =>
      signSupersession({ kind, target: hash32(1), replacement, reason: '', hlc: hlc(BASE_MS) }, A, NETWORK)
    expect(refusal(sign('replace')).message).toBe('a replace supersession needs replacement')
    expect(refusal(sign('correct')).message).toBe('a correct supersession needs replacement')
    expect(refusal(sign('invalidate', hash32(2)))).toEqual({
      type: 'MalformedRecordError',
      message: 'a invalidate supersession has no replacement',
    })
  })

  it('fixed-width fields must have their width, text must be a string, coordinate parts non-empty', () => {
    const hlcNow = { wallMs: BASE_MS, counter: 0 }
    expect(
      refusal(() =>
        signSupersession(
          { kind: 'invalidate', target: hash32(1).subarray(1), reason: '', hlc: hlcNow },
          A,
          NETWORK,
        ),
      ),
    ).toEqual({ type: 'MalformedRecordError', message: 'target must be 32 bytes' })
    expect(
      refusal(() =>
        signSupersession(
          { kind: 'invalidate', target: [...hash32(1)] as unknown as Uint8Array, reason: '', hlc: hlcNow },
          A,
          NETWORK,
        ),
      ).message,
    ).toBe('target must be 32 bytes')
    const { record } = assertionModel()
    expect(
      refusal(() => encodeAssertion({ ...record, signature: new Uint8Array(63) }, NETWORK)).message,
    ).toBe('signature must be 64 bytes')
    expect(
      refusal(() => encodeAssertion({ ...record, method: 5 as unknown as string }, NETWORK)).message,
    ).toBe('method must be a string')
    expect(refusal(() => encodeCoordinate({ volume: 'v', destination: '', origin: 'o' }))).toEqual({
      type: 'MalformedRecordError',
      message: 'destination must not be empty',
    })
    expect(refusal(() => encodeCoordinate(null as never)).message).toBe('coordinate must be an object')
    expect(refusal(() => encodeCoordinate('v/d/o' as never)).message).toBe('coordinate must be an object')
    // An empty part on the wire is refused as well.
    const emptyOrigin = Uint8Array.from([0, 1, 0x76, 0, 1, 0x64, 0, 0])
    expect(refusal(() => decodeCoordinate(emptyOrigin)).message).toBe('origin must not be empty')
  })

  it('each fixed-width field of each record names itself when it has the wrong width', () => {
    const { record } = assertionModel()
    const short = new Uint8Array(31)
    const sup = supersessionModel('replace', hash32(2)).record
    const rev = revocationModel('revoke', 'peer').record
    const cases: Array<[string, () => unknown]> = [
      ['asserter', () => encodeAssertion({ ...record, asserter: short }, NETWORK)],
      ['replacement', () => encodeSupersession({ ...sup, replacement: short }, NETWORK)],
      ['agent', () => encodeSupersession({ ...sup, agent: short }, NETWORK)],
      ['subject', () => encodeRevocation({ ...rev, subject: short }, NETWORK)],
      ['operator', () => encodeRevocation({ ...rev, operator: short }, NETWORK)],
    ]
    for (const [field, encode] of cases) {
      expect(refusal(encode)).toEqual({ type: 'MalformedRecordError', message: `${field} must be 32 bytes` })
    }
    expect(refusal(() => encodeRevocation({ ...rev, reason: 7 as unknown as string }, NETWORK)).message).toBe(
      'reason must be a string',
    )
    expect(refusal(() => encodeSupersession({ ...sup, reason: 'r'.repeat(1025) }, NETWORK)).message).toBe(
      'reason is 1025 bytes, limit 1024',
    )
  })

  it('a run that is not a bigint is an invalid run, whatever its value', () => {
    for (const run of [5, '5', undefined, null, 1.5]) {
      expect(() =>
        signAssertion(
          {
            coordinate: { volume: 'v', destination: 'd', origin: 'o' },
            run: run as never,
            method: '',
            hlc: hlc(0),
          },
          A,
          NETWORK,
        ),
      ).toThrow(InvalidRunError)
    }
  })

  it('every coordinate part is bounded and non-empty, by name, on both sides', () => {
    const parts = ['volume', 'destination', 'origin'] as const
    const base = { volume: 'v', destination: 'd', origin: 'o' }
    for (const part of parts) {
      expect(refusal(() => encodeCoordinate({ ...base, [part]: '' }))).toEqual({
        type: 'MalformedRecordError',
        message: `${part} must not be empty`,
      })
      expect(refusal(() => encodeCoordinate({ ...base, [part]: 'x'.repeat(257) }))).toEqual({
        type: 'OversizedFieldError',
        message: `${part} is 257 bytes, limit 256`,
      })
      const wire = parts.flatMap((p) => (p === part ? [0, 0] : [0, 1, 0x61]))
      expect(refusal(() => decodeCoordinate(Uint8Array.from(wire))).message).toBe(`${part} must not be empty`)
      const long = parts.flatMap((p) => (p === part ? [1, 1, ...new Array(257).fill(0x61)] : [0, 1, 0x61]))
      expect(refusal(() => decodeCoordinate(Uint8Array.from(long))).message).toBe(
        `${part} is 257 bytes, limit 256`,
      )
    }
  })

  it('an oversized field names the field, its size and its bound, on both sides', () => {
    const { record, fields } = assertionModel()
    const caught = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        expect(error).toBeInstanceOf(OversizedFieldError)
        const { field, size, limit } = error as OversizedFieldError
        return { field, size, limit, message: (error as Error).message }
      }
      throw new Error('not refused')
    }
    expect(caught(() => encodeAssertion({ ...record, method: 'm'.repeat(65) }, NETWORK))).toEqual({
      field: 'method',
      size: 65,
      limit: 64,
      message: 'method is 65 bytes, limit 64',
    })
    const method64 = encodeAssertion({ ...record, method: 'm'.repeat(64) }, NETWORK)
    expect(decodeAssertion(method64, NETWORK).method).toBe('m'.repeat(64))
    // A length prefix over the bound, on the wire.
    const wire = fields.map(
      ([name, bytes]): Field =>
        name === 'method' ? [name, Uint8Array.from([0, 65, ...utf8('m'.repeat(65))])] : [name, bytes],
    )
    expect(caught(() => decodeAssertion(join(wire), NETWORK))).toMatchObject({
      field: 'method',
      size: 65,
      limit: 64,
    })
    expect(
      caught(() => encodeCoordinate({ volume: 'v'.repeat(257), destination: 'd', origin: 'o' })),
    ).toMatchObject({
      field: 'volume',
      size: 257,
      limit: 256,
    })
    expect(caught(() => decodeRecord(new Uint8Array(4097), NETWORK))).toMatchObject({
      field: 'record',
      size: 4097,
      limit: 4096,
    })
    expect(caught(() => decodeInvalidation(new Uint8Array(4097), NETWORK))).toMatchObject({
      field: 'record',
      size: 4097,
    })
    // 4096 bytes is within the bound: it gets as far as the type tag.
    expect(refusal(() => decodeRecord(new Uint8Array(4096), NETWORK)).message).toBe(
      'unknown record type tag 0',
    )
    // A reason of 1024 bytes is allowed, 1025 is not.
    const reason = (n: number) => () =>
      signSupersession(
        { kind: 'invalidate', target: hash32(1), reason: 'r'.repeat(n), hlc: hlc(BASE_MS) },
        A,
        NETWORK,
      )
    expect(decodeSupersession(encodeSupersession(reason(1024)(), NETWORK), NETWORK).reason).toHaveLength(1024)
    expect(caught(reason(1025))).toMatchObject({ field: 'reason', size: 1025, limit: 1024 })
  })

  it('a non-byte record, another network or an HLC not of the signer is refused', () => {
    const bytes = join(assertionModel().fields)
    for (const decode of [
      decodeAssertion,
      decodeSupersession,
      decodeRevocation,
      decodeRecord,
      decodeInvalidation,
    ]) {
      expect(refusal(() => decode('abc' as unknown as Uint8Array, NETWORK))).toEqual({
        type: 'MalformedRecordError',
        message: 'record must be a Uint8Array',
      })
    }
    expect(() => decodeAssertion(bytes, 'other-net')).toThrow(WrongNetworkError)
    expect(() => decodeSupersession(join(supersessionModel('invalidate').fields), 'other-net')).toThrow(
      WrongNetworkError,
    )
    expect(() => decodeRevocation(join(revocationModel('revoke', 'peer').fields), 'other-net')).toThrow(
      WrongNetworkError,
    )
    const { record, fields } = assertionModel()
    const foreignHlc = fields.map(
      ([name, b]): Field =>
        name === 'hlc' ? [name, encodeTimestamp(hlc(BASE_MS, 3, signerN(2)))] : [name, b],
    )
    expect(refusal(() => decodeAssertion(join(foreignHlc), NETWORK))).toEqual({
      type: 'MalformedRecordError',
      message: 'hlc node id is not derived from the signer key',
    })
    expect(
      refusal(() => encodeAssertion({ ...record, hlc: hlc(BASE_MS, 3, signerN(2)) }, NETWORK)).message,
    ).toBe('hlc node id is not derived from the signer key')
    const badHlc = refusal(() =>
      encodeAssertion({ ...record, hlc: { ...record.hlc, counter: 70_000 } }, NETWORK),
    )
    expect(badHlc.type).toBe('MalformedRecordError')
    expect(badHlc.message).toMatch(/^hlc: .*counter/)
  })
})

describe('invalidation records', () => {
  const hlcNow = { wallMs: BASE_MS, counter: 2 }
  const tail = (reason: string, signature: Uint8Array): Field[] => [
    text('reason', reason),
    fixed('operator', A.publicKey),
    fixed('hlc', encodeTimestamp(hlc(BASE_MS, 2, A))),
    fixed('signature', signature),
  ]

  it.each([
    [
      { type: 'signer', key: signerN(3).publicKey },
      [u8('criteria type', 1), fixed('criteria key', signerN(3).publicKey)],
    ],
    [{ type: 'prefix', prefix: 'photos/' }, [u8('criteria type', 2), text('criteria prefix', 'photos/')]],
    [{ type: 'pattern', pattern: 'p*/?' }, [u8('criteria type', 3), text('criteria pattern', 'p*/?')]],
    [
      { type: 'older-than', epoch: hlc(BASE_MS, 9) },
      [u8('criteria type', 4), fixed('criteria epoch', encodeTimestamp(hlc(BASE_MS, 9)))],
    ],
    [{ type: 'family', family: 'cam' }, [u8('criteria type', 5), text('criteria family', 'cam')]],
  ] as const)('invalidate by %o: header, action 1, criteria type and value, reason, operator, HLC', (criteria, body) => {
    const record = signInvalidation(
      { action: 'invalidate', criteria, reason: 'bad batch', hlc: hlcNow },
      A,
      NETWORK,
    )
    const fields = [...head(0x04), u8('action', 1), ...body, ...tail('bad batch', record.signature)]
    const encoded = encodeInvalidation(record, NETWORK)
    expect(encoded).toEqual(join(fields))
    expect(decodeInvalidation(encoded, NETWORK)).toEqual(record)
    expect(verifyInvalidationBytes(encoded, A.publicKey, NETWORK)).toBe(true)
    expect(verifySignature(A.publicKey, message('invalidation', NETWORK, encoded), record.signature)).toBe(
      true,
    )
    expect(verifyInvalidationBytes(encoded, A.publicKey, 'other-net')).toBe(false)
    expect(invalidationHash(encoded)).toEqual(blake3(encoded))
    for (let length = 0; length < encoded.length; length++) {
      expect(() => decodeInvalidation(encoded.subarray(0, length), NETWORK)).toThrow(
        `truncated at ${fieldAt(fields, length)}`,
      )
    }
  })

  it('a lift: header, action 2, the target hash, reason, operator, HLC', () => {
    const record = signInvalidation(
      { action: 'lift', target: hash32(7), reason: 'ok again', hlc: hlcNow },
      A,
      NETWORK,
    )
    const fields = [
      ...head(0x04),
      u8('action', 2),
      fixed('target', hash32(7)),
      ...tail('ok again', record.signature),
    ]
    const encoded = encodeInvalidation(record, NETWORK)
    expect(encoded).toEqual(join(fields))
    expect(decodeInvalidation(encoded, NETWORK)).toEqual(record)
    for (let length = 0; length < encoded.length; length++) {
      expect(() => decodeInvalidation(encoded.subarray(0, length), NETWORK)).toThrow(
        `truncated at ${fieldAt(fields, length)}`,
      )
    }
  })

  it('refuses empty criteria text on the wire, a record of 4096 bytes gets as far as its tag', () => {
    for (const [type, name] of [
      [2, 'prefix'],
      [3, 'pattern'],
      [5, 'family'],
    ] as const) {
      const fields = [
        ...head(0x04),
        u8('action', 1),
        u8('criteria type', type),
        text(`criteria ${name}`, ''),
        ...tail('r', new Uint8Array(64)),
      ]
      expect(() => decodeInvalidation(join(fields), NETWORK)).toThrow(
        new MalformedRecordError(`criteria ${name} must not be empty`),
      )
    }
    expect(() => decodeInvalidation(new Uint8Array(4096), NETWORK)).toThrow(
      'expected an invalidation record, got type tag 0',
    )
  })

  it('refuses wrong widths, a missing HLC and a short signature on encoding, by name', () => {
    const lift = signInvalidation({ action: 'lift', target: hash32(7), reason: 'r', hlc: hlcNow }, A, NETWORK)
    const message = (record: unknown) => {
      try {
        encodeInvalidation(record as never, NETWORK)
      } catch (error) {
        return `${(error as Error).constructor.name}: ${(error as Error).message}`
      }
      return 'accepted'
    }
    expect(message({ ...lift, target: new Uint8Array(31) })).toBe(
      'MalformedRecordError: target must be 32 bytes',
    )
    expect(message({ ...lift, operator: new Uint8Array(31) })).toBe(
      'MalformedRecordError: operator must be 32 bytes',
    )
    expect(message({ ...lift, signature: new Uint8Array(63) })).toBe(
      'MalformedRecordError: signature must be 64 bytes',
    )
    expect(message({ ...lift, hlc: undefined })).toBe(
      'MalformedRecordError: hlc node id is not derived from the signer key',
    )
  })

  it('refuses each malformed part by name', () => {
    const record = signInvalidation(
      { action: 'lift', target: hash32(7), reason: 'r', hlc: hlcNow },
      A,
      NETWORK,
    )
    const encoded = encodeInvalidation(record, NETWORK)
    const patched = (at: number, value: number) => {
      const out = encoded.slice()
      out[at] = value
      return out
    }
    const refused = (bytes: Uint8Array) => {
      try {
        decodeInvalidation(bytes, NETWORK)
      } catch (error) {
        return `${(error as Error).constructor.name}: ${(error as Error).message}`
      }
      return 'accepted'
    }
    expect(refused(patched(0, 3))).toBe('UnknownKindError: expected an invalidation record, got type tag 3')
    expect(refused(patched(1, 0))).toBe('UnknownKindError: unknown invalidation record version 0')
    expect(refused(patched(2, encoded[2]! ^ 1))).toBe('WrongNetworkError: ' + new WrongNetworkError().message)
    expect(refused(patched(10, 3))).toBe('UnknownKindError: unknown invalidation action 3')
    expect(refused(patched(10, 0))).toBe('UnknownKindError: unknown invalidation action 0')
    expect(refused(Uint8Array.from([...encoded, 9]))).toBe('MalformedRecordError: 1 trailing bytes')
    const criteria = signInvalidation(
      { action: 'invalidate', criteria: { type: 'family', family: 'f' }, reason: 'r', hlc: hlcNow },
      A,
      NETWORK,
    )
    const withType = (type: number) => {
      const out = encodeInvalidation(criteria, NETWORK)
      out[11] = type
      return out
    }
    expect(refused(withType(6))).toBe('UnknownKindError: unknown criteria type')
    expect(refused(withType(0))).toBe('UnknownKindError: unknown criteria type')
    const foreign = encoded.slice()
    foreign.set(encodeTimestamp(hlc(BASE_MS, 2, signerN(5))), 10 + 1 + 32 + 3 + 32)
    expect(refused(foreign)).toBe('MalformedRecordError: hlc node id is not derived from the signer key')
  })

  it('refuses unknown actions and criteria, empty criteria text and a foreign HLC on signing', () => {
    const signed = (fields: unknown) => () => signInvalidation(fields as never, A, NETWORK)
    const message = (run: () => unknown) => {
      try {
        run()
      } catch (error) {
        return `${(error as Error).constructor.name}: ${(error as Error).message}`
      }
      return 'accepted'
    }
    expect(message(signed({ action: 'erase', reason: '', hlc: hlcNow }))).toBe(
      'UnknownKindError: unknown invalidation action "erase"',
    )
    expect(
      message(signed({ action: 'invalidate', criteria: { type: 'all' }, reason: '', hlc: hlcNow })),
    ).toBe('UnknownKindError: unknown criteria "all"')
    expect(message(signed({ action: 'invalidate', criteria: undefined, reason: '', hlc: hlcNow }))).toBe(
      'UnknownKindError: unknown criteria undefined',
    )
    for (const [type, key] of [
      ['prefix', 'prefix'],
      ['pattern', 'pattern'],
      ['family', 'family'],
    ]) {
      expect(
        message(signed({ action: 'invalidate', criteria: { type, [key!]: '' }, reason: '', hlc: hlcNow })),
      ).toBe(`MalformedRecordError: criteria ${key} must not be empty`)
    }
    expect(
      message(
        signed({
          action: 'invalidate',
          criteria: { type: 'signer', key: new Uint8Array(31) },
          reason: '',
          hlc: hlcNow,
        }),
      ),
    ).toBe('MalformedRecordError: criteria key must be 32 bytes')
    expect(
      message(
        signed({
          action: 'invalidate',
          criteria: { type: 'older-than', epoch: { wallMs: -1, counter: 0, nodeId: new Uint8Array(8) } },
          reason: '',
          hlc: hlcNow,
        }),
      ),
    ).toMatch(/^MalformedRecordError: timestamp: /)
    const record = signInvalidation(
      { action: 'lift', target: hash32(7), reason: 'r', hlc: hlcNow },
      A,
      NETWORK,
    )
    expect(message(() => encodeInvalidation({ ...record, hlc: hlc(BASE_MS, 2, signerN(5)) }, NETWORK))).toBe(
      'MalformedRecordError: hlc node id is not derived from the signer key',
    )
    expect(message(() => encodeInvalidation({ ...record, reason: 'r'.repeat(4000) }, NETWORK))).toBe(
      'OversizedFieldError: reason is 4000 bytes, limit 1024',
    )
  })
})

describe('canonical text at every boundary of its rules', () => {
  const cases: Array<[number, ReturnType<typeof textProblem>]> = [
    [0x1f, 'control-character'],
    [0x20, undefined],
    [0x7e, undefined],
    [0x7f, 'control-character'],
    [0x9f, 'control-character'],
    [0xa0, undefined],
    [0x2029, undefined],
    [0x202a, 'control-character'],
    [0x202e, 'control-character'],
    [0x202f, undefined],
    [0x2065, undefined],
    [0x2066, 'control-character'],
    [0x2069, 'control-character'],
    [0x206a, undefined],
    [0xfeff, 'byte-order-mark'],
    [0xfefe, undefined],
    [0xd7ff, undefined],
    [0xd800, 'lone-surrogate'],
    [0xdbff, 'lone-surrogate'],
    [0xdc00, 'lone-surrogate'],
    [0xdfff, 'lone-surrogate'],
    [0xe000, undefined],
  ]

  it.each(cases)('U+%s', (code, problem) => {
    const value = `a${String.fromCharCode(code)}b`
    expect(textProblem(value)).toBe(problem)
    if (problem === undefined) {
      expect(decodeCanonicalText('f', encodeCanonicalText('f', value))).toBe(value)
    } else {
      expect(() => encodeCanonicalText('f', value)).toThrow(expect.objectContaining({ field: 'f', problem }))
    }
  })

  it('a surrogate pair is one character; a high surrogate before anything else is alone', () => {
    expect(textProblem('\ud83d\ude00')).toBeUndefined()
    expect(textProblem('\udbff\udfff')).toBeUndefined()
    expect(textProblem('\ud800\udc00')).toBeUndefined()
    expect(textProblem('\ud800\ud800')).toBe('lone-surrogate')
    expect(textProblem('\ud800\ue000')).toBe('lone-surrogate')
    expect(textProblem('\ud800\udbff')).toBe('lone-surrogate')
    expect(textProblem('x\ud800')).toBe('lone-surrogate')
    // After a pair, the scan goes on: a control character later is still found.
    expect(textProblem('\ud83d\ude00\u0001')).toBe('control-character')
    expect(textProblem('e\u0301')).toBe('not-nfc')
    expect(textProblem('\u00e9')).toBeUndefined()
  })

  it('decoding refuses each problem in bytes, naming the field', () => {
    const problemOf = (bytes: number[]) => {
      try {
        decodeCanonicalText('reason', Uint8Array.from(bytes))
      } catch (error) {
        expect(error).toBeInstanceOf(NonCanonicalTextError)
        expect(error).toBeInstanceOf(MalformedRecordError)
        const { field, problem, message } = error as NonCanonicalTextError
        expect(field).toBe('reason')
        expect(message).toBe(`reason is not canonical text: ${problem}`)
        return problem
      }
      return undefined
    }
    expect(problemOf([0x61, 0x1f])).toBe('control-character')
    expect(problemOf([0x61, 0x7f])).toBe('control-character')
    expect(problemOf([0x20, 0x7e])).toBeUndefined()
    expect(problemOf([0xc2, 0x85])).toBe('control-character')
    expect(problemOf([0xef, 0xbb, 0xbf, 0x61])).toBe('byte-order-mark')
    expect(problemOf([0xc0, 0x80])).toBe('invalid-utf8')
    expect(problemOf([0xed, 0xa0, 0x80])).toBe('invalid-utf8')
    expect(problemOf([0x65, 0xcc, 0x81])).toBe('not-nfc')
    expect(problemOf([0xc3, 0xa9])).toBeUndefined()
    expect(decodeCanonicalText('f', Uint8Array.from([0xc3, 0xa9, 0x41]))).toBe('éA')
  })
})
