import {
  decodeRecord,
  encodeAssertion,
  MalformedRecordError,
  NonCanonicalTextError,
  type Signer,
  signAssertion,
  signedMessage,
  signRevocation,
  signSupersession,
  type TextProblem,
  textProblem,
} from '@provsync/crdt'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeCanonicalText, encodeCanonicalText } from '../src/codec/text.js'
import { BASE_MS, hash32, NETWORK, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const A = signerN(1)
const photos = { volume: 'photos', destination: 's3-eu', origin: 'laptop-7' }
const VOLUME_OFFSET = 12 // type, version, network tag (8), volume length (2)

/**
 * A correctly signed assertion whose volume holds exactly `volume` (any bytes): encoded with a
 * placeholder of the same length, patched, then signed over the patched bytes, as a hostile peer
 * holding a valid key would.
 */
function assertionWithVolumeBytes(signer: Signer, volume: Uint8Array, run: bigint): Uint8Array {
  const placeholder = { ...photos, volume: 'x'.repeat(volume.length) }
  const record = signAssertion(
    { coordinate: placeholder, run, method: 'checksum', hlc: { wallMs: BASE_MS, counter: 0 } },
    signer,
    NETWORK,
  )
  const bytes = encodeAssertion(record, NETWORK)
  bytes.set(volume, VOLUME_OFFSET)
  bytes.set(signer.sign(signedMessage('assertion', NETWORK, bytes)), bytes.length - 64)
  return bytes
}

const utf8 = (text: string) => new TextEncoder().encode(text)
const bytes = (...parts: Array<string | number[]>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...utf8(p)] : p)))

describe('canonical text in records (issue #17 item 4)', () => {
  it('a volume starting with a byte-order mark cannot spoof the audit listing of the plain name', async () => {
    const state = await temp.open({ wallClock: () => BASE_MS })
    const honest = assertionWithVolumeBytes(A, utf8('photos'), 5n)
    const spoof = assertionWithVolumeBytes(A, bytes([0xef, 0xbb, 0xbf], 'photos'), 99n)
    const outcomes = await state.apply('assertions', [honest, spoof], { from: A.publicKey })
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'refused'])
    expect(outcomes[1]).toMatchObject({ reason: 'malformed' })
    expect(outcomes[1]!.detail).toMatch(/volume.*byte-order-mark/)
    // One coordinate, one run, whichever way the node is asked.
    const listed = [...state.view.entries()].filter((e) => e.coordinate.volume === 'photos')
    expect(listed.map((e) => e.component.run)).toEqual([5n])
    expect(state.view.get(photos)?.run).toBe(5n)
    expect(state.gate(photos, 99n).allowed).toBe(false)
    expect(state.tree('assertions').count()).toBe(1)
    expect(() => decodeRecord(spoof, NETWORK)).toThrow(
      expect.objectContaining({ name: 'NonCanonicalTextError', field: 'volume', problem: 'byte-order-mark' }),
    )
  })

  const cases: Array<[string, Uint8Array, TextProblem]> = [
    ['a leading byte-order mark', bytes([0xef, 0xbb, 0xbf], 'photos'), 'byte-order-mark'],
    ['a byte-order mark inside', bytes('pho', [0xef, 0xbb, 0xbf], 'tos'), 'byte-order-mark'],
    ['a NUL', bytes('photos', [0]), 'control-character'],
    ['a newline', bytes('pho\ntos'), 'control-character'],
    ['a DEL', bytes('photos', [0x7f]), 'control-character'],
    ['a C1 control (NEL)', bytes('photos', [0xc2, 0x85]), 'control-character'],
    ['a right-to-left override', bytes([0xe2, 0x80, 0xae], 'photos'), 'control-character'],
    ['a lone continuation byte', bytes('photos', [0x80]), 'invalid-utf8'],
    ['an overlong "/"', bytes('photos', [0xc0, 0xaf]), 'invalid-utf8'],
    ['an encoded surrogate', bytes('photos', [0xed, 0xa0, 0x80]), 'invalid-utf8'],
    ['a code point above U+10FFFF', bytes('photos', [0xf4, 0x90, 0x80, 0x80]), 'invalid-utf8'],
    ['decomposed é (not NFC)', bytes('cafe', [0xcc, 0x81]), 'not-nfc'],
  ]

  it.each(cases)('refuses a signed record whose volume has %s, as malformed', (_, volume, problem) => {
    let error: unknown
    try {
      decodeRecord(assertionWithVolumeBytes(A, volume, 7n), NETWORK)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(NonCanonicalTextError)
    expect(error).toBeInstanceOf(MalformedRecordError)
    expect(error).toMatchObject({ field: 'volume', problem, reason: 'malformed' })
  })

  it('apply refuses each of them as malformed and keeps nothing of them', async () => {
    const state = await temp.open({ wallClock: () => BASE_MS })
    const records = cases.map(([, volume], i) => assertionWithVolumeBytes(A, volume, BigInt(i)))
    const outcomes = await state.apply('assertions', records, { from: A.publicKey })
    expect(outcomes.map((o) => o.reason)).toEqual(cases.map(() => 'malformed'))
    expect(state.tree('assertions').count()).toBe(0)
    expect(state.view.count()).toBe(0)
  })

  it('accepts NFC text outside ASCII and round-trips it', () => {
    const coordinate = { volume: 'café', destination: 'Zürich', origin: '東京 🚀' }
    const record = signAssertion(
      { coordinate, run: 1n, method: 'blake3', hlc: { wallMs: BASE_MS, counter: 0 } },
      A,
      NETWORK,
    )
    const encoded = encodeAssertion(record, NETWORK)
    const decoded = decodeRecord(encoded, NETWORK)
    expect(decoded.type === 'assertion' && decoded.record.coordinate).toEqual(coordinate)
  })
})

