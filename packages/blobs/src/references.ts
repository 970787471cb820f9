import type { PeerId } from '@libp2p/interface'
import { type Database, open, type RootDatabase } from 'lmdb'
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

/** A reference as kept in LMDB: its place in arrival order, and what the key does not hold. */
interface StoredReference {
  readonly seq: number
  readonly from?: string
  readonly scope?: string
}

const KIND_BYTES: Record<ReferenceKind, number> = { supersession: 1, assertion: 2, artifact: 3 }
const KIND_OF = new Map(Object.entries(KIND_BYTES).map(([kind, byte]) => [byte, kind as ReferenceKind]))
const BLOB_ID_BYTES = 32

/** Key of a stored reference: blob id, kind byte, record key (blob first: one blob's refs are adjacent). */
function storedKey(id: Uint8Array, ref: BlobReference): Uint8Array {
  const key = new Uint8Array(BLOB_ID_BYTES + 1 + ref.record.byteLength)
  key.set(id)
  key[BLOB_ID_BYTES] = KIND_BYTES[ref.kind]
  key.set(ref.record, BLOB_ID_BYTES + 1)
  return key
}

export interface BlobReferencesOptions {
  /**
   * Directory of an LMDB environment of the index's own, so references and their provenance
   * (the peer each record came from) survive a restart. @default none (in memory)
   */
  path?: string
  /** Skip fsync on commits (tests). @default false */
  noSync?: boolean
}

/**
 * Opens a reference index kept in LMDB under `options.path`: every reference stored before is
 * loaded back, in the order it arrived, with the peer it came from.
 */
export async function openBlobReferences(options: BlobReferencesOptions = {}): Promise<BlobReferences> {
  if (options.path === undefined) return new BlobReferences()
  const env = open({ path: options.path, noSync: options.noSync === true, compression: false })
  const db = env.openDB<StoredReference, Uint8Array>({ name: 'blobs/references', keyEncoding: 'binary' })
  const loaded: Array<{ id: Uint8Array; ref: BlobReference; seq: number }> = []
  for (const { key, value } of db.getRange()) {
    const kind = KIND_OF.get(key[BLOB_ID_BYTES]!)
    if (kind === undefined || key.byteLength <= BLOB_ID_BYTES + 1) continue // not ours: skipped
    const ref: BlobReference = {
      kind,
      record: new Uint8Array(key.subarray(BLOB_ID_BYTES + 1)), // lmdb hands out Buffers
      ...(value.from !== undefined ? { from: value.from } : {}),
      ...(value.scope !== undefined ? { scope: value.scope } : {}),
    }
    loaded.push({ id: new Uint8Array(key.subarray(0, BLOB_ID_BYTES)), ref, seq: value.seq })
  }
  loaded.sort((a, b) => a.seq - b.seq)
  return new BlobReferences({ env, db, nextSeq: (loaded.at(-1)?.seq ?? -1) + 1 }, loaded)
}

interface Persistence {
  readonly env: RootDatabase
  readonly db: Database<StoredReference, Uint8Array>
  nextSeq: number
}

/**
 * Which records this node holds reference which blob, and where each came from: what the default
 * `mayFetch` policy and the fetch order read. The embedder fills it from the stored records at
 * start (a scan) and from each commit after (crdt's `onApplied`, with the sender). `new
 * BlobReferences()` is in memory; {@link openBlobReferences} keeps every reference in LMDB too, so
 * the senders of records that arrived before a restart are still asked first after it (the
 * start-up scan, which knows no senders, then only adds what is missing). At most
 * {@link MAX_REFERENCES_PER_BLOB} references are kept per blob: one is enough to authorize, the
 * rest only add provenance peers.
 */
export class BlobReferences {
  private readonly byBlob = new Map<string, Entry>()

  /** @param persisted, loaded set by {@link openBlobReferences} (what LMDB held, in arrival order); none: in memory */
  constructor(
    private readonly persisted?: Persistence,
    loaded: ReadonlyArray<{ id: Uint8Array; ref: BlobReference }> = [],
  ) {
    for (const { id, ref } of loaded) this.load(id, ref)
  }

  /** Adds a reference; false when the same (kind, record) is already known for the blob or the blob is full. */
  add(id: Uint8Array, ref: BlobReference): boolean {
    if (!this.load(id, ref)) return false
    const stored = this.persisted
    if (stored !== undefined) {
      // Written after the commit that stored the record: a crash in between loses only its sender
      // (the next start's scan adds the reference without one), never a reference.
      const value: StoredReference = {
        seq: stored.nextSeq++,
        ...(ref.from !== undefined ? { from: ref.from } : {}),
        ...(ref.scope !== undefined ? { scope: ref.scope } : {}),
      }
      stored.db.put(storedKey(id, ref), value).catch(() => {})
    }
    return true
  }

  /** Writes of references still in flight are on disk, and the environment is closed (in memory: nothing). */
  async close(): Promise<void> {
    if (this.persisted === undefined) return
    await this.persisted.db.flushed
    await this.persisted.env.close()
  }

  /** Adds a reference to the index in memory only (loading what LMDB holds). */
  private load(id: Uint8Array, ref: BlobReference): boolean {
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
