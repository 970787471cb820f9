import type { ApplyOutcome } from '@provsync/crdt'
import type { StoreName } from './state.js'

/** Applies one peer's records to one store: crdt's `apply` with `from` set to that peer's key. */
export type ApplyFrom = (store: StoreName, records: Uint8Array[], from: Uint8Array) => Promise<ApplyOutcome[]>

export interface PushBatcherOptions {
  apply: ApplyFrom
  /** Records that flush a store's batch at once (crdt's verify pool takes batches of 32 and up). */
  maxRecords: number
  /** How long the first frame of a batch waits for more before the batch is applied anyway. */
  windowMs: number
}

interface Entry {
  id: string
  from: Uint8Array
  records: Uint8Array[]
  resolve(outcomes: ApplyOutcome[]): void
  reject(err: unknown): void
}

interface Batch {
  entries: Entry[]
  count: number
  timer: ReturnType<typeof setTimeout> | undefined
}

/**
 * Coalesces pushed frames arriving within `windowMs` (or until `maxRecords`) into one `apply` per
 * pushing peer, so one write transaction and one verification batch cover several frames (frames
 * carry 5 to 8 records in the 32-node run, each applied alone before). crdt's `apply` takes one
 * `from` per call, so a batch is split by peer: every record keeps the peer that pushed it as its
 * asserting source, and each frame gets back exactly its own records' outcomes, in order.
 */
export class PushBatcher {
  private readonly batches = new Map<StoreName, Batch>()

  constructor(private readonly options: PushBatcherOptions) {}

  /** Queues one frame's records from peer `id` (key `from`); resolves with their outcomes. */
  add(store: StoreName, id: string, from: Uint8Array, records: Uint8Array[]): Promise<ApplyOutcome[]> {
    let batch = this.batches.get(store)
    if (batch === undefined) {
      batch = { entries: [], count: 0, timer: undefined }
      this.batches.set(store, batch)
    }
    const done = new Promise<ApplyOutcome[]>((resolve, reject) => {
      batch.entries.push({ id, from, records, resolve, reject })
    })
    batch.count += records.length
    if (batch.count >= this.options.maxRecords) this.flush(store)
    else batch.timer ??= setTimeout(() => this.flush(store), this.options.windowMs)
    return done
  }

  /** Applies every queued batch now (on stop, so no frame waits on a timer). */
  flushAll(): void {
    for (const store of [...this.batches.keys()]) this.flush(store)
  }

  private flush(store: StoreName): void {
    const batch = this.batches.get(store)
    if (batch === undefined) return
    this.batches.delete(store)
    if (batch.timer !== undefined) clearTimeout(batch.timer)
    for (const group of groupByPeer(batch.entries)) this.applyGroup(store, group)
  }

  private applyGroup(store: StoreName, group: readonly Entry[]): void {
    const records = group.flatMap((entry) => entry.records)
    this.options.apply(store, records, group[0]!.from).then(
      (outcomes) => {
        let offset = 0
        for (const entry of group) {
          entry.resolve(outcomes.slice(offset, offset + entry.records.length))
          offset += entry.records.length
        }
      },
      (err: unknown) => {
        for (const entry of group) entry.reject(err)
      },
    )
  }
}

/** Entries grouped by peer id, each group in arrival order, groups in order of first arrival. */
export function groupByPeer<T extends { id: string }>(entries: readonly T[]): T[][] {
  const groups = new Map<string, T[]>()
  for (const entry of entries) {
    const group = groups.get(entry.id)
    if (group === undefined) groups.set(entry.id, [entry])
    else group.push(entry)
  }
  return [...groups.values()]
}
