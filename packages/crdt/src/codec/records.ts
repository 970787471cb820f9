import { decodeTimestamp, encodeTimestamp, type Timestamp } from '@provsync/hlc'
import { blake3, equalBytes, HASH_BYTES, KEY_BYTES, SIGNATURE_BYTES } from '../bytes.js'
import {
  InvalidRunError,
  MalformedRecordError,
  OversizedFieldError,
  UnknownKindError,
  WrongNetworkError,
} from '../errors.js'
import { cachedNodeIdFor, networkTag } from '../keys.js'
import type { Signer } from '../signing.js'
import { verifySignature } from '../signing.js'
import { type Coordinate, MAX_COORDINATE_PART_BYTES, readCoordinate, writeCoordinate } from './coordinate.js'
import { Reader, Writer } from './wire.js'

export const RECORD_VERSION = 1
/**
 * The version of a supersession or an assertion that carries an evidence blob id (issue #15).
 * A record without evidence is still written as version 1, byte for byte, so its hash and tree
 * key never change; a node of the first release refuses a version-2 record as `unknown-kind`.
 */
export const EVIDENCE_RECORD_VERSION = 2
/** Bytes of an evidence blob id (a `@provsync/blobs` id: it binds the blob's size and chunk hashes). */
export const EVIDENCE_ID_BYTES = 32
export const MAX_RECORD_BYTES = 4096
export const MAX_REASON_BYTES = 1024
export const MAX_METHOD_BYTES = 64
export const MAX_RUN = 2n ** 64n - 1n

export type RecordType = 'supersession' | 'assertion' | 'revocation'
const TAGS: Record<RecordType, number> = { supersession: 0x01, assertion: 0x02, revocation: 0x03 }

export type SupersessionKind = 'invalidate' | 'replace' | 'correct'
const SUPERSESSION_KINDS: readonly SupersessionKind[] = ['invalidate', 'replace', 'correct']
export type RevocationAction = 'revoke' | 'reinstate'
const REVOCATION_ACTIONS: readonly RevocationAction[] = ['revoke', 'reinstate']
export type SubjectKind = 'peer' | 'signer'
const SUBJECT_KINDS: readonly SubjectKind[] = ['peer', 'signer']

/** Says that the record `target` is superseded; `replacement` is required for replace/correct. */
export interface Supersession {
  readonly target: Uint8Array
  readonly kind: SupersessionKind
  readonly reason: string
  readonly replacement?: Uint8Array | undefined
  readonly hlc: Timestamp
  readonly agent: Uint8Array
  /** The id of an evidence blob; present only in version-2 records. */
  readonly evidence?: Uint8Array | undefined
  readonly signature: Uint8Array
}

/** `asserter` says run `run` of `coordinate` is durable; `method` says how it was checked. */
export interface Assertion {
  readonly asserter: Uint8Array
  readonly coordinate: Coordinate
  readonly run: bigint
  readonly hlc: Timestamp
  readonly method: string
  /** The id of an evidence blob; present only in version-2 records. */
  readonly evidence?: Uint8Array | undefined
  readonly signature: Uint8Array
}

/** An operator revokes (or reinstates) a peer or signer key. */
export interface Revocation {
  readonly action: RevocationAction
  readonly subjectKind: SubjectKind
  readonly subject: Uint8Array
  readonly reason: string
  readonly hlc: Timestamp
  readonly operator: Uint8Array
  readonly signature: Uint8Array
}

export type Unsigned<T> = Omit<T, 'signature' | 'agent' | 'asserter' | 'operator' | 'hlc'> & {
  readonly hlc: Pick<Timestamp, 'wallMs' | 'counter'>
}

export type AnyRecord =
  | { readonly type: 'supersession'; readonly record: Supersession }
  | { readonly type: 'assertion'; readonly record: Assertion }
  | { readonly type: 'revocation'; readonly record: Revocation }

const utf8 = new TextEncoder()
const domainCache = new Map<string, Uint8Array>()

/**
 * Signatures cover `provsync/<type>/v1 ‖ 0 ‖ network id ‖ 0 ‖ body`, so a record of one type or
 * network never verifies as another.
 */
function domain(type: RecordType, networkId: string, version: number): Uint8Array {
  const cacheKey = `${type}\0${version}\0${networkId}`
  let prefix = domainCache.get(cacheKey)
  // Stryker disable next-line ConditionalExpression: equivalent, a cache: building the prefix every time gives the same bytes
  if (prefix === undefined) {
    prefix = utf8.encode(`provsync/${type}/v${version}\0${networkId}\0`)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, only bounds the cache
    if (domainCache.size > 64) domainCache.clear()
    domainCache.set(cacheKey, prefix)
  }
  return prefix
}

