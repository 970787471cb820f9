import { MalformedRecordError, OversizedFieldError } from '../errors.js'
import { decodeCanonicalText, encodeCanonicalText } from './text.js'

/** Appends fixed-width and length-prefixed fields; every variable field has a bound. */
export class Writer {
  private buffer = new Uint8Array(256)
  private length = 0

  private reserve(n: number): void {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, growing when there is room writes the same bytes
    if (this.length + n <= this.buffer.length) return
    // Stryker disable next-line ArithmeticOperator: equivalent, halving falls back to the exact size needed
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n))
    next.set(this.buffer.subarray(0, this.length))
    this.buffer = next
  }

  u8(value: number): this {
    this.reserve(1)
    this.buffer[this.length++] = value
    return this
  }

  u64(value: bigint): this {
    this.reserve(8)
    new DataView(this.buffer.buffer).setBigUint64(this.length, value)
    this.length += 8
    return this
  }

  fixed(field: string, bytes: Uint8Array, size: number): this {
    if (!(bytes instanceof Uint8Array) || bytes.length !== size) {
      throw new MalformedRecordError(`${field} must be ${size} bytes`)
    }
    this.reserve(size)
    this.buffer.set(bytes, this.length)
    this.length += size
    return this
  }

  /** A canonical text (see `text.ts`) as UTF-8 with a u16 length prefix. */
  text(field: string, value: string, limit: number, { nonEmpty = false } = {}): this {
    if (typeof value !== 'string') throw new MalformedRecordError(`${field} must be a string`)
    const bytes = encodeCanonicalText(field, value)
    if (bytes.length > limit) throw new OversizedFieldError(field, bytes.length, limit)
    if (nonEmpty && bytes.length === 0) throw new MalformedRecordError(`${field} must not be empty`)
    this.reserve(2 + bytes.length)
    this.buffer[this.length++] = bytes.length >>> 8
    this.buffer[this.length++] = bytes.length & 0xff
    this.buffer.set(bytes, this.length)
    this.length += bytes.length
    return this
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length)
  }
}

/**
 * Reads what {@link Writer} wrote, refusing truncation, out-of-bound lengths and text that is not
 * canonical, so whatever it accepts re-encodes to the same bytes.
 */
export class Reader {
  private offset = 0
  constructor(private readonly bytes: Uint8Array) {}

  private take(n: number, field: string): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new MalformedRecordError(`truncated at ${field}`)
    const out = this.bytes.subarray(this.offset, this.offset + n)
    this.offset += n
    return out
  }

  u8(field: string): number {
    return this.take(1, field)[0]!
  }

  u64(field: string): bigint {
    const bytes = this.take(8, field)
    return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0)
  }

  fixed(field: string, size: number): Uint8Array {
    return new Uint8Array(this.take(size, field))
  }

  text(field: string, limit: number, { nonEmpty = false } = {}): string {
    const header = this.take(2, field)
    const size = (header[0]! << 8) | header[1]!
    if (size > limit) throw new OversizedFieldError(field, size, limit)
    if (nonEmpty && size === 0) throw new MalformedRecordError(`${field} must not be empty`)
    return decodeCanonicalText(field, this.take(size, field))
  }

  get position(): number {
    return this.offset
  }

  end(): void {
    if (this.offset !== this.bytes.length) {
      throw new MalformedRecordError(`${this.bytes.length - this.offset} trailing bytes`)
    }
  }
}
