import { blake3, networkTag } from '@provsync/crdt'
import { encodeTimestamp } from '@provsync/hlc'
import { equalShort } from '../bytes.js'
import { MalformedRecordError, OversizedFieldError } from '../errors.js'
import { checkScope, MAX_SCOPE_LENGTH } from '../scope.js'
import { checkText, readText, utf8 } from './text.js'
import {
  type AnyRecord,
  type Artifact,
  type Grant,
  type RecordKind,
  RIGHTS,
  type Right,
  type ScopeEpoch,
  signerOf,
  type Withdrawal,
} from './types.js'
import { type Reader, Writer } from './wire.js'

export const RECORD_VERSION = 1
/** A whole encoded record is at most this many bytes (as crdt's records). */
export const MAX_RECORD_BYTES = 4096
/** Content up to this size travels inside the record; larger content is a blob reference. */
export const MAX_INLINE_BYTES = 2048
export const MAX_NAME_BYTES = 256
export const MAX_REASON_BYTES = 256
export const MAX_GRANT_SCOPES = 16
export const MAX_U64 = 2n ** 64n - 1n
export const KEY_BYTES = 32
const KEY = KEY_BYTES
const HASH = 32
export const SIGNATURE_BYTES = 64
const SIG = SIGNATURE_BYTES
const FAMILY = /^[a-z0-9_]{1,64}$/
const TAGS: Record<RecordKind, number> = {
  grant: 0x10,
  withdrawal: 0x11,
  'scope-epoch': 0x12,
  artifact: 0x13,
}
export const KINDS = new Map<number, RecordKind>(Object.entries(TAGS).map(([k, v]) => [v, k as RecordKind]))
export const EMPTY_HASH = blake3(new Uint8Array(0))

// Artifact flag bits; the rest must be zero.
const HAS_BASE = 1
const HAS_EXPIRY = 2
const TOMBSTONE = 4
const INLINE = 8
const BLOB = 16

export function checkFamily(family: string): string {
  if (typeof family !== 'string' || !FAMILY.test(family)) {
    throw new MalformedRecordError('family', 'expected 1-64 of a-z 0-9 _')
  }
  return family
}

function checkU64(field: string, value: bigint): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_U64) {
    throw new MalformedRecordError(field, 'expected a u64 bigint')
  }
  return value
}

function checkMs(field: string, value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new MalformedRecordError(field, 'expected ms >= 0')
  return BigInt(value)
}

function readMs(reader: Reader, field: string): number {
  const v = reader.u64(field)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedRecordError(field, 'beyond safe integer')
  return Number(v)
}

function checkKey(field: string, key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY)
    throw new MalformedRecordError(field, 'expected 32 bytes')
  return key
}

function text(field: string, value: string, min: number, max: number): Uint8Array {
  try {
    return checkText(field, value, min, max)
  } catch (error) {
    throw new MalformedRecordError(field, (error as Error).message)
  }
}

function readTextField(reader: Reader, field: string, min: number, max: number): string {
  return readTextOf(reader.short(field, max), field, min, max)
}

function readTextOf(bytes: Uint8Array, field: string, min: number, max: number): string {
  try {
    return readText(field, bytes, min, max)
  } catch (error) {
    throw new MalformedRecordError(field, (error as Error).message)
  }
}

function scopeBytes(field: string, scope: string): Uint8Array {
  try {
    return utf8(checkScope(scope))
  } catch (error) {
    throw new MalformedRecordError(field, (error as Error).message)
  }
}

const latin1 = new TextDecoder('latin1')

/**
 * The last few scope and family fields decoded, with the strings they checked as: a batch's
 * artifacts share a handful of scopes and families, and decoding each one again (a TextDecoder
 * call, then the grammar's split and regular expressions) was a third of the decoder's time
 * (bench/decode-micro.ts). A field whose bytes equal a remembered one is the same string, which
 * passed the same check, so what is accepted does not change.
 */
