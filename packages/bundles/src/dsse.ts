/**
 * DSSE (secure-systems-lab/dsse, protocol v1.0.0 and the JSON envelope v1.0.0), implemented from
 * the specification: SIGNATURE = Sign(PAE(UTF8(PAYLOAD_TYPE), SERIALIZED_BODY)), with
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal.
 * Signatures are Ed25519; `keyid` is the signer's public key in hex, an unauthenticated hint only.
 */
import { type Signer, toHex, verifySignature } from '@provsync/crdt'
import { EnvelopeFormatError, SignatureThresholdError } from './errors.js'

export interface EnvelopeSignature {
  readonly keyid: string
  readonly sig: string
}

export interface Envelope {
  readonly payload: string
  readonly payloadType: string
  readonly signatures: readonly EnvelopeSignature[]
}

export interface VerifiedEnvelope {
  readonly payloadType: string
  readonly payload: Uint8Array
  /** The distinct trusted keys whose signature verified, in the order of the trusted list. */
  readonly signers: Uint8Array[]
}

const utf8 = new TextEncoder()

/** Pre-Authentication Encoding of DSSE v1. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8.encode(payloadType)
  const head = utf8.encode(`DSSEv1 ${type.length} `)
  const middle = utf8.encode(` ${payload.length} `)
  const out = new Uint8Array(head.length + type.length + middle.length + payload.length)
  out.set(head, 0)
  out.set(type, head.length)
  out.set(middle, head.length + type.length)
  out.set(payload, head.length + type.length + middle.length)
  return out
}

/** Signs `payload` once per signer (one or more) and returns the JSON envelope. */
export function signEnvelope(payloadType: string, payload: Uint8Array, signers: readonly Signer[]): Envelope {
  if (signers.length === 0) throw new EnvelopeFormatError('at least one signer is required')
  const message = pae(payloadType, payload)
  return {
    payload: Buffer.from(payload).toString('base64'),
    payloadType,
    signatures: signers.map((s) => ({
      keyid: toHex(s.publicKey),
      sig: Buffer.from(s.sign(message)).toString('base64'),
    })),
  }
}

// Standard and URL-safe Base64, each matched on its own: one pattern with two overlapping
// alternatives per quantum backtracked exponentially on a long payload with one bad character (a
// tampered bundle spun the importer's CPU for minutes). Each of these has one way to match.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/
const BASE64URL = /^(?:[A-Za-z0-9\-_]{4})*(?:[A-Za-z0-9\-_]{2}(?:==)?|[A-Za-z0-9\-_]{3}=?)?$/

function decodeBase64(text: string, field: string): Uint8Array {
  if (BASE64.test(text)) return new Uint8Array(Buffer.from(text, 'base64'))
  if (BASE64URL.test(text)) return new Uint8Array(Buffer.from(text, 'base64url'))
  throw new EnvelopeFormatError(`${field} is not Base64`)
}

/** Parses a JSON envelope (bytes or text), checking the required fields; ignores unknown fields. */
export function openEnvelope(input: Uint8Array | string): Envelope {
  let value: unknown
  try {
    const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input)
    value = JSON.parse(text)
  } catch {
    throw new EnvelopeFormatError('invalid JSON')
  }
  const env = value as Partial<Envelope> | null
  if (env === null || typeof env !== 'object') throw new EnvelopeFormatError('not a JSON object')
  if (typeof env.payload !== 'string') throw new EnvelopeFormatError('payload missing')
  if (typeof env.payloadType !== 'string') throw new EnvelopeFormatError('payloadType missing')
  if (!Array.isArray(env.signatures)) throw new EnvelopeFormatError('signatures missing')
  const signatures = env.signatures.map((s: Partial<EnvelopeSignature> | null, i: number) => {
    if (s === null || typeof s !== 'object' || typeof s.sig !== 'string') {
      throw new EnvelopeFormatError(`signature ${i}: sig missing`)
    }
    if (s.keyid !== undefined && typeof s.keyid !== 'string') {
      throw new EnvelopeFormatError(`signature ${i}: keyid is not a string`)
    }
    return { keyid: s.keyid ?? '', sig: s.sig }
  })
  decodeBase64(env.payload, 'payload')
  return { payload: env.payload, payloadType: env.payloadType, signatures }
}

/** The envelope as canonical JSON bytes (field order as in the specification). */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  const { payload, payloadType, signatures } = envelope
  return utf8.encode(JSON.stringify({ payload, payloadType, signatures }))
}

export interface VerifyOptions {
  /** Distinct trusted keys that must have signed; default 1. */
  readonly threshold?: number
  /** When set, any other payload type is refused. */
  readonly payloadType?: string
  /** Count a signature only when its keyid is the hex of the key it verifies under. */
  readonly strictKeyIds?: boolean
}

/**
 * Verifies the envelope against `trustedKeys`: each trusted key counts at most once, whatever
 * the `keyid` hints say (they only order the attempts). Throws `SignatureThresholdError` when
 * fewer than `threshold` distinct trusted keys signed PAE(payloadType, payload).
 */
export function verifyEnvelope(
  envelope: Envelope,
  trustedKeys: readonly Uint8Array[],
  options: VerifyOptions = {},
): VerifiedEnvelope {
  const threshold = options.threshold ?? 1
  if (!Number.isInteger(threshold) || threshold < 1)
    throw new EnvelopeFormatError(`bad threshold ${threshold}`)
  if (options.payloadType !== undefined && envelope.payloadType !== options.payloadType) {
    throw new EnvelopeFormatError(`payloadType ${JSON.stringify(envelope.payloadType)} is not expected`)
  }
  const payload = decodeBase64(envelope.payload, 'payload')
  const message = pae(envelope.payloadType, payload)
  const accepted = new Set<number>()
  for (const signature of envelope.signatures) {
    let sig: Uint8Array
    try {
      sig = decodeBase64(signature.sig, 'sig')
    } catch {
      continue
    }
    if (sig.length !== 64) continue
    const order = trustedKeys
      .map((key, index) => ({ key, index }))
      .sort((a, b) => Number(toHex(b.key) === signature.keyid) - Number(toHex(a.key) === signature.keyid))
    for (const { key, index } of order) {
      if (options.strictKeyIds && signature.keyid !== toHex(key)) continue
      if (!accepted.has(index) && verifySignature(key, message, sig)) {
        accepted.add(index)
        break
      }
    }
  }
  if (accepted.size < threshold) {
    throw new SignatureThresholdError(
      accepted.size,
      threshold,
      envelope.signatures.map((s) => s.keyid || '(no keyid)'),
    )
  }
  const signers = [...accepted].sort((a, b) => a - b).map((i) => trustedKeys[i]!)
  return { payloadType: envelope.payloadType, payload, signers }
}
