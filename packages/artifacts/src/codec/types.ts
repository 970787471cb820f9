import type { Timestamp } from '@provsync/hlc'

export type Right = 'member' | 'hold' | 'publish'
export const RIGHTS: readonly Right[] = ['member', 'hold', 'publish']

export type RecordKind = 'grant' | 'withdrawal' | 'scope-epoch' | 'artifact'

interface SignedFields {
  /** Issued at: the signer's HLC (its node id is the first 8 bytes of BLAKE3(signer key)). */
  readonly hlc: Timestamp
  readonly signature: Uint8Array
}

/** An operator gives `subject` a right over scope prefixes; a higher epoch replaces a lower one. */
export interface Grant extends SignedFields {
  readonly kind: 'grant'
  readonly subject: Uint8Array
  readonly right: Right
  /** Sorted, distinct scope prefixes (none only for `member`). */
  readonly scopes: readonly string[]
  readonly epoch: bigint
  /** Wall-clock ms after which the grant is no longer live. */
  readonly expiresAt?: number | undefined
  readonly operator: Uint8Array
}

/** An operator ends every grant of (subject, right) with an epoch at or below `epoch`. */
export interface Withdrawal extends SignedFields {
  readonly kind: 'withdrawal'
  readonly subject: Uint8Array
  readonly right: Right
  readonly epoch: bigint
  readonly reason: string
  readonly operator: Uint8Array
}

/** An operator sets the minimum authority epoch of a scope prefix (only ever raised). */
export interface ScopeEpoch extends SignedFields {
  readonly kind: 'scope-epoch'
  readonly scope: string
  readonly minEpoch: bigint
  readonly operator: Uint8Array
}

export interface BlobRef {
  readonly id: Uint8Array
  readonly size: number
}

/** A signed, immutable version of (scope, family, name). */
export interface Artifact extends SignedFields {
  readonly kind: 'artifact'
  readonly scope: string
  readonly family: string
  readonly name: string
  readonly version: bigint
  readonly epoch: bigint
  /** For an increment: the version it applies to. */
  readonly base?: bigint | undefined
  readonly expiresAt?: number | undefined
  readonly tombstone: boolean
  /** BLAKE3 of the content (of no bytes for a tombstone). */
  readonly contentHash: Uint8Array
  readonly contentSize: number
  /** The content, when at most MAX_INLINE_BYTES. */
  readonly content?: Uint8Array | undefined
  /** Where the content is, when larger. */
  readonly blob?: BlobRef | undefined
  readonly publisher: Uint8Array
}

export type AnyRecord = Grant | Withdrawal | ScopeEpoch | Artifact

/** A record without its signature, HLC and signer: what a caller fills in before signing. */
export type Unsigned<T extends AnyRecord> = T extends Artifact
  ? Omit<T, 'signature' | 'hlc' | 'publisher' | 'kind' | 'contentHash' | 'contentSize'>
  : Omit<T, 'signature' | 'hlc' | 'operator' | 'kind'>

export function signerOf(record: AnyRecord): Uint8Array {
  return record.kind === 'artifact' ? record.publisher : record.operator
}
