import { decodeTimestamp, encodeTimestamp, type Timestamp } from '@provsync/hlc'
import { blake3, equalBytes, HASH_BYTES, KEY_BYTES, SIGNATURE_BYTES } from '../bytes.js'
import { type InvalidationCriteria, MAX_PATTERN_BYTES } from '../criteria.js'
import { MalformedRecordError, OversizedFieldError, UnknownKindError, WrongNetworkError } from '../errors.js'
import { cachedNodeIdFor, networkTag } from '../keys.js'
import { type Signer, verifySignature } from '../signing.js'
import { MAX_REASON_BYTES, MAX_RECORD_BYTES, RECORD_VERSION } from './records.js'
import { Reader, Writer } from './wire.js'

/**
 * The fourth record type, kept in its own store (`invalidations`): an operator invalidates every
 * record matching a criterion, or lifts an earlier invalidation named by its record hash. The
 * layout follows the other records: type tag, version, network tag, body, operator, HLC, signature
 * over `provsync/invalidation/v1 ‖ 0 ‖ network id ‖ 0 ‖ body`.
 */
export const INVALIDATION_TAG = 0x04

export type InvalidationAction = 'invalidate' | 'lift'
const CRITERIA_TYPES = ['signer', 'prefix', 'pattern', 'older-than', 'family'] as const

export interface InvalidationBase {
  readonly reason: string
  readonly operator: Uint8Array
  readonly hlc: Timestamp
  readonly signature: Uint8Array
}

export type Invalidation =
  | (InvalidationBase & { readonly action: 'invalidate'; readonly criteria: InvalidationCriteria })
  | (InvalidationBase & { readonly action: 'lift'; readonly target: Uint8Array })

/** What a caller fills in; the operator, its HLC node id and the signature come from signing. */
export type UnsignedInvalidation =
  | {
      action: 'invalidate'
      criteria: InvalidationCriteria
      reason: string
      hlc: Pick<Timestamp, 'wallMs' | 'counter'>
    }
  | { action: 'lift'; target: Uint8Array; reason: string; hlc: Pick<Timestamp, 'wallMs' | 'counter'> }

const utf8 = new TextEncoder()

function domain(networkId: string): Uint8Array {
  return utf8.encode(`provsync/invalidation/v${RECORD_VERSION}\0${networkId}\0`)
}

function writeCriteria(writer: Writer, criteria: InvalidationCriteria): void {
  const index = CRITERIA_TYPES.indexOf(criteria?.type)
  if (index < 0) throw new UnknownKindError(`unknown criteria ${JSON.stringify(criteria?.type)}`)
  writer.u8(index + 1)
  if (criteria.type === 'signer') writer.fixed('criteria key', criteria.key, KEY_BYTES)
  else if (criteria.type === 'prefix')
    writer.text('criteria prefix', criteria.prefix, MAX_PATTERN_BYTES, { nonEmpty: true })
  else if (criteria.type === 'pattern')
    writer.text('criteria pattern', criteria.pattern, MAX_PATTERN_BYTES, { nonEmpty: true })
  else if (criteria.type === 'family')
    writer.text('criteria family', criteria.family, MAX_PATTERN_BYTES, { nonEmpty: true })
  // Stryker disable next-line StringLiteral: equivalent, a field name for an error an encoded timestamp (always 16 bytes) never raises
  else writer.fixed('criteria epoch', encodeHlc(criteria.epoch), 16)
}

function readCriteria(reader: Reader): InvalidationCriteria {
  const type = CRITERIA_TYPES[reader.u8('criteria type') - 1]
  if (type === undefined) throw new UnknownKindError('unknown criteria type')
  if (type === 'signer') return { type, key: reader.fixed('criteria key', KEY_BYTES) }
  if (type === 'prefix')
    return { type, prefix: reader.text('criteria prefix', MAX_PATTERN_BYTES, { nonEmpty: true }) }
  if (type === 'pattern')
    return { type, pattern: reader.text('criteria pattern', MAX_PATTERN_BYTES, { nonEmpty: true }) }
  if (type === 'family')
    return { type, family: reader.text('criteria family', MAX_PATTERN_BYTES, { nonEmpty: true }) }
  return { type, epoch: decodeTimestamp(reader.fixed('criteria epoch', 16)) }
}

function encodeHlc(hlc: Timestamp): Uint8Array {
  try {
    return encodeTimestamp(hlc)
  } catch (error) {
    throw new MalformedRecordError(`timestamp: ${(error as Error).message}`)
  }
}

type UnsignedBody =
  | Omit<Invalidation & { action: 'invalidate' }, 'signature'>
  | Omit<Invalidation & { action: 'lift' }, 'signature'>

