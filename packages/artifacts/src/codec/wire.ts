import { MalformedRecordError, OversizedFieldError } from '../errors.js'

/** Appends big-endian fields to a growing buffer. */
export class Writer {
  private buf = new Uint8Array(512)
  private view = new DataView(this.buf.buffer)
  length = 0

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + extra))
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  u8(value: number): this {
    this.ensure(1)
    this.buf[this.length++] = value
    return this
  }

  u16(value: number): this {
    this.ensure(2)
    this.view.setUint16(this.length, value)
    this.length += 2
    return this
  }

  u64(value: bigint): this {
    this.ensure(8)
    this.view.setBigUint64(this.length, value)
    this.length += 8
    return this
  }

  bytes(value: Uint8Array): this {
    this.ensure(value.length)
    this.buf.set(value, this.length)
    this.length += value.length
    return this
  }

  /** u16 length then the bytes; `field` and `max` bound it. */
  short(field: string, value: Uint8Array, max: number): this {
    if (value.length > max) throw new OversizedFieldError(field, value.length, max)
    return this.u16(value.length).bytes(value)
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}

/** Reads big-endian fields; every overrun is a MalformedRecordError naming the field. */
export class Reader {
  offset = 0
  private readonly view: DataView
  /** With `share`: one copy of the whole input, which every field read is a view of. */
  private owned: Uint8Array | undefined

  /**
   * `share`: fields are views of one private copy of `data` (made at the first field read)
   * instead of one copy each. For small inputs whose fields are all kept (a record is at most
   * 4,096 bytes): a record's six to ten field copies were the decoder's largest allocation.
   * Never for a frame, where a field kept would hold the whole frame's copy.
   */
  constructor(
    readonly data: Uint8Array,
    private readonly share = false,
    /** With `share`: `data` is already a private copy (see `privateCopy`), fields are views of it. */
    ownsData = false,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    if (share && ownsData) this.owned = data
  }

  private need(field: string, n: number): void {
    if (this.offset + n > this.data.length) throw new MalformedRecordError(field, 'truncated')
  }

  u8(field: string): number {
    this.need(field, 1)
    return this.data[this.offset++]!
  }

  u16(field: string): number {
    this.need(field, 2)
    const v = this.view.getUint16(this.offset)
    this.offset += 2
    return v
  }

  u64(field: string): bigint {
    this.need(field, 8)
    const v = this.view.getBigUint64(this.offset)
    this.offset += 8
    return v
  }

  bytes(field: string, n: number): Uint8Array {
    this.need(field, n)
    if (this.share) {
      // A view of this reader's own copy: never of LMDB's reused memory or the caller's buffer.
      this.owned ??= new Uint8Array(this.data)
      const out = this.owned.subarray(this.offset, this.offset + n)
      this.offset += n
      return out
    }
    // A plain copy: never a Buffer view of LMDB's reused memory.
    const out = new Uint8Array(n)
    out.set(this.data.subarray(this.offset, this.offset + n))
    this.offset += n
    return out
  }

  short(field: string, max: number): Uint8Array {
    const n = this.u16(field)
    if (n > max) throw new OversizedFieldError(field, n, max)
    return this.bytes(field, n)
  }

  end(): void {
    if (this.offset !== this.data.length) throw new MalformedRecordError('record', 'trailing bytes')
  }
}
