import { blake3, nodeIdFor, type Signer, type VerifyItem, verifySignature } from '@provsync/crdt'
import { decodeTimestamp, TIMESTAMP_BYTES, type Timestamp } from '@provsync/hlc'
import { equalBytes, equalShort } from '../bytes.js'
import { ArtifactRefusedError, MalformedRecordError, OversizedFieldError } from '../errors.js'
import {
  encodeBody,
  encodeRecord,
  KEY_BYTES,
  KINDS,
  MAX_INLINE_BYTES,
  MAX_RECORD_BYTES,
  READERS,
  RECORD_VERSION,
  SIGNATURE_BYTES,
} from './records.js'
import { utf8 } from './text.js'
import type { AnyRecord, Artifact, Grant, ScopeEpoch, Withdrawal } from './types.js'
import { Reader } from './wire.js'

const DOMAIN = utf8('provsync/artifacts/v1')
const tags = new Map<string, Uint8Array>()
const prefixes = new Map<string, Uint8Array>()

/** A decoded record with its canonical bytes and content address (BLAKE3 of the bytes). */
export interface Decoded<T extends AnyRecord = AnyRecord> {
  readonly record: T
  readonly bytes: Uint8Array
  readonly hash: Uint8Array
}

function networkBytes(networkId: string): Uint8Array {
  let bytes = tags.get(networkId)
  if (bytes === undefined) {
    bytes = utf8(networkId)
    if (tags.size > 64) tags.clear()
    tags.set(networkId, bytes)
  }
  return bytes
}

/** The bytes every signed message of network `networkId` starts with: domain ‖ 0 ‖ network id ‖ 0. */
export function signedPrefix(networkId: string): Uint8Array {
  let prefix = prefixes.get(networkId)
  if (prefix === undefined) {
    const net = networkBytes(networkId)
    prefix = new Uint8Array(DOMAIN.length + net.length + 2)
    prefix.set(DOMAIN)
    prefix.set(net, DOMAIN.length + 1)
    if (prefixes.size > 64) prefixes.clear()
    prefixes.set(networkId, prefix)
  }
  return prefix
}

/** What the signature covers: domain ‖ 0 ‖ network id ‖ 0 ‖ the record up to its signature. */
export function signedMessage(networkId: string, body: Uint8Array): Uint8Array {
  const prefix = signedPrefix(networkId)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix)
  out.set(body, prefix.length)
  return out
}

let lastSigner: Uint8Array | undefined
let lastNodeId: Uint8Array | undefined

/** nodeIdFor with the last signer remembered: a batch usually comes from one publisher. */
function cachedNodeId(signer: Uint8Array): Uint8Array {
  if (lastSigner === undefined || lastNodeId === undefined || !equalShort(lastSigner, signer)) {
    lastSigner = signer
    lastNodeId = nodeIdFor(signer)
  }
  return lastNodeId
}

function checkShape(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new MalformedRecordError('record', 'not bytes')
  if (bytes.length > MAX_RECORD_BYTES) throw new OversizedFieldError('record', bytes.length, MAX_RECORD_BYTES)
}

/** Slabs that private copies of records are cut from (see {@link privateCopy}). */
const SLAB_BYTES = 16_384
let slab = new Uint8Array(0)
let slabUsed = 0

/**
 * A private copy of a record (at most 4,096 bytes), cut from a shared 16 KiB slab: a fresh array
 * of a record's size is an off-heap allocation in V8 (over 64 bytes), and the decoder's copy of
 * each record was a quarter of its time (bench/decode-micro.ts). A copy keeps its slab alive, so
 * a record kept long holds at most 16 KiB (as Node's own 8 KiB Buffer pool does).
 */
export function privateCopy(bytes: Uint8Array): Uint8Array {
  if (slab.length - slabUsed < bytes.length) {
    slab = new Uint8Array(SLAB_BYTES)
    slabUsed = 0
  }
  const out = slab.subarray(slabUsed, slabUsed + bytes.length)
  out.set(bytes)
  slabUsed += bytes.length
  return out
}

