import { TimestampDecodeError } from './errors.js'
import { assertTimestamp, NODE_ID_BYTES, TIMESTAMP_BYTES, type Timestamp } from './timestamp.js'

const WALL_HIGH = 2 ** 32

/**
 * 16 bytes, big-endian: 6 bytes wall ms, 2 bytes counter, 8 bytes node id. Every field is
 * fixed-width and unsigned, so comparing encodings byte by byte (as LMDB does with its keys)
 * gives the same order as {@link compareTimestamps}.
 */
export function encodeTimestamp(ts: Timestamp): Uint8Array {
  assertTimestamp(ts)
  const bytes = new Uint8Array(TIMESTAMP_BYTES)
  const high = Math.floor(ts.wallMs / WALL_HIGH)
  const low = ts.wallMs % WALL_HIGH
  bytes[0] = high >>> 8
  bytes[1] = high & 0xff
  bytes[2] = low >>> 24
  bytes[3] = (low >>> 16) & 0xff
  bytes[4] = (low >>> 8) & 0xff
  bytes[5] = low & 0xff
  bytes[6] = ts.counter >>> 8
  bytes[7] = ts.counter & 0xff
  bytes.set(ts.nodeId, 8)
  return bytes
}

/**
 * Inverse of {@link encodeTimestamp}. Every 16-byte string is a valid timestamp, so only the
 * type and the length can be wrong. The node id is copied, never a view of `bytes`, so a
 * reused buffer (lmdb hands those out) cannot change the timestamp later.
 */
export function decodeTimestamp(bytes: Uint8Array): Timestamp {
  if (!(bytes instanceof Uint8Array)) {
    throw new TimestampDecodeError(`expected a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`)
  }
  if (bytes.length !== TIMESTAMP_BYTES) {
    throw new TimestampDecodeError(`expected ${TIMESTAMP_BYTES} bytes, got ${bytes.length}`)
  }
  const high = (bytes[0]! << 8) | bytes[1]!
  const low = ((bytes[2]! << 24) | (bytes[3]! << 16) | (bytes[4]! << 8) | bytes[5]!) >>> 0
  return {
    wallMs: high * WALL_HIGH + low,
    counter: (bytes[6]! << 8) | bytes[7]!,
    // A fresh plain Uint8Array: Buffer#slice would be a view of the (possibly reused) input.
    nodeId: new Uint8Array(bytes.subarray(8, 8 + NODE_ID_BYTES)),
  }
}