function writeBody(writer: Writer, r: UnsignedBody, networkId: string): void {
  // Stryker disable next-line StringLiteral: equivalent, a field name for an error a network tag (always 8 bytes) never raises
  writer.u8(INVALIDATION_TAG).u8(RECORD_VERSION).fixed('network', networkTag(networkId), 8)
  if (r.action === 'invalidate') {
    writer.u8(1)
    writeCriteria(writer, r.criteria)
  } else if (r.action === 'lift') {
    writer.u8(2)
    writer.fixed('target', r.target, HASH_BYTES)
  } else {
    throw new UnknownKindError(
      `unknown invalidation action ${JSON.stringify((r as { action: unknown }).action)}`,
    )
  }
  writer.text('reason', r.reason, MAX_REASON_BYTES)
  writer.fixed('operator', r.operator, KEY_BYTES)
  if (!equalBytes(r.hlc?.nodeId, cachedNodeIdFor(r.operator))) {
    throw new MalformedRecordError('hlc node id is not derived from the signer key')
  }
  // Stryker disable next-line StringLiteral: equivalent, a field name for an error an encoded timestamp (always 16 bytes) never raises
  writer.fixed('hlc', encodeHlc(r.hlc), 16)
}

function finish(writer: Writer, signature: Uint8Array): Uint8Array {
  writer.fixed('signature', signature, SIGNATURE_BYTES)
  const bytes = writer.finish()
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the bounded fields add up to under 1,500 bytes
  if (bytes.length > MAX_RECORD_BYTES) throw new OversizedFieldError('record', bytes.length, MAX_RECORD_BYTES)
  return bytes
}

export function encodeInvalidation(record: Invalidation, networkId: string): Uint8Array {
  const writer = new Writer()
  writeBody(writer, record, networkId)
  return finish(writer, record.signature)
}

/** Canonical: every field fixed-width or length-bounded, kinds exact, no trailing bytes. */
export function decodeInvalidation(bytes: Uint8Array, networkId: string): Invalidation {
  if (!(bytes instanceof Uint8Array)) throw new MalformedRecordError('record must be a Uint8Array')
  if (bytes.length > MAX_RECORD_BYTES) throw new OversizedFieldError('record', bytes.length, MAX_RECORD_BYTES)
  const reader = new Reader(bytes)
  const tag = reader.u8('type')
  if (tag !== INVALIDATION_TAG)
    throw new UnknownKindError(`expected an invalidation record, got type tag ${tag}`)
  const version = reader.u8('version')
  if (version !== RECORD_VERSION) throw new UnknownKindError(`unknown invalidation record version ${version}`)
  if (!equalBytes(reader.fixed('network', 8), networkTag(networkId))) throw new WrongNetworkError()
  const action = reader.u8('action')
  if (action !== 1 && action !== 2) throw new UnknownKindError(`unknown invalidation action ${action}`)
  const body =
    action === 1 ? { criteria: readCriteria(reader) } : { target: reader.fixed('target', HASH_BYTES) }
  const reason = reader.text('reason', MAX_REASON_BYTES)
  const operator = reader.fixed('operator', KEY_BYTES)
  const hlc = decodeTimestamp(reader.fixed('hlc', 16))
  if (!equalBytes(hlc.nodeId, cachedNodeIdFor(operator))) {
    throw new MalformedRecordError('hlc node id is not derived from the signer key')
  }
  const signature = reader.fixed('signature', SIGNATURE_BYTES)
  reader.end()
  const base = { reason, operator, hlc, signature }
  return action === 1
    ? { action: 'invalidate', criteria: body.criteria!, ...base }
    : { action: 'lift', target: body.target!, ...base }
}

/** The bytes the signature covers, given the encoding. */
export function invalidationMessage(networkId: string, encoded: Uint8Array): Uint8Array {
  const prefix = domain(networkId)
  const body = encoded.subarray(0, encoded.length - SIGNATURE_BYTES)
  const message = new Uint8Array(prefix.length + body.length)
  message.set(prefix)
  message.set(body, prefix.length)
  return message
}

export function signInvalidation(
  fields: UnsignedInvalidation,
  operator: Signer,
  networkId: string,
): Invalidation {
  const hlc = {
    wallMs: fields.hlc.wallMs,
    counter: fields.hlc.counter,
    nodeId: cachedNodeIdFor(operator.publicKey),
  }
  const unsigned = { ...fields, hlc, operator: operator.publicKey } as UnsignedBody
  const writer = new Writer()
  writeBody(writer, unsigned, networkId)
  const encoded = finish(writer, new Uint8Array(SIGNATURE_BYTES))
  const signature = operator.sign(invalidationMessage(networkId, encoded))
  return { ...unsigned, signature } as Invalidation
}

/** Verifies the signature of an encoded record (as received). */
export function verifyInvalidationBytes(
  encoded: Uint8Array,
  operator: Uint8Array,
  networkId: string,
): boolean {
  return verifySignature(
    operator,
    invalidationMessage(networkId, encoded),
    encoded.subarray(encoded.length - SIGNATURE_BYTES),
  )
}

/** The invalidation id: BLAKE3 of the whole signed encoding, as for every record. */
export function invalidationHash(encoded: Uint8Array): Uint8Array {
  return blake3(encoded)
}
