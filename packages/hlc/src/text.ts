import { TimestampDecodeError } from './errors.js'
import { assertTimestamp, MAX_WALL_MS, NODE_ID_BYTES, type Timestamp } from './timestamp.js'

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const TEXT_FORM = /^((?:\d{4}|\+\d{6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\/([0-9a-f]{4})\/([0-9a-f]{16})$/

/**
 * `2026-11-22T14:03:22.123Z/0001/0a1b2c3d4e5f6071`: ISO 8601 UTC wall time, 4 hex digits of
 * counter, 16 hex digits of node id. Fixed width up to the year 9999, so these strings sort in
 * timestamp order; later years use ISO's expanded `+YYYYYY` form and round-trip but do not sort.
 */
export function formatTimestamp(ts: Timestamp): string {
  assertTimestamp(ts)
  let nodeHex = ''
  for (const byte of ts.nodeId) nodeHex += HEX[byte]
  return `${new Date(ts.wallMs).toISOString()}/${ts.counter.toString(16).padStart(4, '0')}/${nodeHex}`
}

/**
 * Strict inverse of {@link formatTimestamp}: accepts exactly the canonical form (lowercase hex,
 * a real calendar date, milliseconds present), so `formatTimestamp(parseTimestamp(s)) === s`.
 */
export function parseTimestamp(text: string): Timestamp {
  if (typeof text !== 'string') {
    throw new TimestampDecodeError(`expected a string, got ${text === null ? 'null' : typeof text}`)
  }
  const match = TEXT_FORM.exec(text)
  if (match === null) {
    throw new TimestampDecodeError(
      `expected <ISO-8601 UTC time>/<4 hex counter>/<16 hex node id>, got ${JSON.stringify(text.slice(0, 80))}`,
    )
  }
  const [, iso, counterHex, nodeHex] = match as unknown as [string, string, string, string]
  const wallMs = Date.parse(iso)
  // Date.parse quietly rolls some impossible dates over (or returns NaN); only a date that
  // prints back to the same text is the canonical form of one instant.
  if (!Number.isFinite(wallMs) || new Date(wallMs).toISOString() !== iso) {
    throw new TimestampDecodeError(`not a valid UTC time: ${iso}`)
  }
  if (wallMs < 0 || wallMs > MAX_WALL_MS) {
    throw new TimestampDecodeError(`time ${iso} is outside the encodable range [1970, 10889]`)
  }
  const nodeId = new Uint8Array(NODE_ID_BYTES)
  // Stryker disable next-line EqualityOperator: equivalent, a write past the end of a Uint8Array is dropped
  for (let i = 0; i < NODE_ID_BYTES; i++) nodeId[i] = Number.parseInt(nodeHex.slice(2 * i, 2 * i + 2), 16)
  return { wallMs, counter: Number.parseInt(counterHex, 16), nodeId }
}
