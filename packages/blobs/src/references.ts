import type { PeerId } from '@libp2p/interface'
import { MAX_REFERENCES_PER_BLOB } from './constants.js'
import { toHex } from './ids.js'

/** The kinds of record that may reference a blob. */
export type ReferenceKind = 'supersession' | 'assertion' | 'artifact'

/** A record this node holds that references a blob. */
export interface BlobReference {
  readonly kind: ReferenceKind
  /** The record's tree key (record hash, or an assertion's register key). */
  readonly record: Uint8Array
  /** Artifacts: the exact scope the record was published into (who may hold it). */
  readonly scope?: string | undefined
  /** The peer (id string) the record came from; absent for this node's own records. */
  readonly from?: string | undefined
}

interface Entry {
  readonly refs: BlobReference[]
  readonly keys: Set<string>
}

/**
 * Which records this node holds reference which blob, and where each came from: what the default
 * `mayFetch` policy and the fetch order read. In memory: the embedder fills it from the stored
 * records at start (a scan) and from each commit after (crdt's `onApplied`). At most
 * {@link MAX_REFERENCES_PER_BLOB} references are kept per blob: one is enough to authorize, the
 * rest only add provenance peers.
 */
export class BlobReferences {
  private readonly byBlob = new Map<string, Entry>()

  /** Adds a reference; false when the same (kind, record) is already known for the blob or the blob is full. */
  add(id: Uint8Array, ref: BlobReference): boolean {
    const blob = toHex(id)
    let entry = this.byBlob.get(blob)
    if (entry === undefined) this.byBlob.set(blob, (entry = { refs: [], keys: new Set() }))
    const key = `${ref.kind}:${toHex(ref.record)}`
    if (entry.keys.has(key) || entry.refs.length >= MAX_REFERENCES_PER_BLOB) return false
    entry.keys.add(key)
    entry.refs.push(ref)
    return true
  }

  /** The references to a blob, in the order they were added. */
  of(id: Uint8Array): readonly BlobReference[] {
    return this.byBlob.get(toHex(id))?.refs ?? []
  }

  /** The peers the referencing records came from, first arrival first, without repeats. */
  provenance(id: Uint8Array): string[] {
    const out = new Set<string>()
    for (const ref of this.of(id)) if (ref.from !== undefined) out.add(ref.from)
    return [...out]
  }

  /** Blobs with at least one reference. */
  get size(): number {
    return this.byBlob.size
  }
}

/** How the default policy asks whether a peer may hold an artifact scope (its live `hold` grant). */
export type MayHoldScope = (peer: PeerId, scope: string) => boolean

/**
 * The default authorization: `peer` may fetch `id` exactly when it may hold a record of this node
 * that references it. Every admitted peer (same network and trust, not revoked: the hello and
 * sync's connection gater see to that) may hold every supersession and assertion; an artifact's
 * reference counts only for a peer that may hold its scope. Anything else is refused.
 */
export function referencePolicy(
  references: BlobReferences,
  mayHoldScope: MayHoldScope = () => false,
): (peer: PeerId, id: Uint8Array) => boolean {
  return (peer, id) =>
    references
      .of(id)
      .some((ref) => ref.kind !== 'artifact' || (ref.scope !== undefined && mayHoldScope(peer, ref.scope)))
}
