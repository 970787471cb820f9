/**
 * Frames of `/provsync/artifacts/1.0.0`: a type byte, then big-endian fields (u16-length byte
 * strings), decoded strictly (every field bounded, no trailing bytes), so a frame has exactly one
 * encoding and anything else is a `malformed-frame` offence of the sender.
 */
import { MAX_RECORD_BYTES } from '../codec/records.js'
import { Reader, Writer } from '../codec/wire.js'
import { ArtifactRefusedError } from '../errors.js'
import { isScope } from '../scope.js'
import { MAX_KEYS_PER_WANT, MAX_SCOPES_PER_FRAME } from './constants.js'

/** The operator tree travels under this scope name (no real scope is empty). */
export const OPERATOR_SCOPE = ''

export type ArtifactMessage =
  | { type: 'hello'; version: number; networkId: string; bundleVersion: bigint; credential?: Uint8Array }
  | { type: 'welcome'; version: number; credential?: Uint8Array }
  | { type: 'refusal'; code: string; message: string }
  | { type: 'reconcile'; scope: string; payload: Uint8Array }
  | { type: 'scopes'; scopes: Array<{ scope: string; root: Uint8Array }> }
  | { type: 'want'; scope: string; all: boolean; keys: Uint8Array[] }
  | { type: 'records'; scope: string; last: boolean; records: Uint8Array[] }
  | { type: 'end' }

const TYPES = ['hello', 'welcome', 'refusal', 'reconcile', 'scopes', 'want', 'records', 'end'] as const
const MAX_TEXT = 1024
const MAX_PAYLOAD = 0xffff
const KEY_BYTES = 32
const text = new TextEncoder()
const strictText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A frame that does not decode (or a text field that is not canonical UTF-8 / not a scope). */
export class MalformedArtifactFrameError extends Error {
  override name = 'MalformedArtifactFrameError'
}

function writeText(w: Writer, field: string, value: string): void {
  w.short(field, text.encode(value), MAX_TEXT)
}

function writeScope(w: Writer, scope: string): void {
  writeText(w, 'scope', scope)
}

function writeOptional(w: Writer, value: Uint8Array | undefined): void {
  w.short('credential', value ?? new Uint8Array(0), MAX_RECORD_BYTES)
}

export function encodeArtifactMessage(m: ArtifactMessage): Uint8Array {
  const w = new Writer().u8(TYPES.indexOf(m.type) + 1)
  switch (m.type) {
    case 'hello':
      writeText(w.u8(m.version), 'network id', m.networkId)
      writeOptional(w.u64(m.bundleVersion), m.credential)
      break
    case 'welcome':
      writeOptional(w.u8(m.version), m.credential)
      break
    case 'refusal':
      writeText(w, 'code', m.code)
      writeText(w, 'message', m.message)
      break
    case 'reconcile':
      writeScope(w, m.scope)
      w.short('payload', m.payload, MAX_PAYLOAD)
      break
    case 'scopes':
      w.u16(m.scopes.length)
      for (const s of m.scopes) {
        writeScope(w, s.scope)
        w.bytes(s.root)
      }
      break
    case 'want':
      writeScope(w, m.scope)
      w.u8(m.all ? 1 : 0).u16(m.keys.length)
      for (const k of m.keys) w.bytes(k)
      break
    case 'records':
      writeScope(w, m.scope)
      w.u8(m.last ? 1 : 0).u16(m.records.length)
      for (const r of m.records) w.short('record', r, MAX_RECORD_BYTES)
      break
    case 'end':
      break
  }
  return w.finish()
}

/** Decodes one frame; MalformedArtifactFrameError for anything but a canonical encoding. */
export function decodeArtifactMessage(bytes: Uint8Array): ArtifactMessage {
  try {
    const r = new Reader(bytes)
    const type = TYPES[r.u8('type') - 1]
    if (type === undefined) throw new MalformedArtifactFrameError('unknown frame type')
    const message = decodeBody(type, r)
    r.end()
    return message
  } catch (err) {
    if (err instanceof MalformedArtifactFrameError) throw err
    if (err instanceof ArtifactRefusedError) throw new MalformedArtifactFrameError(err.message)
    throw err
  }
}

function decodeBody(type: (typeof TYPES)[number], r: Reader): ArtifactMessage {
  switch (type) {
    case 'hello': {
      const version = r.u8('version')
      const networkId = readText(r, 'network id')
      const bundleVersion = r.u64('bundle version')
      return { type, version, networkId, bundleVersion, ...optional(r) }
    }
    case 'welcome':
      return { type, version: r.u8('version'), ...optional(r) }
    case 'refusal':
      return { type, code: readText(r, 'code'), message: readText(r, 'message') }
    case 'reconcile':
      return { type, scope: readScope(r), payload: r.short('payload', MAX_PAYLOAD) }
    case 'scopes':
      return { type, scopes: readScopes(r) }
    case 'want': {
      const scope = readScope(r)
      const all = readFlag(r, 'all')
      const keys = readCount(r, MAX_KEYS_PER_WANT).map(() => r.bytes('key', KEY_BYTES))
      if (all && keys.length > 0) throw new MalformedArtifactFrameError('want of all records names keys')
      return { type, scope, all, keys }
    }
    case 'records': {
      const scope = readScope(r)
      const last = readFlag(r, 'last')
      const records = readCount(r, 0xffff).map(() => r.short('record', MAX_RECORD_BYTES))
      return { type, scope, last, records }
    }
    case 'end':
      return { type }
  }
}

function readScopes(r: Reader): Array<{ scope: string; root: Uint8Array }> {
  const out = readCount(r, MAX_SCOPES_PER_FRAME).map(() => {
    const scope = readScope(r)
    if (scope === OPERATOR_SCOPE) throw new MalformedArtifactFrameError('scope list names the operator tree')
    return { scope, root: r.bytes('root', KEY_BYTES) }
  })
  for (let i = 1; i < out.length; i++) {
    if (out[i - 1]!.scope >= out[i]!.scope) throw new MalformedArtifactFrameError('scopes not sorted')
  }
  return out
}

function readCount(r: Reader, max: number): undefined[] {
  const n = r.u16('count')
  if (n > max) throw new MalformedArtifactFrameError(`${n} items, at most ${max}`)
  return new Array(n).fill(undefined)
}

function readFlag(r: Reader, field: string): boolean {
  const v = r.u8(field)
  if (v > 1) throw new MalformedArtifactFrameError(`${field} is not 0 or 1`)
  return v === 1
}

function readText(r: Reader, field: string): string {
  const bytes = r.short(field, MAX_TEXT)
  let value: string
  try {
    value = strictText.decode(bytes)
  } catch {
    throw new MalformedArtifactFrameError(`${field} is not UTF-8`)
  }
  if (value.normalize('NFC') !== value) throw new MalformedArtifactFrameError(`${field} is not NFC`)
  return value
}

function readScope(r: Reader): string {
  const scope = readText(r, 'scope')
  if (scope !== OPERATOR_SCOPE && !isScope(scope)) throw new MalformedArtifactFrameError('not a scope')
  return scope
}

function optional(r: Reader): { credential?: Uint8Array } {
  const bytes = r.short('credential', MAX_RECORD_BYTES)
  return bytes.length === 0 ? {} : { credential: bytes }
}