/**
 * The bytes a record's signature covers before its body: the domain of its type, network and
 * version (the encoding's second byte; `provsync/<type>/v2` for a record with evidence). Cached.
 */
export function signedPrefix(type: RecordType, networkId: string, encoded: Uint8Array): Uint8Array {
  return domain(
    type,
    networkId,
    encoded[1] === EVIDENCE_RECORD_VERSION ? EVIDENCE_RECORD_VERSION : RECORD_VERSION,
  )
}

/**
 * The exact bytes a record's signature covers, given its encoding. The domain names the record's
 * version (its second byte): `provsync/<type>/v2` for a record with evidence.
 */
export function signedMessage(type: RecordType, networkId: string, encoded: Uint8Array): Uint8Array {
  const prefix = signedPrefix(type, networkId, encoded)
  const body = encoded.subarray(0, encoded.length - SIGNATURE_BYTES)
  const message = new Uint8Array(prefix.length + body.length)
  message.set(prefix)
  message.set(body, prefix.length)
  return message
}

/** Content address of a record: BLAKE3 of its signed encoding. */
export function recordHash(encoded: Uint8Array): Uint8Array {
  return blake3(encoded)
}

function header(writer: Writer, type: RecordType, networkId: string, version = RECORD_VERSION): void {
  // Stryker disable next-line StringLiteral: equivalent, a field name for an error a network tag (always 8 bytes) never raises
  writer.u8(TAGS[type]).u8(version).fixed('network', networkTag(networkId), 8)
}

/** Reads the header; returns the record's version (revocations: 1 only; the others: 1 or 2). */
function readHeader(reader: Reader, type: RecordType, networkId: string): number {
  const tag = reader.u8('type')
  if (tag !== TAGS[type]) throw new UnknownKindError(`expected a ${type} record, got type tag ${tag}`)
  const version = reader.u8('version')
  const known = version === RECORD_VERSION || (version === EVIDENCE_RECORD_VERSION && type !== 'revocation')
  if (!known) throw new UnknownKindError(`unknown ${type} record version ${version}`)
  if (!equalBytes(reader.fixed('network', 8), networkTag(networkId))) throw new WrongNetworkError()
  return version
}

/** Version 2 when the record carries an evidence blob id, else the first release's version 1. */
function versionFor(evidence: Uint8Array | undefined): number {
  return evidence === undefined ? RECORD_VERSION : EVIDENCE_RECORD_VERSION
}

function writeEvidence(writer: Writer, evidence: Uint8Array | undefined): void {
  if (evidence !== undefined) writer.fixed('evidence', evidence, EVIDENCE_ID_BYTES)
}

function readEvidence(reader: Reader, version: number): Uint8Array | undefined {
  return version === EVIDENCE_RECORD_VERSION ? reader.fixed('evidence', EVIDENCE_ID_BYTES) : undefined
}

function writeHlc(writer: Writer, hlc: Timestamp, signer: Uint8Array): void {
  let bytes: Uint8Array
  try {
    bytes = encodeTimestamp(hlc)
  } catch (error) {
    throw new MalformedRecordError(`hlc: ${(error as Error).message}`)
  }
  if (!equalBytes(hlc.nodeId, cachedNodeIdFor(signer))) {
    throw new MalformedRecordError('hlc node id is not derived from the signer key')
  }
  // Stryker disable next-line StringLiteral: equivalent, a field name for an error an encoded timestamp (always 16 bytes) never raises
  writer.fixed('hlc', bytes, 16)
}

function readHlc(reader: Reader, signer: Uint8Array): Timestamp {
  const hlc = decodeTimestamp(reader.fixed('hlc', 16))
  if (!equalBytes(hlc.nodeId, cachedNodeIdFor(signer))) {
    throw new MalformedRecordError('hlc node id is not derived from the signer key')
  }
  return hlc
}

function kindIndex<T extends string>(field: string, kinds: readonly T[], value: T): number {
  const index = kinds.indexOf(value)
  if (index < 0) throw new UnknownKindError(`unknown ${field} ${JSON.stringify(value)}`)
  return index + 1
}

function readKind<T extends string>(reader: Reader, field: string, kinds: readonly T[]): T {
  const byte = reader.u8(field)
  const kind = kinds[byte - 1]
  if (kind === undefined) throw new UnknownKindError(`unknown ${field} ${byte}`)
  return kind
}

function checkSize(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new MalformedRecordError('record must be a Uint8Array')
  if (bytes.length > MAX_RECORD_BYTES) throw new OversizedFieldError('record', bytes.length, MAX_RECORD_BYTES)
}

