/**
 * The slice of crdt's NodeState the sync layer drives (docs/CONTRACTS.md, ingest contract), so an
 * embedder can hand the service anything that honours it.
 */
import { type NodeState, STORE_NAMES, type StoreName } from '@provsync/crdt'

export type { StoreName }

/** Sync order: revocations first, so a revoked signer's records are refused in the same exchange. */
export const SYNC_ORDER: readonly StoreName[] = STORE_NAMES

export type SyncedState = Pick<
  NodeState,
  'networkId' | 'publicKey' | 'tree' | 'getRecords' | 'apply' | 'onChange'
> &
  /**
   * Optional: revoked peers are refused, and ledger and view figures become metrics; with
   * verifyRecords and applyVerified, a pulled group verifies on the pool while the one before it
   * applies; with observe, eager push collects the keys each batch applied instead of diffing trees;
   * with readerHealth, the oldest LMDB reader's lag is a metric and a readiness warning.
   */
  Partial<
    Pick<
      NodeState,
      'revocations' | 'ledger' | 'view' | 'verifyRecords' | 'applyVerified' | 'observe' | 'readerHealth'
    >
  >

export function isStoreName(value: string): value is StoreName {
  return (SYNC_ORDER as readonly string[]).includes(value)
}