describe('encoders refuse non-canonical text from local callers, naming the field', () => {
  const hlc = { wallMs: BASE_MS, counter: 0 }
  it.each([
    [
      'volume',
      () =>
        signAssertion(
          { coordinate: { ...photos, volume: '\ufeffphotos' }, run: 1n, method: '', hlc },
          A,
          NETWORK,
        ),
      'byte-order-mark',
    ],
    [
      'origin',
      () =>
        signAssertion(
          { coordinate: { ...photos, origin: 'laptop\u202e7' }, run: 1n, method: '', hlc },
          A,
          NETWORK,
        ),
      'control-character',
    ],
    [
      'method',
      () => signAssertion({ coordinate: photos, run: 1n, method: 'sha\n256', hlc }, A, NETWORK),
      'control-character',
    ],
    [
      'reason',
      () =>
        signSupersession({ kind: 'invalidate', target: hash32(1), reason: 'cafe\u0301', hlc }, A, NETWORK),
      'not-nfc',
    ],
    [
      'reason',
      () =>
        signRevocation(
          { action: 'revoke', subjectKind: 'peer', subject: A.publicKey, reason: 'bad \ud800', hlc },
          A,
          NETWORK,
        ),
      'lone-surrogate',
    ],
  ] as const)('%s', (field, sign, problem) => {
    expect(sign).toThrow(expect.objectContaining({ name: 'NonCanonicalTextError', field, problem }))
  })
})

/** Strings of UTF-16 code units, weighted towards the ones the rules are about (fc.string's 'binary' unit is slow). */
const arbText = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.constantFrom(0x0a, 0x7f, 0x85, 0xfeff, 0x301, 0x65, 0xe9, 0xd83d, 0xde80, 0xdc00, 0x202e, 0x2066),
    ),
    { maxLength: 16 },
  )
  .map((units) => String.fromCharCode(...units))

describe('canonical text codec', () => {
  it('a string encodes exactly when it is canonical, and decodes back to itself', () => {
    fc.assert(
      fc.property(arbText, (text) => {
        const problem = textProblem(text)
        let encoded: Uint8Array
        try {
          encoded = encodeCanonicalText('f', text)
        } catch (error) {
          return problem !== undefined && error instanceof NonCanonicalTextError && error.problem === problem
        }
        return problem === undefined && decodeCanonicalText('f', encoded) === text
      }),
      { numRuns: 1000 },
    )
  })

  it('bytes decode only when they re-encode to the same bytes', () => {
    const arbBytes = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      arbText.map((s) => Buffer.from(s, 'utf8')),
      fc
        .array(fc.constantFrom(0x41, 0x65, 0xcc, 0x81, 0xef, 0xbb, 0xbf, 0xc2, 0x85, 0xe2, 0x80, 0xae), {
          maxLength: 12,
        })
        .map((a) => Uint8Array.from(a)),
    )
    fc.assert(
      fc.property(arbBytes, (input) => {
        let text: string
        try {
          text = decodeCanonicalText('f', input)
        } catch (error) {
          return error instanceof NonCanonicalTextError
        }
        return Buffer.from(encodeCanonicalText('f', text)).equals(Buffer.from(input))
      }),
      { numRuns: 2000 },
    )
  })
})
