export { type ClockOptions, createClock, type HybridLogicalClock } from './clock.js'
export { decodeTimestamp, encodeTimestamp } from './encoding.js'
export {
  ClockDriftError,
  ClockExhaustedError,
  ClockOptionsError,
  HlcError,
  InvalidTimestampError,
  TimestampDecodeError,
  type TimestampField,
  WallClockError,
} from './errors.js'
export { type HighWaterMarkStore, memoryHighWaterMarkStore } from './store.js'
export { formatTimestamp, parseTimestamp } from './text.js'
export {
  compareTimestamps,
  MAX_COUNTER,
  MAX_WALL_MS,
  NODE_ID_BYTES,
  TIMESTAMP_BYTES,
  type Timestamp,
} from './timestamp.js'