/** Refuses anything that is not a bigint in [0, 2^64). */
export function assertRun(run: unknown): asserts run is bigint {
  if (typeof run !== 'bigint' || run < 0n || run > MAX_RUN) throw new InvalidRunError(run)
}

function finish(writer: Writer, signature: Uint8Array): Uint8Array {
  writer.fixed('signature', signature, SIGNATURE_BYTES)
  const bytes = writer.finish()
  checkSize(bytes)
  return bytes
}

// ---- supersessions

function writeSupersessionBody(writer: Writer, r: Omit<Supersession, 'signature'>, networkId: string): void {
  header(writer, 'supersession', networkId, versionFor(r.evidence))
  writer.u8(kindIndex('supersession kind', SUPERSESSION_KINDS, r.kind))
  writer.fixed('target', r.target, HASH_BYTES)
  const needsReplacement = r.kind !== 'invalidate'
  if (needsReplacement !== (r.replacement !== undefined)) {
    throw new MalformedRecordError(
      `a ${r.kind} supersession ${needsReplacement ? 'needs' : 'has no'} replacement`,
    )
  }
  if (r.replacement !== undefined) writer.fixed('replacement', r.replacement, HASH_BYTES)
  writer.text('reason', r.reason, MAX_REASON_BYTES)
  writer.fixed('agent', r.agent, KEY_BYTES)
  writeHlc(writer, r.hlc, r.agent)
  writeEvidence(writer, r.evidence)
}

export function encodeSupersession(record: Supersession, networkId: string): Uint8Array {
  const writer = new Writer()
  writeSupersessionBody(writer, record, networkId)
  return finish(writer, record.signature)
}

export function decodeSupersession(bytes: Uint8Array, networkId: string): Supersession {
  checkSize(bytes)
  const reader = new Reader(bytes)
  const version = readHeader(reader, 'supersession', networkId)
  const kind = readKind(reader, 'supersession kind', SUPERSESSION_KINDS)
  const target = reader.fixed('target', HASH_BYTES)
  const replacement = kind === 'invalidate' ? undefined : reader.fixed('replacement', HASH_BYTES)
  const reason = reader.text('reason', MAX_REASON_BYTES)
  const agent = reader.fixed('agent', KEY_BYTES)
  const hlc = readHlc(reader, agent)
  const evidence = readEvidence(reader, version)
  const signature = reader.fixed('signature', SIGNATURE_BYTES)
  reader.end()
  if (evidence === undefined) return { target, kind, reason, replacement, hlc, agent, signature }
  return { target, kind, reason, replacement, hlc, agent, evidence, signature }
}

export function signSupersession(
  fields: Unsigned<Supersession>,
  signer: Signer,
  networkId: string,
): Supersession {
  const unsigned = { ...fields, agent: signer.publicKey, hlc: withNode(fields.hlc, signer) }
  const writer = new Writer()
  writeSupersessionBody(writer, unsigned, networkId)
  const encoded = finish(writer, new Uint8Array(SIGNATURE_BYTES))
  return { ...unsigned, signature: signer.sign(signedMessage('supersession', networkId, encoded)) }
}

export function verifySupersession(record: Supersession, networkId: string): boolean {
  const encoded = encodeSupersession(record, networkId)
  return verifySignature(record.agent, signedMessage('supersession', networkId, encoded), record.signature)
}

// ---- assertions

function writeAssertionBody(writer: Writer, r: Omit<Assertion, 'signature'>, networkId: string): void {
  header(writer, 'assertion', networkId, versionFor(r.evidence))
  writeCoordinate(writer, r.coordinate)
  assertRun(r.run)
  writer.u64(r.run)
  writer.text('method', r.method, MAX_METHOD_BYTES)
  writer.fixed('asserter', r.asserter, KEY_BYTES)
  writeHlc(writer, r.hlc, r.asserter)
  writeEvidence(writer, r.evidence)
}

export function encodeAssertion(record: Assertion, networkId: string): Uint8Array {
  const writer = new Writer()
  writeAssertionBody(writer, record, networkId)
  return finish(writer, record.signature)
}

export function decodeAssertion(bytes: Uint8Array, networkId: string): Assertion {
  checkSize(bytes)
  const reader = new Reader(bytes)
  const version = readHeader(reader, 'assertion', networkId)
  const coordinate = readCoordinate(reader)
  const run = reader.u64('run')
  const method = reader.text('method', MAX_METHOD_BYTES)
  const asserter = reader.fixed('asserter', KEY_BYTES)
  const hlc = readHlc(reader, asserter)
  const evidence = readEvidence(reader, version)
  const signature = reader.fixed('signature', SIGNATURE_BYTES)
  reader.end()
  if (evidence === undefined) return { asserter, coordinate, run, hlc, method, signature }
  return { asserter, coordinate, run, hlc, method, evidence, signature }
}

