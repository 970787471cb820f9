import { toHex } from '../bytes.js'
import { utf8 } from '../codec/text.js'
import { Reader } from '../codec/wire.js'
import { OversizedFieldError } from '../errors.js'
import { compareVersions, type Version } from '../select.js'
import type { Context } from './context.js'
import { parseViewKey } from './db.js'

/** Why the view changed: an applied batch, an operator record, a revocation refresh, a dropped scope. */
export type ViewCause =
  | { readonly type: 'apply'; readonly from: string }
  | { readonly type: 'operator'; readonly record: string }
  | { readonly type: 'refresh'; readonly publisher: string }
  | { readonly type: 'drop-scope'; readonly scope: string }
  | { readonly type: 'prune'; readonly family: string }
  | { readonly type: 'trust' }

export type ViewChangeKind = 'advance' | 'fallback' | 'restore' | 'drop'

/** One change of a current version, append-only, as durability's history. */
export interface ViewChange {
  readonly seq: number
  readonly scope: string
  readonly family: string
  readonly name: string
  readonly kind: ViewChangeKind
  /** Record hashes (hex) of the winner before and after; null for none. */
  readonly before: string | null
  readonly after: string | null
  readonly cause: ViewCause
  /** This node's wall clock when the change was made. */
  readonly atMs: number
}

export function classifyChange(
  before: Version | undefined,
  after: Version | undefined,
  cause: ViewCause,
): ViewChangeKind {
  if (cause.type === 'drop-scope' || cause.type === 'prune') return 'drop'
  if (after === undefined) return 'fallback'
  if (before !== undefined && compareVersions(after, before) > 0) return 'fallback'
  return cause.type === 'apply' ? 'advance' : 'restore'
}

const KINDS: readonly ViewChangeKind[] = ['advance', 'fallback', 'restore', 'drop']
const CAUSES: readonly ViewCause['type'][] = ['apply', 'operator', 'refresh', 'drop-scope', 'prune', 'trust']

function causeDetail(cause: ViewCause): string {
  switch (cause.type) {
    case 'apply':
      return cause.from
    case 'operator':
      return cause.record
    case 'refresh':
      return cause.publisher
    case 'drop-scope':
      return cause.scope
    case 'prune':
      return cause.family
    case 'trust':
      return ''
  }
}

function causeOf(type: ViewCause['type'], detail: string): ViewCause {
  const field = {
    apply: 'from',
    operator: 'record',
    refresh: 'publisher',
    'drop-scope': 'scope',
    prune: 'family',
  }
  return (type === 'trust' ? { type } : { type, [field[type]]: detail }) as ViewCause
}

/** The last cause's detail bytes: a batch writes one cause for every change it makes. */
let lastCause: ViewCause | undefined
let lastDetail: Uint8Array = new Uint8Array(0)

function detailBytes(cause: ViewCause): Uint8Array {
  if (cause !== lastCause) {
    lastDetail = utf8(causeDetail(cause))
    lastCause = cause
  }
  return lastDetail
}

/** Where each change is encoded: lmdb-js copies a value when it puts it, so one buffer serves all. */
let changeScratch = new Uint8Array(1024)

/**
 * A view change as stored: kind, cause type, wall ms, before and after hashes (flag + 32 bytes),
 * the view key and the cause's detail (each u16-length-prefixed). Written into a reused buffer: a
 * growing Writer (a fresh 512-byte buffer per change), then one of the exact size, showed in the
 * apply profile. Valid until the next call.
 */
function encodeChange(
  kind: ViewChangeKind,
  cause: ViewCause,
  atMs: number,
  view: Uint8Array,
  before?: Version,
  after?: Version,
) {
  const detail = detailBytes(cause)
  if (view.length > 0xffff) throw new OversizedFieldError('view', view.length, 0xffff)
  if (detail.length > 0xffff) throw new OversizedFieldError('cause', detail.length, 0xffff)
  const size =
    10 + (before === undefined ? 1 : 33) + (after === undefined ? 1 : 33) + 4 + view.length + detail.length
  if (changeScratch.length < size) changeScratch = new Uint8Array(2 * size)
  const out = changeScratch.subarray(0, size)
  out[0] = KIND_CODES[kind]
  out[1] = CAUSE_CODES[cause.type]
  // The wall ms as a big-endian u64 without a BigInt or a DataView (both showed per change).
  writeU32(out, 2, Math.floor(atMs / 2 ** 32))
  writeU32(out, 6, atMs >>> 0)
  let at = writeHash(out, 10, before)
  at = writeHash(out, at, after)
  at = writeShort(out, at, view)
  writeShort(out, at, detail)
  return out
}

const KIND_CODES = Object.fromEntries(KINDS.map((k, i) => [k, i])) as Record<ViewChangeKind, number>
const CAUSE_CODES = Object.fromEntries(CAUSES.map((c, i) => [c, i])) as Record<ViewCause['type'], number>

function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24
  out[at + 1] = value >>> 16
  out[at + 2] = value >>> 8
  out[at + 3] = value
}

/** A flag byte, then the version's 32-byte hash when there is one. Returns the next offset. */
function writeHash(out: Uint8Array, at: number, v: Version | undefined): number {
  if (v === undefined) {
    out[at] = 0
    return at + 1
  }
  out[at] = 1
  out.set(v.hash, at + 1)
  return at + 33
}

function writeShort(out: Uint8Array, at: number, field: Uint8Array): number {
  out[at] = field.length >>> 8
  out[at + 1] = field.length
  out.set(field, at + 2)
  return at + 2 + field.length
}

function decodeChange(seq: number, bytes: Uint8Array): ViewChange {
  const r = new Reader(bytes)
  const kind = KINDS[r.u8('kind')]!
  const type = CAUSES[r.u8('cause')]!
  const atMs = Number(r.u64('atMs'))
  const [before, after] = [0, 1].map(() => (r.u8('hash') === 1 ? toHex(r.bytes('hash', 32)) : null))
  const view = parseViewKey(r.short('view', 0xffff))
  const detail = new TextDecoder().decode(r.short('cause', 0xffff))
  return { seq, ...view, kind, before: before!, after: after!, cause: causeOf(type, detail), atMs }
}

/** Appends a view change; call inside the write transaction that made it. */
export function appendChange(
  ctx: Context,
  view: Uint8Array,
  before: Version | undefined,
  after: Version | undefined,
  cause: ViewCause,
): void {
  const seq = ++ctx.seq
  const kind = classifyChange(before, after, cause)
  ctx.dbs.history.putSync(seq, encodeChange(kind, cause, ctx.wallClock(), view, before, after))
}

export function changesSince(ctx: Context, since = 0, limit = 1000): ViewChange[] {
  const out: ViewChange[] = []
  for (const { key, value } of ctx.dbs.history.getRange({ start: since + 1, limit })) {
    out.push(decodeChange(key, value))
  }
  return out
}
