/**
 * Frames of the push protocol (`/provsync/push/1.0.0`) after its Hello/Welcome handshake, which
 * is the reconcile protocol's. The pusher sends `push` frames (a store and its new records); the
 * receiver answers on the same stream with `prune` (stop pushing to me: your records reach me
 * another way) and `graft` (push to me again). Records a node pulled go to its eager neighbours
 * as `ihave` (tree key and the first 8 bytes of the leaf's value hash), and the neighbour asks for
 * those it lacks with `iwant`, answered by pushes: a pulled record is most often pulled by the
 * neighbours too (after a partition heals every node pulls), so sending it whole would mostly
 * duplicate it. One encoding per message: the decoder refuses anything its encoder would not
 * write (overlong varints, trailing bytes, empty lists).
 *
 *   push  = 0x01 store varint(n >= 1) n × (varint(len >= 1) record)
 *   prune = 0x02
 *   graft = 0x03
 *   ihave = 0x04 store varint(n >= 1) n × (varint(len >= 1) key, 8-byte value prefix)
 *   iwant = 0x05 store varint(n >= 1) n × (varint(len >= 1) key)
 *   store = varint(len 1..64) lowercase ASCII name
 */
import { MalformedFrameError } from './errors.js'

export type PushMessage =
  | { type: 'push'; store: string; records: Uint8Array[] }
  | { type: 'prune' }
  | { type: 'graft' }
  | { type: 'ihave'; store: string; entries: Array<{ key: Uint8Array; prefix: Uint8Array }> }
  | { type: 'iwant'; store: string; keys: Uint8Array[] }

const PUSH = 0x01
/** The first byte of a push frame (a record batch). */
export const PUSH_TYPE = PUSH
const PRUNE = 0x02
const GRAFT = 0x03
const IHAVE = 0x04
const IWANT = 0x05
/** Bytes of a leaf's value hash an `ihave` carries: enough to tell an older run from the one announced. */
export const VALUE_PREFIX_BYTES = 8
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

const encoder = new TextEncoder()
/**
 * The UTF-8 of each store name, encoded once. Packing asks the header's cost once per record, and
 * a new `TextEncoder` and an encode per ask were 0.5 % of a node thread of the 32-node simulation
 * (push-7 profile, session 17). Names are the node's own stores; the cap only bounds a misuse.
 */
const names = new Map<string, Uint8Array>()
function nameBytes(store: string): Uint8Array {
  let name = names.get(store)
  if (name === undefined) {
    name = encoder.encode(store)
    if (names.size < 64) names.set(store, name)
  }
  return name
}

/** Bytes of a push frame's header for `store` and `count` records. */
export function pushHeaderCost(store: string, count: number): number {
  const length = nameBytes(store).byteLength
  return 1 + varintLength(length) + length + varintLength(count)
}

export function encodePush(message: PushMessage): Uint8Array {
  if (message.type === 'prune') return Uint8Array.of(PRUNE)
  if (message.type === 'graft') return Uint8Array.of(GRAFT)
  const items: Uint8Array[][] =
    message.type === 'push'
      ? message.records.map((r) => [r])
      : message.type === 'iwant'
        ? message.keys.map((k) => [k])
        : message.entries.map((e) => [e.key, e.prefix])
  const type = message.type === 'push' ? PUSH : message.type === 'iwant' ? IWANT : IHAVE
  const name = nameBytes(message.store)
  let size = 1 + varintLength(name.byteLength) + name.byteLength + varintLength(items.length)
  for (const [first, prefix] of items) size += pushRecordCost(first!) + (prefix?.byteLength ?? 0)
  const out = new Uint8Array(size)
  out[0] = type
  let at = writeVarint(out, 1, name.byteLength)
  out.set(name, at)
  at = writeVarint(out, at + name.byteLength, items.length)
  for (const [first, prefix] of items) {
    at = writeVarint(out, at, first!.byteLength)
    out.set(first!, at)
    at += first!.byteLength
    if (prefix !== undefined) {
      out.set(prefix, at)
      at += prefix.byteLength
    }
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
  if (type !== PUSH && type !== IHAVE && type !== IWANT) throw new PushFrameError('unknown-type')
  const reader = new Reader(frame)
  const store = readStore(reader)
  const count = reader.varint()
  if (count === 0) throw new PushFrameError('count')
  const items: Uint8Array[] = []
  const prefixes: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const length = reader.varint()
    // Never empty; each costs at least its length byte, so a huge count fails fast.
    if (length === 0) throw new PushFrameError('count')
    items.push(reader.take(length).slice())
    if (type === IHAVE) prefixes.push(reader.take(VALUE_PREFIX_BYTES).slice())
  }
  if (!reader.done) throw new PushFrameError('trailing')
  if (type === PUSH) return { type: 'push', store, records: items }
  if (type === IWANT) return { type: 'iwant', store, keys: items }
  return { type: 'ihave', store, entries: items.map((key, i) => ({ key, prefix: prefixes[i]! })) }
}

function readStore(reader: Reader): string {
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
  return store
}
