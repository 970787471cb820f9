import type { BatchVerifier } from '@provsync/crdt'
import type { MerkleTree } from '@provsync/merkle'
import type { Authority, RevocationSource } from '../authority.js'
import type { ArtifactRefusal } from '../errors.js'
import type { Databases } from './db.js'
import type { StoredVersion } from './view.js'

/** Counts of what `apply` did, refusals by reason. */
export interface ApplyCounters {
  applied: number
  duplicate: number
  refused: Record<ArtifactRefusal, number>
}

/** Everything the store's modules share. */
export interface Context {
  readonly dbs: Databases
  readonly networkId: string
  readonly tag: Uint8Array
  readonly nodeKey: Uint8Array
  readonly authority: Authority
  readonly revocations: RevocationSource
  readonly wallClock: () => number
  readonly freshness: (scope: string) => boolean
  readonly refuseExpiredFamilies: ReadonlySet<string>
  readonly verifier: BatchVerifier
  readonly maxScopes: number
  readonly maxBatch: number
  /** Exact scope → its tree (opened on first use, outside write transactions). */
  readonly trees: Map<string, MerkleTree>
  /** Grants, withdrawals and scope epochs by trusted operators: replicated to every node. */
  readonly operatorTree: MerkleTree
  readonly counters: ApplyCounters
  /** Per publisher (hex): the admissibility status last applied, so `refresh` redoes only changes. */
  readonly publisherStatus: Map<string, string>
  /** Decoded current versions by view id (`scope\0family\0name`), null for none; bounded. */
  readonly viewCache: Map<string, StoredVersion | null>
  /** Tree leaves added by the transaction under way, written once per scope when it ends. */
  readonly pendingLeaves: Map<string, Uint8Array[]>
  /** Exact scopes stored (the `scopes` sub-database, in memory). */
  readonly storedScopes: Set<string>
  /** The last history sequence number (written to the metadata once per transaction). */
  seq: number
  /** Test hook: runs inside every write transaction, after its writes, before it commits. */
  readonly faults?: { readonly beforeCommit?: () => void } | undefined
  closed: boolean
}
