import type { StoreName } from './context.js'
import type { ApplyOutcome } from './ingest.js'

/**
 * How a batch reached the store: `apply`, `applyVerified`, or `put` for the state's own writing
 * methods (`supersessions.put`/`supersede`, `revocations.revoke`/`reinstate`, the `invalidations`
 * API, and `advanceVerified`'s signed assertion).
 */
export type ApplyPath = 'apply' | 'applyVerified' | 'put'

/** A batch about to be verified and committed: see {@link StateObserver.applying}. */
export interface ApplyingBatch {
  readonly store: StoreName
  readonly via: ApplyPath
  /** The key the records came from (`from`); this node's own key for local acts. */
  readonly from: Uint8Array
  /** `local` when `from` is this node's own key, else `peer`. */
  readonly source: 'local' | 'peer'
  /** How many records were handed in. */
  readonly count: number
}

/** A batch the state finished: see {@link StateObserver.applied}. */
export interface ObservedBatch extends Omit<ApplyingBatch, 'count'> {
  /** Every record handed in, in order, refused ones included. */
  readonly records: readonly Uint8Array[]
  /** One outcome per record, in the same order: applied, duplicate, superseded or refused. */
  readonly outcomes: readonly ApplyOutcome[]
}

/**
 * Watches every batch a node state applies, whatever path it took (`NodeState.observe`). Both
 * callbacks are optional; a callback that throws is ignored (its failure is its own: the batch
 * goes on, and the other observers still see it).
 */
export interface StateObserver {
  /**
   * A batch passed its argument checks and is about to be verified and committed. Called before
   * the commit, so a test harness can stop the process in the middle of one; not called for
   * `advanceVerified`, which writes synchronously.
   */
  applying?(batch: ApplyingBatch): void
  /**
   * A batch finished: each record's outcome, refused ones included (a wholly refused batch too).
   * Called once per batch, in the order the batches committed, after the commit and before the
   * call that applied it returns. A call that throws (a closed state, an argument error, writes
   * suspended, a failed write) reports no outcomes.
   */
  applied?(batch: ObservedBatch): void
}

/** The observers of one node state. */
export class Observers {
  private readonly list = new Set<{ readonly observer: StateObserver }>()

  get size(): number {
    return this.list.size
  }

  add(observer: StateObserver): () => void {
    // One entry per call, so one observer added twice is reported to twice and removed one at a time.
    const entry = { observer }
    this.list.add(entry)
    return () => {
      this.list.delete(entry)
    }
  }

  applying(batch: ApplyingBatch): void {
    for (const { observer } of this.list) {
      try {
        observer.applying?.(batch)
      } catch {
        // An observer's failure is its own: the batch goes on.
      }
    }
  }

  applied(batch: ObservedBatch): void {
    for (const { observer } of this.list) {
      try {
        observer.applied?.(batch)
      } catch {
        // As for `applying`: the commit already happened.
      }
    }
  }
}