/** The header, after {@link checkShape} (which each entry point runs once). */
function readHeader(bytes: Uint8Array, networkTag: Uint8Array, owned: boolean): Reader {
  const r = new Reader(bytes, true, owned)
  if (!KINDS.has(r.u8('tag'))) throw new MalformedRecordError('tag', 'unknown record kind')
  if (r.u8('version') !== RECORD_VERSION) throw new MalformedRecordError('version', 'unknown version')
  if (!equalShort(r.bytes('network', 8), networkTag)) {
    throw new ArtifactRefusedError('wrong-network', 'the record belongs to another network')
  }
  return r
}

/**
 * Decodes a record of network `networkId`, refusing (typed) anything but a canonical encoding:
 * the bytes must re-encode identically (`canonical: false` skips that for bytes this node stored
 * itself). The signature is not checked here ({@link verifyDecoded}).
 */
export function decodeRecord(
  bytes: Uint8Array,
  networkId: string,
  tag: Uint8Array,
  canonical = true,
): Decoded {
  checkShape(bytes)
  return decodeFrom(bytes, networkId, tag, canonical, false)
}

/**
 * {@link decodeRecord} without the canonical re-encode, for the apply path and stored bytes: the
 * record is copied once into a slab ({@link privateCopy}) and every field is a view of that copy,
 * which is also the result's `bytes` (no array of the caller's or of LMDB's is kept). Refuses
 * exactly what decodeRecord refuses.
 */
export function decodePrivate(bytes: Uint8Array, networkId: string, tag: Uint8Array): Decoded {
  checkShape(bytes)
  return decodeFrom(privateCopy(bytes), networkId, tag, false, true)
}

function decodeFrom(
  bytes: Uint8Array,
  networkId: string,
  tag: Uint8Array,
  canonical: boolean,
  owned: boolean,
): Decoded {
  const r = readHeader(bytes, tag, owned)
  const kind = KINDS.get(bytes[0]!)!
  const fields = READERS[kind](r)
  const signer = r.bytes('signer', KEY_BYTES)
  let hlc: Timestamp
  try {
    hlc = decodeTimestamp(r.bytes('hlc', TIMESTAMP_BYTES))
  } catch (error) {
    throw new MalformedRecordError('hlc', (error as Error).message)
  }
  const signature = r.bytes('signature', SIGNATURE_BYTES)
  r.end()
  if (!equalShort(hlc.nodeId, cachedNodeId(signer))) {
    throw new MalformedRecordError('hlc', "the HLC node id is not the signer's")
  }
  // The reader's fresh object, completed in place (spreading it into a new one was a second
  // object of 14-17 fields per record); the keys keep the order the spread gave them.
  const record = fields as Record<string, unknown>
  record[kind === 'artifact' ? 'publisher' : 'operator'] = signer
  record.hlc = hlc
  record.signature = signature
  if (canonical && !equalBytes(encodeRecord(record as unknown as AnyRecord, networkId), bytes)) {
    throw new MalformedRecordError('record', 'not the canonical encoding')
  }
  return { record: record as unknown as AnyRecord, bytes, hash: blake3(bytes) }
}

/** Checks a decoded record's signature against its signer key. */
export function verifyDecoded(decoded: Decoded, networkId: string): boolean {
  const { bytes } = decoded
  const body = bytes.subarray(0, bytes.length - SIGNATURE_BYTES)
  const signer = bytes.subarray(body.length - TIMESTAMP_BYTES - KEY_BYTES, body.length - TIMESTAMP_BYTES)
  return verifySignature(signer, signedMessage(networkId, body), bytes.subarray(body.length))
}

/**
 * The item a batch verifier checks for an encoded record: views into `bytes` and the network's
 * shared {@link signedPrefix}, so nothing is copied per record (the pool packs the prefix and the
 * body side by side; the copy was part of the 10 % "packing" in bench/apply-profile.ts).
 */
