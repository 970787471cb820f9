import { InvalidTimestampError } from './errors.js'

export const NODE_ID_BYTES = 8
/** 6 bytes wall ms | 2 bytes counter | 8 bytes node id, all big-endian. */
export const TIMESTAMP_BYTES = 16
/** Largest wall time the 6-byte field can hold (2^48 - 1 ms, in the year 10889). */
export const MAX_WALL_MS = 2 ** 48 - 1
/** Largest counter the 2-byte field can hold. */
export const MAX_COUNTER = 0xffff

/** A hybrid logical time: wall milliseconds, then a logical counter, then the issuing node. */
export interface Timestamp {
  readonly wallMs: number
  readonly counter: number
  readonly nodeId: Uint8Array
}

/** Total order: wall, then counter, then node id bytes (unsigned, lexicographic). */
export function compareTimestamps(a: Timestamp, b: Timestamp): -1 | 0 | 1 {
  // Stryker disable next-line EqualityOperator: equivalent, the values differ here, so < and <= agree
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1
  // Stryker disable next-line EqualityOperator: equivalent, the values differ here, so < and <= agree
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1
  return compareNodeIds(a.nodeId, b.nodeId)
}

function compareNodeIds(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a[i]!
    const y = b[i]!
    // Stryker disable next-line EqualityOperator: equivalent, the bytes differ here, so < and <= agree
    if (x !== y) return x < y ? -1 : 1
  }
  if (a.length === b.length) return 0
  // Stryker disable next-line EqualityOperator: equivalent, the lengths differ here, so < and <= agree
  return a.length < b.length ? -1 : 1
}

/**
 * Throws {@link InvalidTimestampError} unless `value` is a timestamp every field of which fits
 * the binary encoding. Values from outside the process (JSON, a peer) go through here.
 */
export function assertTimestamp(value: unknown): asserts value is Timestamp {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidTimestampError('timestamp', 'timestamp must be an object')
  }
  const { wallMs, counter, nodeId } = value as Record<string, unknown>
  if (!isIntegerIn(wallMs, 0, MAX_WALL_MS)) {
    throw new InvalidTimestampError(
      'wallMs',
      `wallMs must be an integer in [0, ${MAX_WALL_MS}], got ${wallMs}`,
    )
  }
  if (!isIntegerIn(counter, 0, MAX_COUNTER)) {
    throw new InvalidTimestampError(
      'counter',
      `counter must be an integer in [0, ${MAX_COUNTER}], got ${counter}`,
    )
  }
  assertNodeId(nodeId)
}

export function assertNodeId(nodeId: unknown): asserts nodeId is Uint8Array {
  if (!(nodeId instanceof Uint8Array) || nodeId.length !== NODE_ID_BYTES) {
    const got = nodeId instanceof Uint8Array ? `${nodeId.length} bytes` : typeof nodeId
    throw new InvalidTimestampError('nodeId', `nodeId must be ${NODE_ID_BYTES} bytes, got ${got}`)
  }
}

export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  // Stryker disable next-line ConditionalExpression: equivalent, Number.isInteger is false for every non-number
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
}
