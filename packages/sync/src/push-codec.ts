/**
 * Frames of the push protocol (`/provsync/push/1.0.0`) after its Hello/Welcome handshake, which
 * is the reconcile protocol's. The pusher sends `push` frames (a store and its new records); the
 * receiver answers on the same stream with `prune` (stop pushing to me: your records reach me
 * another way) and `graft` (push to me again). One encoding per message: the decoder refuses
 * anything its encoder would not write (overlong varints, trailing bytes, empty batches).
 *
 *   push  = 0x01 varint(len(store)) store-utf8 varint(n >= 1) n × (varint(len) record)
 *   prune = 0x02
 *   graft = 0x03
 */
import { MalformedFrameError } from './errors.js'

export type PushMessage =
  | { type: 'push'; store: string; records: Uint8Array[] }
  | { type: 'prune' }
  | { type: 'graft' }

const PUSH = 0x01
const PRUNE = 0x02
const GRAFT = 0x03
/** Store names are short ASCII words ("assertions"); a longer one is not a store. */
export const MAX_PUSH_STORE_BYTES = 64

/** A push frame that is not the one encoding of a push message; `problem` names what is wrong. */
export class PushFrameError extends MalformedFrameError {
  static override name = 'PushFrameError'
  override name = 'PushFrameError'
  constructor(
    readonly problem: 'empty' | 'unknown-type' | 'varint' | 'truncated' | 'trailing' | 'store' | 'count',
  ) {
    super(`malformed push frame: ${problem}`)
  }
}

function varintLength(value: number): number {
  let n = 1
  for (let v = value; v >= 0x80; v >>>= 7) n++
  return n
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  let v = value
  let i = at
  while (v >= 0x80) {
    out[i++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  out[i++] = v
  return i
}

/** Bytes one record adds to a push frame. */
export function pushRecordCost(record: Uint8Array): number {
  return varintLength(record.byteLength) + record.byteLength
}

/** Bytes of a push frame's header for `store` and `count` records. */
export function pushHeaderCost(store: string, count: number): number {
  const name = new TextEncoder().encode(store)
  return 1 + varintLength(name.byteLength) + name.byteLength + varintLength(count)
}

export function encodePush(message: PushMessage): Uint8Array {
  if (message.type === 'prune') return Uint8Array.of(PRUNE)
  if (message.type === 'graft') return Uint8Array.of(GRAFT)
  const name = new TextEncoder().encode(message.store)
  let size = 1 + varintLength(name.byteLength) + name.byteLength + varintLength(message.records.length)
  for (const record of message.records) size += pushRecordCost(record)
  const out = new Uint8Array(size)
  out[0] = PUSH
  let at = writeVarint(out, 1, name.byteLength)
  out.set(name, at)
  at = writeVarint(out, at + name.byteLength, message.records.length)
  for (const record of message.records) {
    at = writeVarint(out, at, record.byteLength)
    out.set(record, at)
    at += record.byteLength
  }
  return out
}

class Reader {
  at = 1
  constructor(private readonly bytes: Uint8Array) {}

  varint(): number {
    let value = 0
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.bytes[this.at++]
      if (byte === undefined) throw new PushFrameError('truncated')
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) {
        // Canonical: no trailing zero group (0x80 0x00 for 0) and within 32 bits.
        if ((byte === 0 && shift > 0) || value > 0xffffffff) throw new PushFrameError('varint')
        return value
      }
    }
    throw new PushFrameError('varint')
  }

  take(length: number): Uint8Array {
    if (this.at + length > this.bytes.byteLength) throw new PushFrameError('truncated')
    const out = this.bytes.subarray(this.at, this.at + length)
    this.at += length
    return out
  }

  get done(): boolean {
    return this.at === this.bytes.byteLength
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

export function decodePush(frame: Uint8Array): PushMessage {
  const type = frame[0]
  if (type === undefined) throw new PushFrameError('empty')
  if (type === PRUNE || type === GRAFT) {
    if (frame.byteLength !== 1) throw new PushFrameError('trailing')
    return { type: type === PRUNE ? 'prune' : 'graft' }
  }
  if (type !== PUSH) throw new PushFrameError('unknown-type')
  const reader = new Reader(frame)
  const nameLength = reader.varint()
  if (nameLength === 0 || nameLength > MAX_PUSH_STORE_BYTES) throw new PushFrameError('store')
  let store: string
  try {
    store = utf8.decode(reader.take(nameLength))
  } catch (err) {
    if (err instanceof PushFrameError) throw err
    throw new PushFrameError('store')
  }
  if (!/^[a-z][a-z-]*$/.test(store)) throw new PushFrameError('store')
  const count = reader.varint()
  if (count === 0) throw new PushFrameError('count')
  const records: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const length = reader.varint()
    // A record is never empty; each costs at least its length byte, so a huge count fails fast.
    if (length === 0) throw new PushFrameError('count')
    records.push(reader.take(length).slice())
  }
  if (!reader.done) throw new PushFrameError('trailing')
  return { type: 'push', store, records }
}