class CheckedMemo {
  private readonly bytes: Uint8Array[] = []
  private readonly texts: string[] = []
  private next = 0

  constructor(private readonly size: number) {}

  find(field: Uint8Array): string | undefined {
    for (let k = 0; k < this.bytes.length; k++) if (equalShort(this.bytes[k]!, field)) return this.texts[k]
    return undefined
  }

  remember(field: Uint8Array, text: string): string {
    // A copy: `field` may be a view of a buffer the caller reuses.
    this.bytes[this.next] = Uint8Array.from(field)
    this.texts[this.next] = text
    this.next = (this.next + 1) % this.size
    return text
  }
}

const scopeMemo = new CheckedMemo(8)
const familyMemo = new CheckedMemo(4)

/** Scopes and families are ASCII: a byte outside the grammar fails the check, whatever it decodes to. */
function readScope(reader: Reader, field: string): string {
  const bytes = reader.short(field, MAX_SCOPE_LENGTH)
  const known = scopeMemo.find(bytes)
  if (known !== undefined) return known
  const scope = latin1.decode(bytes)
  try {
    return scopeMemo.remember(bytes, checkScope(scope))
  } catch (error) {
    throw new MalformedRecordError(field, (error as Error).message)
  }
}

function readFamily(reader: Reader): string {
  const bytes = reader.short('family', 64)
  return familyMemo.find(bytes) ?? familyMemo.remember(bytes, checkFamily(latin1.decode(bytes)))
}

/**
 * A name of printable ASCII (0x20-0x7e) is canonical text as it stands (valid UTF-8, no control
 * character, BOM or surrogate, NFC): its string is built here, without the UTF-8 decoder, two
 * regular expressions and an NFC normalization (the other third of the decoder's time). Any
 * other byte, or a length out of bounds, goes through the full check.
 */
function readName(reader: Reader): string {
  const bytes = reader.short('name', MAX_NAME_BYTES)
  if (bytes.length < 1 || bytes.length > 64) return readTextOf(bytes, 'name', 1, MAX_NAME_BYTES)
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!
    if (c < 0x20 || c > 0x7e) return readTextOf(bytes, 'name', 1, MAX_NAME_BYTES)
  }
  // One flat string (appending a character at a time built a rope of up to 64 pieces).
  return String.fromCharCode.apply(null, bytes as unknown as number[])
}

function rightCode(right: Right): number {
  const code = RIGHTS.indexOf(right)
  if (code < 0) throw new MalformedRecordError('right', `unknown right ${String(right)}`)
  return code
}

function readRight(reader: Reader): Right {
  const right = RIGHTS[reader.u8('right')]
  if (right === undefined) throw new MalformedRecordError('right', 'unknown right')
  return right
}

function writeGrant(w: Writer, g: Grant): void {
  w.bytes(checkKey('subject', g.subject)).u8(rightCode(g.right)).u64(checkU64('epoch', g.epoch))
  w.u8(g.expiresAt === undefined ? 0 : 1)
  if (g.expiresAt !== undefined) w.u64(checkMs('expiresAt', g.expiresAt))
  const min = g.right === 'member' ? 0 : 1
  if (g.scopes.length < min || g.scopes.length > MAX_GRANT_SCOPES) {
    throw new MalformedRecordError('scopes', `expected ${min}..${MAX_GRANT_SCOPES} scopes`)
  }
  w.u8(g.scopes.length)
  g.scopes.forEach((scope, i) => {
    if (i > 0 && !(g.scopes[i - 1]! < scope))
      throw new MalformedRecordError('scopes', 'not sorted and distinct')
    w.short('scope', scopeBytes('scope', scope), MAX_SCOPE_LENGTH)
  })
}

