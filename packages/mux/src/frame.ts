/**
 * The yamux frame codec (HashiCorp's spec, version 0): a 12-byte big-endian header, followed by
 * `length` payload bytes for data frames only. Pure: no I/O, no timers.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { HEADER_BYTES, YAMUX_VERSION } from './constants.js'
import { BadFrameTypeError, BadVersionError, FrameTooLargeError } from './errors.js'

/** Frame types: data carries a payload; a window update's length is a window delta; ping and go-away are session frames. */
export const FrameType = { Data: 0, WindowUpdate: 1, Ping: 2, GoAway: 3 } as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]

/** Header flags: SYN opens a stream (or asks a ping), ACK accepts it (or answers a ping), FIN half-closes, RST resets. */
export const Flag = { SYN: 1, ACK: 2, FIN: 4, RST: 8 } as const

/** Go-away codes, the frame's `length`. */
export const GoAwayCode = { Normal: 0, ProtocolError: 1, InternalError: 2 } as const
export type GoAwayCode = (typeof GoAwayCode)[keyof typeof GoAwayCode]

/** One decoded header. `length` is the payload size (data), the window delta, the ping value or the go-away code. */
export interface FrameHeader {
  readonly type: FrameType
  readonly flags: number
  readonly streamId: number
  readonly length: number
}

/** A decoded frame: data frames carry their payload (a view, not a copy). */
export interface Frame {
  readonly header: FrameHeader
  readonly payload?: Uint8ArrayList
}

/** Writes `header` into `out` at `offset` (12 bytes). */
export function writeHeader(header: FrameHeader, out: Uint8Array, offset = 0): void {
  const view = new DataView(out.buffer, out.byteOffset + offset, HEADER_BYTES)
  view.setUint8(0, YAMUX_VERSION)
  view.setUint8(1, header.type)
  view.setUint16(2, header.flags)
  view.setUint32(4, header.streamId)
  view.setUint32(8, header.length)
}

/** The 12 bytes of `header`. */
export function encodeHeader(header: FrameHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES)
  writeHeader(header, out)
  return out
}

/**
 * The header in the first 12 bytes of `bytes` (a Uint8Array or list of at least 12 bytes).
 * Throws `BadVersionError` or `BadFrameTypeError`; unknown flag bits are kept (the spec reserves none).
 */
export function decodeHeader(bytes: Uint8Array | Uint8ArrayList): FrameHeader {
  const get = (i: number) => (bytes instanceof Uint8Array ? bytes[i]! : bytes.get(i))
  const version = get(0)
  if (version !== YAMUX_VERSION) throw new BadVersionError(version)
  const type = get(1)
  if (type > FrameType.GoAway) throw new BadFrameTypeError(type)
  const u32 = (i: number) => ((get(i) << 24) | (get(i + 1) << 16) | (get(i + 2) << 8) | get(i + 3)) >>> 0
  return { type: type as FrameType, flags: (get(2) << 8) | get(3), streamId: u32(4), length: u32(8) }
}

/**
 * Splits a byte stream into frames across arbitrary chunk boundaries. A data frame announcing more
 * than `maxPayload` bytes is refused as soon as its header arrives, so what it buffers is bounded
 * by `maxPayload + 12`.
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()
  private header: FrameHeader | undefined

  constructor(private readonly maxPayload: number) {}

  /** Bytes held for an incomplete frame. */
  get bufferedBytes(): number {
    return this.buffer.byteLength
  }

  /** Appends `chunk` and yields every frame now complete, in order. */
  *decode(chunk: Uint8Array | Uint8ArrayList): Generator<Frame> {
    this.buffer.append(chunk)
    for (;;) {
      if (this.header === undefined) {
        if (this.buffer.byteLength < HEADER_BYTES) return
        const header = decodeHeader(this.buffer)
        this.buffer.consume(HEADER_BYTES)
        if (header.type !== FrameType.Data) {
          yield { header }
          continue
        }
        if (header.length > this.maxPayload) throw new FrameTooLargeError(header.length, this.maxPayload)
        this.header = header
      }
      const { length } = this.header
      if (this.buffer.byteLength < length) return
      const payload = this.buffer.sublist(0, length)
      this.buffer.consume(length)
      const header = this.header
      this.header = undefined
      yield { header, payload }
    }
  }
}