/** What applying an assertion reads of it: its signer, run and HLC (the rest stays in its bytes). */
export interface AssertionHead {
  readonly asserter: Uint8Array
  readonly run: bigint
  readonly hlc: Timestamp
}

const TWO_32 = 2 ** 32
/** Runs below 2^53 are read as a number first (one bigint allocated instead of a DataView). */
const HIGH_WORD_EXACT = 2 ** 21

/**
 * The end of a length-prefixed text at `offset` when it is within `limit`, non-empty if asked and
 * all printable ASCII (canonical text, see `text.ts`), else -1.
 */
function asciiTextEnd(bytes: Uint8Array, offset: number, limit: number, nonEmpty: boolean): number {
  if (offset + 2 > bytes.length) return -1
  const size = (bytes[offset]! << 8) | bytes[offset + 1]!
  if (size > limit || (nonEmpty && size === 0)) return -1
  const end = offset + 2 + size
  if (end > bytes.length) return -1
  for (let i = offset + 2; i < end; i++) {
    const byte = bytes[i]!
    if (byte < 0x20 || byte >= 0x7f) return -1
  }
  return end
}

/**
 * The {@link AssertionHead} of an encoded assertion, read in place, when {@link decodeAssertion}
 * accepts it and its texts are printable ASCII; undefined for anything else, which the caller
 * decodes with {@link decodeAssertion} (that decodes it, or names what is wrong with it). No
 * string, no copy: `asserter` is a view of `bytes`, `hlc.nodeId` the signer's cached node id
 * (equal to the record's bytes; never to be written to). Applying a record needs
 * nothing more, and decoding the whole record allocated about 2.3 KB per record (heap profile,
 * `bench/apply-alloc.ts`).
 */
export function scanAssertion(bytes: Uint8Array, networkId: string): AssertionHead | undefined {
  if (bytes.length > MAX_RECORD_BYTES || bytes.length < 10 || bytes[0] !== TAGS.assertion) return undefined
  const version = bytes[1]
  if (version !== RECORD_VERSION && version !== EVIDENCE_RECORD_VERSION) return undefined
  const tag = networkTag(networkId)
  for (let i = 0; i < 8; i++) if (bytes[2 + i] !== tag[i]) return undefined
  let offset = 10
  for (let part = 0; part < 3 && offset > 0; part++)
    offset = asciiTextEnd(bytes, offset, MAX_COORDINATE_PART_BYTES, true)
  if (offset < 0) return undefined
  const runAt = offset
  offset = asciiTextEnd(bytes, runAt + 8, MAX_METHOD_BYTES, false)
  if (offset < 0) return undefined
  const hlcAt = offset + KEY_BYTES
  const evidence = version === EVIDENCE_RECORD_VERSION ? EVIDENCE_ID_BYTES : 0
  if (hlcAt + 16 + evidence + SIGNATURE_BYTES !== bytes.length) return undefined
  const asserter = bytes.subarray(offset, hlcAt)
  const nodeId = cachedNodeIdFor(asserter)
  for (let i = 0; i < 8; i++) if (bytes[hlcAt + 8 + i] !== nodeId[i]) return undefined
  const word = (at: number) =>
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  const high = word(runAt)
  const run =
    high < HIGH_WORD_EXACT
      ? BigInt(high * TWO_32 + word(runAt + 4))
      : new DataView(bytes.buffer, bytes.byteOffset + runAt, 8).getBigUint64(0)
  const hlc = {
    wallMs: ((bytes[hlcAt]! << 8) | bytes[hlcAt + 1]!) * TWO_32 + word(hlcAt + 2),
    counter: (bytes[hlcAt + 6]! << 8) | bytes[hlcAt + 7]!,
    // The signer's node id, equal to these bytes (checked above): cached, so no view per record.
    nodeId,
  }
  return { asserter, run, hlc }
}

export function signAssertion(fields: Unsigned<Assertion>, signer: Signer, networkId: string): Assertion {
  const unsigned = { ...fields, asserter: signer.publicKey, hlc: withNode(fields.hlc, signer) }
  const writer = new Writer()
  writeAssertionBody(writer, unsigned, networkId)
  const encoded = finish(writer, new Uint8Array(SIGNATURE_BYTES))
  return { ...unsigned, signature: signer.sign(signedMessage('assertion', networkId, encoded)) }
}

