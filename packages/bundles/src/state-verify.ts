/**
 * The verifying pass's signature checks through the importing node's own state: each batch goes
 * to `state.verifyRecords` (signatures verified on crdt's shared pool while this thread reads the
 * next batch), the batch before it is then settled with `state.refusalsOf`, and the handle is kept
 * for the applying pass's `applyVerified`, so every record is verified once per import.
 */
import type { NodeState, StoreName, VerifiedRecords } from '@provsync/crdt'
import { BadRecordError } from './errors.js'
import { KEEP_VERIFIED_BYTES } from './format.js'
import { checkRecord } from './verify-record.js'

interface Pending {
  readonly handle: VerifiedRecords
  readonly records: readonly Uint8Array[]
  readonly first: number
  readonly bytes: number
}

export class StateVerifying {
  /** Per batch of the part, in order: its handle, or undefined past the memory bound. */
  readonly handles: (VerifiedRecords | undefined)[] = []
  private pending: Pending | undefined

  constructor(
    private readonly state: NodeState,
    private readonly store: StoreName,
    private readonly networkId: string,
    private readonly part: number,
    private readonly budget: { kept: number },
  ) {}

  /** Starts verifying a batch (records `first`…), then settles the one before it. */
  push(records: readonly Uint8Array[], first: number): void {
    let handle: VerifiedRecords
    try {
      handle = this.state.verifyRecords(this.store as Exclude<StoreName, 'invalidations'>, records)
    } catch (error) {
      // crdt refuses bad records one by one; should a record make the whole call throw instead,
      // the first record of the batch that fails the checks here is named (else it rethrows).
      this.settle()
      for (const [i, r] of records.entries()) {
        checkRecord(r, this.store, this.networkId, this.part, first + i)
      }
      throw error
    }
    const bytes = records.reduce((n, r) => n + r.length, 0)
    this.settle()
    this.pending = { handle, records, first, bytes }
  }

  /**
   * Settles the batch in flight: the first record crdt refused that does not decode, is of
   * another store's type or whose signature fails is a `BadRecordError` naming part and index
   * (the problem as the check on this thread words it). A record refused for the node's own state
   * (revoked signer, untrusted operator, drift) that passes those checks is applied, refused by
   * the node and counted, as for a pull.
   */
  settle(): void {
    const pending = this.pending
    if (pending === undefined) return
    this.pending = undefined
    for (const { index, reason } of this.state.refusalsOf(pending.handle)) {
      const at = pending.first + index
      if (reason === 'bad-signature') throw new BadRecordError(this.part, at, 'signature does not verify')
      checkRecord(pending.records[index]!, this.store, this.networkId, this.part, at)
    }
    const keep = this.budget.kept + pending.bytes <= KEEP_VERIFIED_BYTES
    if (keep) this.budget.kept += pending.bytes
    this.handles.push(keep ? pending.handle : undefined)
  }
}