export function verifyItem(bytes: Uint8Array, networkId: string): VerifyItem {
  const end = bytes.length - SIGNATURE_BYTES
  return {
    publicKey: bytes.subarray(end - TIMESTAMP_BYTES - KEY_BYTES, end - TIMESTAMP_BYTES),
    prefix: signedPrefix(networkId),
    message: bytes.subarray(0, end),
    signature: bytes.subarray(end),
  }
}

/** The HLC a signer issues at: wall time and counter, with the signer's node id. */
export type IssueTime = Pick<Timestamp, 'wallMs' | 'counter'>

function sign<T extends AnyRecord>(
  fields: Omit<T, 'signature' | 'hlc'>,
  signer: Signer,
  networkId: string,
  at: IssueTime,
): Decoded<T> {
  const hlc = { wallMs: at.wallMs, counter: at.counter, nodeId: nodeIdFor(signer.publicKey) }
  const unsigned = { ...fields, hlc, signature: new Uint8Array(SIGNATURE_BYTES) } as unknown as T
  const signature = signer.sign(signedMessage(networkId, encodeBody(unsigned, networkId)))
  const record = { ...unsigned, signature }
  const bytes = encodeRecord(record, networkId)
  return { record, bytes, hash: blake3(bytes) }
}

export type GrantInput = Omit<Grant, 'kind' | 'operator' | 'signature' | 'hlc'>
export type WithdrawalInput = Omit<Withdrawal, 'kind' | 'operator' | 'signature' | 'hlc'>
export type ScopeEpochInput = Omit<ScopeEpoch, 'kind' | 'operator' | 'signature' | 'hlc'>

export function signGrant(
  input: GrantInput,
  operator: Signer,
  networkId: string,
  at: IssueTime,
): Decoded<Grant> {
  const scopes = [...input.scopes].sort()
  return sign<Grant>(
    { ...input, scopes, kind: 'grant', operator: operator.publicKey },
    operator,
    networkId,
    at,
  )
}

export function signWithdrawal(input: WithdrawalInput, operator: Signer, networkId: string, at: IssueTime) {
  return sign<Withdrawal>(
    { ...input, kind: 'withdrawal', operator: operator.publicKey },
    operator,
    networkId,
    at,
  )
}

export function signScopeEpoch(input: ScopeEpochInput, operator: Signer, networkId: string, at: IssueTime) {
  return sign<ScopeEpoch>(
    { ...input, kind: 'scope-epoch', operator: operator.publicKey },
    operator,
    networkId,
    at,
  )
}

/** What a publisher fills in; content over MAX_INLINE_BYTES needs the blob id it is stored under. */
export interface ArtifactInput {
  scope: string
  family: string
  name: string
  version: bigint
  epoch: bigint
  base?: bigint | undefined
  expiresAt?: number | undefined
  tombstone?: boolean
  content?: Uint8Array
  blobId?: Uint8Array
}

export function signArtifact(input: ArtifactInput, publisher: Signer, networkId: string, at: IssueTime) {
  const content = input.tombstone ? new Uint8Array(0) : (input.content ?? new Uint8Array(0))
  const inline = !input.tombstone && content.length <= MAX_INLINE_BYTES
  const blob =
    !input.tombstone && !inline ? { id: input.blobId ?? new Uint8Array(0), size: content.length } : undefined
  const fields: Omit<Artifact, 'signature' | 'hlc'> = {
    kind: 'artifact',
    ...{
      scope: input.scope,
      family: input.family,
      name: input.name,
      version: input.version,
      epoch: input.epoch,
    },
    ...{ base: input.base, expiresAt: input.expiresAt, tombstone: input.tombstone === true },
    ...{
      contentHash: blake3(content),
      contentSize: content.length,
      content: inline ? content : undefined,
      blob,
    },
    publisher: publisher.publicKey,
  }
  return sign<Artifact>(fields, publisher, networkId, at)
}