function readGrant(r: Reader): Omit<Grant, 'hlc' | 'signature' | 'operator'> {
  const subject = r.bytes('subject', KEY)
  const right = readRight(r)
  const epoch = r.u64('epoch')
  const hasExpiry = r.u8('expiresAt')
  if (hasExpiry > 1) throw new MalformedRecordError('expiresAt', 'bad flag')
  const expiresAt = hasExpiry === 1 ? readMs(r, 'expiresAt') : undefined
  const count = r.u8('scopes')
  if (count < (right === 'member' ? 0 : 1) || count > MAX_GRANT_SCOPES) {
    throw new MalformedRecordError('scopes', 'bad count')
  }
  const scopes: string[] = []
  for (let i = 0; i < count; i++) {
    const scope = readScope(r, 'scope')
    if (i > 0 && !(scopes[i - 1]! < scope))
      throw new MalformedRecordError('scopes', 'not sorted and distinct')
    scopes.push(scope)
  }
  return { kind: 'grant', subject, right, epoch, expiresAt, scopes }
}

function writeWithdrawal(w: Writer, x: Withdrawal): void {
  w.bytes(checkKey('subject', x.subject)).u8(rightCode(x.right)).u64(checkU64('epoch', x.epoch))
  w.short('reason', text('reason', x.reason, 0, MAX_REASON_BYTES), MAX_REASON_BYTES)
}

function readWithdrawal(r: Reader): Omit<Withdrawal, 'hlc' | 'signature' | 'operator'> {
  const subject = r.bytes('subject', KEY)
  const right = readRight(r)
  const epoch = r.u64('epoch')
  const reason = readTextField(r, 'reason', 0, MAX_REASON_BYTES)
  return { kind: 'withdrawal', subject, right, epoch, reason }
}

function writeScopeEpoch(w: Writer, s: ScopeEpoch): void {
  w.short('scope', scopeBytes('scope', s.scope), MAX_SCOPE_LENGTH).u64(checkU64('minEpoch', s.minEpoch))
}

function readScopeEpoch(r: Reader): Omit<ScopeEpoch, 'hlc' | 'signature' | 'operator'> {
  const scope = readScope(r, 'scope')
  return { kind: 'scope-epoch', scope, minEpoch: r.u64('minEpoch') }
}

function artifactFlags(a: Artifact): number {
  let flags = 0
  if (a.base !== undefined) flags |= HAS_BASE
  if (a.expiresAt !== undefined) flags |= HAS_EXPIRY
  if (a.tombstone) flags |= TOMBSTONE
  if (a.content !== undefined) flags |= INLINE
  if (a.blob !== undefined) flags |= BLOB
  return flags
}

/** The content rules that make one encoding per artifact: small content inline, large by blob. */
function checkContentShape(flags: number, size: number): void {
  const kind = flags & (INLINE | BLOB)
  if (flags & TOMBSTONE) {
    if (kind !== 0 || size !== 0) throw new MalformedRecordError('content', 'a tombstone has no content')
  } else if (kind === INLINE) {
    if (size > MAX_INLINE_BYTES) throw new OversizedFieldError('content', size, MAX_INLINE_BYTES)
  } else if (kind === BLOB) {
    if (size <= MAX_INLINE_BYTES) throw new MalformedRecordError('blob', 'small content must be inline')
  } else {
    throw new MalformedRecordError('content', 'expected inline content or a blob reference')
  }
}

