import {
  type HighWaterMarkStore,
  MAX_COUNTER,
  MAX_WALL_MS,
  memoryHighWaterMarkStore,
  NODE_ID_BYTES,
  type Timestamp,
} from '@provsync/hlc'
import fc from 'fast-check'

export const nodeIdArb = fc.uint8Array({ minLength: NODE_ID_BYTES, maxLength: NODE_ID_BYTES })

/** Any encodable timestamp, with the extremes of every field well represented. */
export const timestampArb: fc.Arbitrary<Timestamp> = fc.record({
  wallMs: fc.oneof(fc.integer({ min: 0, max: MAX_WALL_MS }), fc.constantFrom(0, 1, MAX_WALL_MS)),
  counter: fc.oneof(fc.integer({ min: 0, max: MAX_COUNTER }), fc.constantFrom(0, MAX_COUNTER)),
  nodeId: nodeIdArb,
})

/** Timestamps that often share a wall time or counter, so later fields decide the order. */
export const clusteredTimestampArb: fc.Arbitrary<Timestamp> = fc.record({
  wallMs: fc.constantFrom(0, 255, 256, 2 ** 32 - 1, 2 ** 32, MAX_WALL_MS),
  counter: fc.constantFrom(0, 1, 255, 256, MAX_COUNTER),
  nodeId: fc.oneof(
    nodeIdArb,
    fc.constantFrom(new Uint8Array(NODE_ID_BYTES), new Uint8Array(NODE_ID_BYTES).fill(0xff)),
  ),
})

export function nodeId(last: number): Uint8Array {
  const id = new Uint8Array(NODE_ID_BYTES)
  id[NODE_ID_BYTES - 1] = last
  return id
}

/** A wall clock the test moves by hand. */
export function manualWall(startMs: number): { read: () => number; set: (ms: number) => void } {
  let now = startMs
  return {
    read: () => now,
    set: (ms) => {
      now = ms
    },
  }
}

/** The error `fn` throws; fails the test if it returns. */
export function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

/** An in-memory mark store (optionally holding `initial`) that also lists every mark saved, in order. */
export function recordingStore(initial?: Timestamp): HighWaterMarkStore & { saved: Timestamp[] } {
  const inner = memoryHighWaterMarkStore()
  if (initial !== undefined) inner.save(initial)
  const saved: Timestamp[] = []
  return {
    saved,
    load: () => inner.load(),
    save: (ts) => {
      saved.push(ts)
      inner.save(ts)
    },
  }
}
