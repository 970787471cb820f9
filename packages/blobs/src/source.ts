import type { AbortOptions } from '@libp2p/interface'
import type { Manifest } from './ids.js'

/** Why a peer is blamed for what it served. */
export type BlobOffenceReason =
  | 'bad-manifest'
  | 'bad-chunk'
  | 'unrequested-chunk'
  | 'truncated'
  | 'oversized-chunk'
  | 'malformed-frame'
  | 'unexpected-message'
  | 'timeout'
  | 'unauthorized'
  | 'rate-limited'
  | 'too-many-streams'
  | 'wrong-network'

export const BLOB_OFFENCE_REASONS: readonly BlobOffenceReason[] = [
  'bad-manifest',
  'bad-chunk',
  'unrequested-chunk',
  'truncated',
  'oversized-chunk',
  'malformed-frame',
  'unexpected-message',
  'timeout',
  'unauthorized',
  'rate-limited',
  'too-many-streams',
  'wrong-network',
]

/** One chunk as a peer delivered it: untrusted until the store checked it against the manifest. */
export interface DeliveredChunk {
  index: number
  bytes: Uint8Array
}

/**
 * Where a store gets what it does not hold: the blob protocol implements it over libp2p. Everything
 * a source returns is untrusted; the store verifies it, and blames the peer through `blame`.
 */
export interface ChunkSource {
  /** Peers to ask for a blob, best first: `hints` (the peer the referencing record came from) first. */
  candidates(id: Uint8Array, hints: readonly string[]): string[]
  /** The encoded manifest a peer serves for `id`. */
  fetchManifest(peer: string, id: Uint8Array, options?: AbortOptions): Promise<Uint8Array>
  /** The chunks at `indices` from a peer, in any order; ends when the peer has sent what it will. */
  fetchChunks(
    peer: string,
    manifest: Manifest,
    indices: readonly number[],
    options?: AbortOptions,
  ): AsyncIterable<DeliveredChunk>
  /** Counts an offence against a peer that served something that failed verification. */
  blame(peer: string, reason: BlobOffenceReason, detail: string): void
}
