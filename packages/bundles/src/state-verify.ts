/**
 * The verifying pass's signature checks through the importing node's own state: each batch goes
 * to `state.verifyRecords` (signatures verified on crdt's shared pool while this thread reads the
 * next batch), the batch before it is then settled with `state.refusalsOf`, and the handle is kept
 * for the applying pass's `applyVerified`, so every record is verified once per import.
 */
import { decodeRecord, type NodeState, type StoreName, type VerifiedRecords } from '@provsync/crdt'
import { BadRecordError } from './errors.js'
import { KEEP_VERIFIED_BYTES } from './format.js'
import { verifySignature } from './verify-record.js'

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
    const handle = this.state.verifyRecords(this.store as Exclude<StoreName, 'invalidations'>, records)
    const bytes = records.reduce((n, r) => n + r.length, 0)
    this.settle()
    this.pending = { handle, records, first, bytes }
  }

  /**
   * Settles the batch in flight: a bad signature is a `BadRecordError` naming part and index. A
   * record crdt's checks refused before verifying (revoked signer, untrusted operator, drift) is
   * verified here, so a bad signature is refused whatever else is wrong with the record; if it
   * verifies, the node refuses it at apply and the import counts it, as for a pull.
   */
  settle(): void {
    const pending = this.pending
    if (pending === undefined) return
    this.pending = undefined
    for (const { index, reason } of this.state.refusalsOf(pending.handle)) {
      const bytes = pending.records[index]!
      if (
        reason === 'bad-signature' ||
        !verifySignature(decodeRecord(bytes, this.networkId), this.networkId)
      ) {
        throw new BadRecordError(this.part, pending.first + index, 'signature does not verify')
      }
    }
    const keep = this.budget.kept + pending.bytes <= KEEP_VERIFIED_BYTES
    if (keep) this.budget.kept += pending.bytes
    this.handles.push(keep ? pending.handle : undefined)
  }
}
