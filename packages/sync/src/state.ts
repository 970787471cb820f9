/**
 * The slice of crdt's NodeState the sync layer drives (docs/CONTRACTS.md, ingest contract).
 * Declared structurally so an embedder can hand the service anything that honours it.
 */
import { type ApplyOutcome, STORE_NAMES, type StoreName } from '@provsync/crdt'
import type { MerkleTree } from '@provsync/merkle'

export type { StoreName }

/** Sync order: revocations first, so a revoked signer's records are refused in the same exchange. */
export const SYNC_ORDER: readonly StoreName[] = STORE_NAMES

export interface SyncedState {
  readonly networkId: string
  readonly publicKey: Uint8Array
  tree(store: StoreName): MerkleTree
  getRecords(store: StoreName, keys: Uint8Array[]): Array<Uint8Array | undefined>
  apply(store: StoreName, records: Uint8Array[], options: { from: Uint8Array }): Promise<ApplyOutcome[]>
  onChange(listener: (store: StoreName) => void): () => void
}

export function isStoreName(value: string): value is StoreName {
  return (SYNC_ORDER as readonly string[]).includes(value)
}