export function verifyAssertion(record: Assertion, networkId: string): boolean {
  const encoded = encodeAssertion(record, networkId)
  return verifySignature(record.asserter, signedMessage('assertion', networkId, encoded), record.signature)
}

// ---- revocations

function writeRevocationBody(writer: Writer, r: Omit<Revocation, 'signature'>, networkId: string): void {
  header(writer, 'revocation', networkId)
  writer.u8(kindIndex('revocation action', REVOCATION_ACTIONS, r.action))
  writer.u8(kindIndex('subject kind', SUBJECT_KINDS, r.subjectKind))
  writer.fixed('subject', r.subject, KEY_BYTES)
  writer.text('reason', r.reason, MAX_REASON_BYTES)
  writer.fixed('operator', r.operator, KEY_BYTES)
  writeHlc(writer, r.hlc, r.operator)
}

export function encodeRevocation(record: Revocation, networkId: string): Uint8Array {
  const writer = new Writer()
  writeRevocationBody(writer, record, networkId)
  return finish(writer, record.signature)
}

export function decodeRevocation(bytes: Uint8Array, networkId: string): Revocation {
  checkSize(bytes)
  const reader = new Reader(bytes)
  readHeader(reader, 'revocation', networkId)
  const action = readKind(reader, 'revocation action', REVOCATION_ACTIONS)
  const subjectKind = readKind(reader, 'subject kind', SUBJECT_KINDS)
  const subject = reader.fixed('subject', KEY_BYTES)
  const reason = reader.text('reason', MAX_REASON_BYTES)
  const operator = reader.fixed('operator', KEY_BYTES)
  const hlc = readHlc(reader, operator)
  const signature = reader.fixed('signature', SIGNATURE_BYTES)
  reader.end()
  return { action, subjectKind, subject, reason, hlc, operator, signature }
}

export function signRevocation(fields: Unsigned<Revocation>, signer: Signer, networkId: string): Revocation {
  const unsigned = { ...fields, operator: signer.publicKey, hlc: withNode(fields.hlc, signer) }
  const writer = new Writer()
  writeRevocationBody(writer, unsigned, networkId)
  const encoded = finish(writer, new Uint8Array(SIGNATURE_BYTES))
  return { ...unsigned, signature: signer.sign(signedMessage('revocation', networkId, encoded)) }
}

export function verifyRevocation(record: Revocation, networkId: string): boolean {
  const encoded = encodeRevocation(record, networkId)
  return verifySignature(record.operator, signedMessage('revocation', networkId, encoded), record.signature)
}

// ---- any record

const TYPE_BY_TAG = new Map<number, RecordType>(
  Object.entries(TAGS).map(([type, tag]) => [tag, type as RecordType]),
)

/** Decodes a record of any type by its tag byte. */
export function decodeRecord(bytes: Uint8Array, networkId: string): AnyRecord {
  checkSize(bytes)
  const type = TYPE_BY_TAG.get(bytes[0] ?? -1)
  if (type === undefined) throw new UnknownKindError(`unknown record type tag ${bytes[0]}`)
  if (type === 'supersession') return { type, record: decodeSupersession(bytes, networkId) }
  if (type === 'assertion') return { type, record: decodeAssertion(bytes, networkId) }
  return { type, record: decodeRevocation(bytes, networkId) }
}

/**
 * A record as the apply path holds it: assertions by their head alone (see {@link scanAssertion}).
 * Every {@link AnyRecord} is one.
 */
export type CheckedRecord =
  | { readonly type: 'supersession'; readonly record: Supersession }
  | { readonly type: 'assertion'; readonly record: AssertionHead }
  | { readonly type: 'revocation'; readonly record: Revocation }

/** The signer of a record: agent, asserter or operator. */
export function signerOf(any: CheckedRecord): Uint8Array {
  if (any.type === 'supersession') return any.record.agent
  if (any.type === 'assertion') return any.record.asserter
  return any.record.operator
}

function withNode(hlc: Pick<Timestamp, 'wallMs' | 'counter'>, signer: Signer): Timestamp {
  return { wallMs: hlc.wallMs, counter: hlc.counter, nodeId: cachedNodeIdFor(signer.publicKey) }
}

/** The canonical coordinate bytes inside an encoded assertion (a view, no copy). */
export function coordinateBytesOf(encodedAssertion: Uint8Array): Uint8Array {
  let offset = 10
  for (let part = 0; part < 3; part++)
    offset += 2 + ((encodedAssertion[offset]! << 8) | encodedAssertion[offset + 1]!)
  return encodedAssertion.subarray(10, offset)
}
