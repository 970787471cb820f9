import type { Timestamp } from './timestamp.js'

/**
 * Where a clock keeps its high-water mark: a timestamp at or above every timestamp the clock
 * has issued. `save` must be durable when it returns (the clock issues only after it does);
 * `load` returns the last saved mark, or undefined for a fresh node.
 */
export interface HighWaterMarkStore {
  load(): Timestamp | undefined
  save(ts: Timestamp): void
}

/** A store that lives as long as the object: for tests and simulations of restarts. */
export function memoryHighWaterMarkStore(): HighWaterMarkStore {
  let mark: Timestamp | undefined
  return {
    load: () => (mark === undefined ? undefined : copy(mark)),
    save: (ts) => {
      mark = copy(ts)
    },
  }
}

function copy(ts: Timestamp): Timestamp {
  return { wallMs: ts.wallMs, counter: ts.counter, nodeId: new Uint8Array(ts.nodeId) }
}
