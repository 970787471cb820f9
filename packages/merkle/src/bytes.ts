import { MalformedMessageError } from './errors.js'

/** Growable byte buffer for encoding; `finish()` returns exactly the bytes written. */
export class ByteWriter {
  private buf: Uint8Array
  private pos = 0

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial)
  }

  get length(): number {
    return this.pos
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return
    let size = this.buf.length * 2
    // Stryker disable next-line EqualityOperator: equivalent, one doubling more only leaves more room (also hides the killed `>=`, an endless loop)
    while (size < this.pos + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  u8(value: number): void {
    this.reserve(1)
    this.buf[this.pos++] = value
  }

  u16(value: number): void {
    this.reserve(2)
    this.buf[this.pos++] = value >>> 8
    this.buf[this.pos++] = value & 0xff
  }

  /** Unsigned LEB128, at most 2^53 - 1. */
  varint(value: number): void {
    this.reserve(8)
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 0x80) | 0x80
      value = Math.floor(value / 0x80)
    }
    this.buf[this.pos++] = value
  }

  bytes(data: Uint8Array, length = data.length): void {
    this.reserve(length)
    if (length === data.length) this.buf.set(data, this.pos)
    else {
      // A hash cut to its wire length: a view per hash was a large share of a session's garbage.
      const buf = this.buf
      for (let i = 0, o = this.pos; i < length; i++, o++) buf[o] = data[i]!
    }
    this.pos += length
  }

  /** Appends everything `other` holds (no intermediate copy, unlike `bytes(other.finish())`). */
  append(other: ByteWriter): void {
    this.bytes(other.written())
  }

  /** Empties the writer and keeps its buffer, for the next message. */
  reset(): void {
    this.pos = 0
  }

  /** A view of the bytes written so far; valid until the next write. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos)
  }

  /** Drops everything written after the first `length` bytes (undo of a partly written item). */
  truncate(length: number): void {
    this.pos = Math.min(this.pos, length)
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

/** Bounds-checked reader: every overrun is a {@link MalformedMessageError}, never a crash. */
export class ByteReader {
  private pos = 0
  /** Reads stop at `length`: a reused buffer can hold more than the item it is read for. */
  constructor(
    private readonly buf: Uint8Array,
    private readonly length = buf.length,
  ) {}

  get remaining(): number {
    return this.length - this.pos
  }

  /** Bytes read so far. */
  get offset(): number {
    return this.pos
  }

  u8(): number {
    if (this.pos >= this.length) throw new MalformedMessageError('truncated')
    return this.buf[this.pos++]!
  }

  u16(): number {
    return (this.u8() << 8) | this.u8()
  }

  /** Unsigned LEB128; refuses non-minimal encodings and values above `max`. */
  varint(max = Number.MAX_SAFE_INTEGER): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const byte = this.u8()
      value += (byte & 0x7f) * scale
      if (byte < 0x80) {
        if (byte === 0 && i > 0) throw new MalformedMessageError('non-minimal varint')
        if (value > max) throw new MalformedMessageError(`varint ${value} above ${max}`)
        return value
      }
      scale *= 0x80
    }
    throw new MalformedMessageError('varint too long')
  }

  /** A view of the next `n` bytes (no copy). */
  bytes(n: number): Uint8Array {
    if (n > this.remaining) throw new MalformedMessageError('truncated')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** Steps over the next `n` bytes without a view of them. */
  skip(n: number): void {
    if (n > this.remaining) throw new MalformedMessageError('truncated')
    this.pos += n
  }

  end(): void {
    if (this.remaining !== 0) throw new MalformedMessageError(`${this.remaining} trailing bytes`)
  }
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!
    if (d !== 0) return d
  }
  return a.length - b.length
}

export function equalBytes(a: Uint8Array, b: Uint8Array, length = Math.max(a.length, b.length)): boolean {
  if (a.length < length || b.length < length) return false
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false
  return true
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
