import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * The `chunk-data` frames of one chunk, laid out by hand instead of by protons then sync's framing:
 * byte for byte what `encodeFrame(encodeBlobMessage({ type: 'chunk-data', ... }))` gives for each
 * fragment (`test/chunk-frames.test.ts` checks it against that path), so the wire is unchanged.
 *
 * Why (session 11, profiles of a 256 MiB read): per 60 KiB fragment the serving side allocated and
 * filled a protobuf buffer, then a second one with the length prefix, then sent it alone, so yamux
 * sent one data frame (and the fetching side answered one window update) per fragment. Here a
 * chunk's frames are one buffer, copied once, sent at once.
 */

/** protobuf field tags: Frame.chunkData (7, bytes), ChunkData.index (1, varint), .offset (2), .data (3, bytes). */
const TAG_FRAME_CHUNK_DATA = 0x3a
const TAG_INDEX = 0x08
const TAG_OFFSET = 0x10
const TAG_DATA = 0x1a

/** Bytes of `value` as an unsigned varint (values up to 2^32 - 1). */
export function varintLength(value: number): number {
  let n = 1
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) n++
  return n
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  let pos = at
  let v = value
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80
    v = Math.floor(v / 128)
  }
  out[pos++] = v
  return pos
}

/** Body bytes of ChunkData { index, offset, data of `length` bytes } (protons omits zero fields). */
function chunkDataBodyLength(index: number, offset: number, length: number): number {
  const indexBytes = index === 0 ? 0 : 1 + varintLength(index)
  const offsetBytes = offset === 0 ? 0 : 1 + varintLength(offset)
  const dataBytes = length === 0 ? 0 : 1 + varintLength(length) + length
  return indexBytes + offsetBytes + dataBytes
}

/** Frame bytes (without its length prefix) of a chunk-data message. */
function frameLength(index: number, offset: number, length: number): number {
  const body = chunkDataBodyLength(index, offset, length)
  return 1 + varintLength(body) + body
}

/** Writes one fragment's prefixed frame at `at`; returns where the next one goes. */
function writeFragment(out: Uint8Array, at: number, index: number, offset: number, data: Uint8Array): number {
  const body = chunkDataBodyLength(index, offset, data.byteLength)
  let pos = writeVarint(out, at, 1 + varintLength(body) + body)
  out[pos++] = TAG_FRAME_CHUNK_DATA
  pos = writeVarint(out, pos, body)
  if (index !== 0) {
    out[pos++] = TAG_INDEX
    pos = writeVarint(out, pos, index)
  }
  if (offset !== 0) {
    out[pos++] = TAG_OFFSET
    pos = writeVarint(out, pos, offset)
  }
  if (data.byteLength > 0) {
    out[pos++] = TAG_DATA
    pos = writeVarint(out, pos, data.byteLength)
    out.set(data, pos)
    pos += data.byteLength
  }
  return pos
}

/**
 * Every fragment of chunk `index` (`bytes`, cut every `fragmentBytes`) as length-prefixed
 * chunk-data frames in one new buffer: the stream may hold it until sent, so it is never reused.
 */
export function encodeChunkFrames(index: number, bytes: Uint8Array, fragmentBytes: number): Uint8Array {
  let total = 0
  for (let o = 0; o < bytes.byteLength; o += fragmentBytes) {
    const f = frameLength(index, o, Math.min(fragmentBytes, bytes.byteLength - o))
    total += varintLength(f) + f
  }
  const out = new Uint8Array(total)
  let pos = 0
  for (let o = 0; o < bytes.byteLength; o += fragmentBytes) {
    pos = writeFragment(out, pos, index, o, bytes.subarray(o, o + fragmentBytes))
  }
  return out
}

/** A chunk-data frame read in place: its data is a view of the received buffers (no copy). */
export interface ChunkFragment {
  index: number
  offset: number
  data: Uint8ArrayList
}

function readVarint(
  list: Uint8ArrayList,
  at: number,
  end: number,
): { value: number; next: number } | undefined {
  let value = 0
  for (let i = 0; i < 5 && at + i < end; i++) {
    const byte = list.get(at + i)
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return value <= 0xffffffff ? { value, next: at + i + 1 } : undefined
  }
  return undefined
}

/**
 * The frame body at `[start, end)` of `list` as a chunk-data fragment if it is laid out exactly as
 * an honest encoder lays it out (tags in order, index and offset present only when not zero, data
 * not empty and reaching the frame's end); undefined for anything else, which the caller then
 * decodes the general way (so a peer's odd but valid encoding means the same as before).
 */
export function parseChunkFragment(
  list: Uint8ArrayList,
  start: number,
  end: number,
): ChunkFragment | undefined {
  if (end - start < 3 || list.get(start) !== TAG_FRAME_CHUNK_DATA) return undefined
  const body = readVarint(list, start + 1, end)
  if (body === undefined || body.next + body.value !== end) return undefined
  let pos = body.next
  let index = 0
  let offset = 0
  if (list.get(pos) === TAG_INDEX) {
    const v = readVarint(list, pos + 1, end)
    if (v === undefined || v.value === 0) return undefined
    index = v.value
    pos = v.next
  }
  if (pos < end && list.get(pos) === TAG_OFFSET) {
    const v = readVarint(list, pos + 1, end)
    if (v === undefined || v.value === 0) return undefined
    offset = v.value
    pos = v.next
  }
  if (pos >= end || list.get(pos) !== TAG_DATA) return undefined
  const length = readVarint(list, pos + 1, end)
  if (length === undefined || length.value === 0 || length.next + length.value !== end) return undefined
  return { index, offset, data: list.sublist(length.next, end) }
}