function writeArtifact(w: Writer, a: Artifact): void {
  const flags = artifactFlags(a)
  checkContentShape(flags, a.contentSize)
  w.short('scope', scopeBytes('scope', a.scope), MAX_SCOPE_LENGTH)
  w.short('family', utf8(checkFamily(a.family)), 64)
  w.short('name', text('name', a.name, 1, MAX_NAME_BYTES), MAX_NAME_BYTES)
  w.u64(checkU64('version', a.version)).u64(checkU64('epoch', a.epoch)).u8(flags)
  if (a.base !== undefined) w.u64(checkU64('base', a.base))
  if (a.expiresAt !== undefined) w.u64(checkMs('expiresAt', a.expiresAt))
  if (!(a.contentHash instanceof Uint8Array) || a.contentHash.length !== HASH) {
    throw new MalformedRecordError('contentHash', 'expected 32 bytes')
  }
  w.bytes(a.contentHash).u64(checkMs('contentSize', a.contentSize))
  if (a.content !== undefined) {
    if (a.content.length !== a.contentSize) throw new MalformedRecordError('content', 'size mismatch')
    w.bytes(a.content)
  }
  if (a.blob !== undefined) {
    if (a.blob.size !== a.contentSize) throw new MalformedRecordError('blob', 'size mismatch')
    w.bytes(checkKey('blob', a.blob.id))
  }
}

function readArtifact(r: Reader): Omit<Artifact, 'hlc' | 'signature' | 'publisher'> {
  const scope = readScope(r, 'scope')
  const family = readFamily(r)
  const name = readName(r)
  const version = r.u64('version')
  const epoch = r.u64('epoch')
  const flags = r.u8('flags')
  if (flags & ~(HAS_BASE | HAS_EXPIRY | TOMBSTONE | INLINE | BLOB))
    throw new MalformedRecordError('flags', 'reserved bit')
  const base = flags & HAS_BASE ? r.u64('base') : undefined
  const expiresAt = flags & HAS_EXPIRY ? readMs(r, 'expiresAt') : undefined
  const contentHash = r.bytes('contentHash', HASH)
  const contentSize = readMs(r, 'contentSize')
  checkContentShape(flags, contentSize)
  const content = flags & INLINE ? r.bytes('content', contentSize) : undefined
  const blob = flags & BLOB ? { id: r.bytes('blob', KEY), size: contentSize } : undefined
  const tombstone = (flags & TOMBSTONE) !== 0
  // One literal (two spread literals built two objects more per record; the apply profile).
  // biome-ignore format: the fields in their encoded order
  return { kind: 'artifact', scope, family, name, version, epoch, base, expiresAt, tombstone, contentHash, contentSize, content, blob }
}

const WRITERS: { [K in RecordKind]: (w: Writer, record: never) => void } = {
  grant: writeGrant as (w: Writer, r: never) => void,
  withdrawal: writeWithdrawal as (w: Writer, r: never) => void,
  'scope-epoch': writeScopeEpoch as (w: Writer, r: never) => void,
  artifact: writeArtifact as (w: Writer, r: never) => void,
}
export const READERS: { [K in RecordKind]: (r: Reader) => object } = {
  grant: readGrant,
  withdrawal: readWithdrawal,
  'scope-epoch': readScopeEpoch,
  artifact: readArtifact,
}

/** The encoding up to (not including) the signature: what is signed. */
export function encodeBody(record: AnyRecord, networkId: string): Uint8Array {
  const w = new Writer()
  w.u8(TAGS[record.kind]).u8(RECORD_VERSION).bytes(networkTag(networkId))
  WRITERS[record.kind](w, record as never)
  w.bytes(checkKey('signer', signerOf(record))).bytes(encodeTimestamp(record.hlc))
  return w.finish()
}

/** The canonical encoding of a signed record. */
export function encodeRecord(record: AnyRecord, networkId: string): Uint8Array {
  const body = encodeBody(record, networkId)
  if (!(record.signature instanceof Uint8Array) || record.signature.length !== SIG) {
    throw new MalformedRecordError('signature', 'expected 64 bytes')
  }
  const size = body.length + SIG
  if (size > MAX_RECORD_BYTES) throw new OversizedFieldError('record', size, MAX_RECORD_BYTES)
  const out = new Uint8Array(size)
  out.set(body)
  out.set(record.signature, body.length)
  return out
}

/** The kind of an encoded record from its tag byte, or undefined. */
export function recordKindOf(bytes: Uint8Array): RecordKind | undefined {
  return KINDS.get(bytes[0] ?? -1)
}
