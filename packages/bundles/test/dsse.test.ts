import { createPublicKey, verify as nodeVerify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fromHex, signerFromSeed, toHex } from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import {
  type Envelope,
  EnvelopeFormatError,
  encodeEnvelope,
  openEnvelope,
  pae,
  SignatureThresholdError,
  signEnvelope,
  verifyEnvelope,
} from '../src/index.js'
import { signerN } from './helpers.js'

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const bytes = (s: string) => new TextEncoder().encode(s)
const a = signerN(10)
const b = signerN(11)
const c = signerN(12)

interface Vector {
  name: string
  seeds: string[]
  publicKeys: string[]
  payloadType: string
  payloadHex: string
  paeHex: string
  envelope: string
}
const vectors = JSON.parse(
  readFileSync(new URL('./vectors/dsse-v1.json', import.meta.url), 'utf8'),
) as Vector[]

describe('pae', () => {
  it('is the DSSE v1 encoding of the specification', () => {
    expect(text(pae('http://example.com/HelloWorld', bytes('hello world')))).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    )
    expect(text(pae('', new Uint8Array(0)))).toBe('DSSEv1 0  0 ')
  })

  it('counts UTF-8 bytes, not characters', () => {
    expect(text(pae('t/é', bytes('∂')))).toBe('DSSEv1 4 t/é 3 ∂')
  })
})

describe('committed vectors', () => {
  it.each(vectors.map((v) => [v.name, v] as const))('%s: recomputed and verified', (_, v) => {
    const signers = v.seeds.map((s) => signerFromSeed(fromHex(s)))
    expect(signers.map((s) => toHex(s.publicKey))).toEqual(v.publicKeys)
    const payload = fromHex(v.payloadHex)
    expect(toHex(pae(v.payloadType, payload))).toBe(v.paeHex)
    expect(text(encodeEnvelope(signEnvelope(v.payloadType, payload, signers)))).toBe(v.envelope)
    const keys = v.publicKeys.map(fromHex)
    const verified = verifyEnvelope(openEnvelope(v.envelope), keys, { threshold: keys.length })
    expect(toHex(verified.payload)).toBe(v.payloadHex)
  })

  it.each(vectors.map((v) => [v.name, v] as const))('%s: signatures verify with node:crypto too', (_, v) => {
    const env = openEnvelope(v.envelope)
    const message = fromHex(v.paeHex)
    env.signatures.forEach((s, i) => {
      const x = Buffer.from(fromHex(v.publicKeys[i]!)).toString('base64url')
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
      expect(s.keyid).toBe(v.publicKeys[i])
      expect(nodeVerify(null, message, key, Buffer.from(s.sig, 'base64'))).toBe(true)
    })
  })
})

describe('verifyEnvelope', () => {
  const payload = bytes('{"x":1}')
  const both = signEnvelope('t', payload, [a, b])

  it('returns the payload and the trusted keys that signed', () => {
    const result = verifyEnvelope(both, [c.publicKey, b.publicKey, a.publicKey], { threshold: 2 })
    expect(text(result.payload)).toBe('{"x":1}')
    expect(result.signers.map(toHex)).toEqual([toHex(b.publicKey), toHex(a.publicKey)])
  })

  it('refuses below the threshold, naming the counts', () => {
    const error = (() => {
      try {
        verifyEnvelope(both, [a.publicKey, c.publicKey], { threshold: 2 })
      } catch (e) {
        return e
      }
    })() as SignatureThresholdError
    expect(error).toBeInstanceOf(SignatureThresholdError)
    expect(error.valid).toBe(1)
    expect(error.threshold).toBe(2)
    expect(error.reason).toBe('untrusted-signature')
  })

  it('counts a key once even when it signed twice', () => {
    const twice: Envelope = { ...both, signatures: [both.signatures[0]!, both.signatures[0]!] }
    expect(() => verifyEnvelope(twice, [a.publicKey, b.publicKey], { threshold: 2 })).toThrow(
      SignatureThresholdError,
    )
  })

  it('refuses an untrusted signer, a changed payload and a changed payload type', () => {
    expect(() => verifyEnvelope(both, [c.publicKey])).toThrow(SignatureThresholdError)
    const changed = { ...both, payload: Buffer.from('{"x":2}').toString('base64') }
    expect(() => verifyEnvelope(changed, [a.publicKey])).toThrow(SignatureThresholdError)
    expect(() => verifyEnvelope({ ...both, payloadType: 'u' }, [a.publicKey])).toThrow(
      SignatureThresholdError,
    )
    expect(() => verifyEnvelope(both, [a.publicKey], { payloadType: 'u' })).toThrow(EnvelopeFormatError)
  })

  it('treats keyid as a hint, unless strictKeyIds asks for it to match', () => {
    const swapped: Envelope = {
      ...both,
      signatures: both.signatures.map((s, i) => ({ ...s, keyid: both.signatures[1 - i]!.keyid })),
    }
    expect(verifyEnvelope(swapped, [a.publicKey, b.publicKey], { threshold: 2 }).signers).toHaveLength(2)
    expect(() => verifyEnvelope(swapped, [a.publicKey], { strictKeyIds: true })).toThrow(
      SignatureThresholdError,
    )
  })

  it('accepts URL-safe Base64 as the specification allows', () => {
    const env = signEnvelope('t', new Uint8Array([0xfb, 0xff, 0xfe]), [a])
    const url: Envelope = { ...env, payload: Buffer.from([0xfb, 0xff, 0xfe]).toString('base64url') }
    expect(url.payload).toContain('_')
    expect([...verifyEnvelope(url, [a.publicKey]).payload]).toEqual([0xfb, 0xff, 0xfe])
  })
})

describe('openEnvelope', () => {
  it('parses what encodeEnvelope writes and ignores unknown fields', () => {
    const env = signEnvelope('t', bytes('p'), [a])
    expect(openEnvelope(encodeEnvelope(env))).toEqual(env)
    const extra = JSON.stringify({ ...env, extra: 1, signatures: [{ sig: env.signatures[0]!.sig }] })
    expect(openEnvelope(extra).signatures[0]!.keyid).toBe('')
  })

  it.each([
    ['invalid JSON', '{'],
    ['no payload', '{"payloadType":"t","signatures":[]}'],
    ['no payloadType', '{"payload":"","signatures":[]}'],
    ['no signatures', '{"payload":"","payloadType":"t"}'],
    ['a signature without sig', '{"payload":"","payloadType":"t","signatures":[{"keyid":"k"}]}'],
    ['payload not Base64', '{"payload":"!!","payloadType":"t","signatures":[]}'],
    // A long payload with one bad character in the middle: the pattern that checked Base64 once
    // backtracked exponentially on it, and the import never returned (a tampered bundle).
    [
      'a long payload with one bad character',
      `{"payload":"${'QUJD'.repeat(200)}]${'QUJD'.repeat(200)}","payloadType":"t","signatures":[]}`,
    ],
    ['a payload mixing standard and URL-safe Base64', '{"payload":"ab+-","payloadType":"t","signatures":[]}'],
  ])('refuses %s with EnvelopeFormatError', (_, input) => {
    expect(() => openEnvelope(input)).toThrow(EnvelopeFormatError)
  })
})
