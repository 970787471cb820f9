import type { Database, RootDatabase } from 'lmdb'
import { HASH_BYTES } from './constants.js'
import { decodeManifest, encodeManifest, type Manifest } from './ids.js'
import { windowChunks } from './packs.js'

/** Flags a blob carries on this node. */
export const BLOB_PINNED = 1
export const BLOB_SHAREABLE = 2
/** Produced here by `put` (always pinned too). */
export const BLOB_LOCAL = 4

export interface ChunkEntry {
  size: number
  present: boolean
  /** Pinned blobs that list this chunk: a chunk with pins is never evicted. */
  pins: number
  /** LRU position of a present, unpinned chunk. */
  seq: number
  /**
   * Where a present chunk's bytes are (storage version 2): the pack of blob `blob`, window file
   * `window`, byte `offset`. Undefined: a file named by its hash (version 1).
   */
  at?: ChunkLocation | undefined
}

export interface ChunkLocation {
  blob: Uint8Array
  window: number
  offset: number
}

/** A chunk that stopped being held, and what its files need: a version-1 file, or a window now empty. */
export interface ReleasedChunk {
  hash: Uint8Array
  at: ChunkLocation | undefined
  /** The last held chunk of its window file went: the file can be deleted. */
  windowEmpty: boolean
}

export interface IndexTotals {
  pinnedBytes: number
  unpinnedBytes: number
  chunks: number
}

/** A chunk entry of storage version 1 (and an absent chunk's): size, pins, LRU position, presence. */
const ENTRY_BYTES = 17
/** Version 2 appends a present chunk's location: blob id, window (u32), offset (u32). */
const LOCATED_ENTRY_BYTES = ENTRY_BYTES + HASH_BYTES + 8

function encodeEntry(e: ChunkEntry): Uint8Array {
  const located = e.present && e.at !== undefined
  const out = new Uint8Array(located ? LOCATED_ENTRY_BYTES : ENTRY_BYTES)
  const view = new DataView(out.buffer)
  view.setUint32(0, e.size)
  view.setUint32(4, e.pins)
  view.setFloat64(8, e.seq)
  out[16] = e.present ? 1 : 0
  if (located) {
    out.set(e.at!.blob, ENTRY_BYTES)
    view.setUint32(ENTRY_BYTES + HASH_BYTES, e.at!.window)
    view.setUint32(ENTRY_BYTES + HASH_BYTES + 4, e.at!.offset)
  }
  return out
}

function decodeEntry(bytes: Uint8Array): ChunkEntry {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const entry: ChunkEntry = {
    size: view.getUint32(0),
    pins: view.getUint32(4),
    seq: view.getFloat64(8),
    present: bytes[16] === 1,
  }
  if (bytes.byteLength >= LOCATED_ENTRY_BYTES) {
    entry.at = {
      blob: Uint8Array.from(bytes.subarray(ENTRY_BYTES, ENTRY_BYTES + HASH_BYTES)),
      window: view.getUint32(ENTRY_BYTES + HASH_BYTES),
      offset: view.getUint32(ENTRY_BYTES + HASH_BYTES + 4),
    }
  }
  return entry
}

function windowKey(at: ChunkLocation): Uint8Array {
  const key = new Uint8Array(HASH_BYTES + 4)
  key.set(at.blob)
  new DataView(key.buffer).setUint32(HASH_BYTES, at.window)
  return key
}

function sameWindow(a: ChunkLocation | undefined, b: ChunkLocation): boolean {
  return a !== undefined && a.window === b.window && Buffer.compare(a.blob, b.blob) === 0
}

function lruKey(seq: number, hash: Uint8Array): Uint8Array {
  const key = new Uint8Array(8 + HASH_BYTES)
  new DataView(key.buffer).setFloat64(0, seq)
  key.set(hash, 8)
  return key
}

/** Every distinct chunk hash of a manifest (a blob of repeated content lists one hash many times). */
export function distinctHashes(manifest: Manifest): Uint8Array[] {
  const seen = new Map<string, Uint8Array>()
  for (let i = 0; i < manifest.chunkCount; i++) {
    const hash = manifest.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)
    seen.set(Buffer.from(hash).toString('latin1'), hash)
  }
  return [...seen.values()]
}

/**
 * Chunk-hash bytes of decoded manifests kept in memory (4 MiB: the manifests of 32 GiB of blobs
 * in 256 KiB chunks). A manifest is immutable (its id is its hash), so a cached one never goes stale.
 */
const MANIFEST_CACHE_BYTES = 4 * 1024 * 1024

/**
 * The LMDB side of the store: manifests, blob flags, one entry per chunk (size, presence, pins,
 * LRU position), the LRU order of unpinned chunks and byte totals. Mutations run inside the
 * caller's `transactionSync`, so each change of state commits whole or not at all.
 */
export class ChunkIndex {
  private readonly manifests: Database<Uint8Array, Uint8Array>
  private readonly blobFlags: Database<number, Uint8Array>
  private readonly chunks: Database<Uint8Array, Uint8Array>
  private readonly lru: Database<Uint8Array, Uint8Array>
  private readonly meta: Database<number, string>
  /** Held chunks located in each pack window file (blob id ‖ window): the file goes at zero. */
  private readonly windows: Database<number, Uint8Array>
  /** Chunks released by the current transaction, for the store to clean their files after it. */
  private released: ReleasedChunk[] = []
  /** Decoded manifests by id (latin1), least recently used first; bytes of their hashes. */
  private readonly decoded = new Map<string, Manifest>()
  private decodedBytes = 0

  constructor(readonly root: RootDatabase) {
    const binary = { keyEncoding: 'binary', encoding: 'binary' } as const
    this.manifests = root.openDB({ name: 'blobs/manifests', ...binary })
    this.blobFlags = root.openDB({ name: 'blobs/flags', keyEncoding: 'binary' })
    this.chunks = root.openDB({ name: 'blobs/chunks', ...binary })
    this.lru = root.openDB({ name: 'blobs/lru', ...binary })
    this.meta = root.openDB({ name: 'blobs/meta' })
    this.windows = root.openDB({ name: 'blobs/windows', keyEncoding: 'binary' })
  }

  /**
   * Runs `fn` in one LMDB transaction; hands the chunks it released to `cleanup` once it committed
   * (a rolled-back transaction released nothing).
   */
  transaction<T>(fn: () => T, cleanup?: (released: ReleasedChunk[]) => void): T {
    this.released = []
    try {
      const out = this.root.transactionSync(fn)
      if (this.released.length > 0) cleanup?.(this.released)
      return out
    } finally {
      this.released = []
    }
  }

  /** The storage version recorded at open (undefined: a store of version 1, before its first open by version 2). */
  storageVersion(): number | undefined {
    return this.meta.get('storageVersion')
  }

  setStorageVersion(version: number): void {
    this.meta.putSync('storageVersion', version)
  }

  /** Held chunks located in the window of `at`. */
  windowCount(at: ChunkLocation): number {
    return this.windows.get(windowKey(at)) ?? 0
  }

  /**
   * The manifest held for `id`. Presence is asked of LMDB every time; only the decoding (which
   * recomputes the id: a tree of `chunkCount` hashes) is cached. Measured: 17-20 ms per decode of a
   * 256 MiB / 1 GiB blob's manifest under load, paid per 4 MiB window read and per request served.
   */
  manifest(id: Uint8Array): Manifest | undefined {
    const key = Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1')
    const cached = this.decoded.get(key)
    if (cached !== undefined) {
      if (!this.manifests.doesExist(id)) return undefined
      this.decoded.delete(key) // re-inserted: most recently used last
      this.decoded.set(key, cached)
      return cached
    }
    const bytes = this.manifests.get(id)
    if (bytes === undefined) return undefined
    const manifest = decodeManifest(bytes)
    this.remember(key, manifest)
    return manifest
  }

  /** Keeps a decoded manifest, evicting the least recently used beyond the cache's bytes. */
  private remember(key: string, manifest: Manifest): void {
    const bytes = manifest.hashes.byteLength
    if (bytes > MANIFEST_CACHE_BYTES) return
    this.decoded.set(key, manifest)
    this.decodedBytes += bytes
    for (const [k, m] of this.decoded) {
      if (this.decodedBytes <= MANIFEST_CACHE_BYTES) break
      this.decoded.delete(k)
      this.decodedBytes -= m.hashes.byteLength
    }
  }

  /** Every blob whose manifest is held, with its flags, in id order. */
  *blobs(): Generator<{ manifest: Manifest; flags: number }> {
    for (const { key, value } of this.manifests.getRange()) {
      yield { manifest: decodeManifest(value), flags: this.flags(key) }
    }
  }

  flags(id: Uint8Array): number {
    return this.blobFlags.get(id) ?? 0
  }

  /** Stores a verified manifest (once) and sets flags; pinning it pins its chunks. */
  putManifest(manifest: Manifest, flags: number): void {
    if (this.manifests.get(manifest.id) === undefined)
      this.manifests.putSync(manifest.id, encodeManifest(manifest))
    this.setFlags(manifest, flags, 0)
  }

  setFlags(manifest: Manifest, set: number, clear: number): void {
    const before = this.flags(manifest.id)
    const after = (before | set) & ~clear
    if (after === before) return
    this.blobFlags.putSync(manifest.id, after)
    const wasPinned = (before & BLOB_PINNED) !== 0
    const isPinned = (after & BLOB_PINNED) !== 0
    if (wasPinned !== isPinned)
      for (const hash of distinctHashes(manifest)) this.adjustPins(hash, isPinned ? 1 : -1)
  }

  chunk(hash: Uint8Array): ChunkEntry | undefined {
    const bytes = this.chunks.get(hash)
    return bytes === undefined ? undefined : decodeEntry(bytes)
  }

  /**
   * Records a chunk whose bytes are written (at `at`, or in a version-1 file named by its hash);
   * an unpinned one enters the LRU as the newest. A chunk held already stays where it is.
   */
  addChunk(hash: Uint8Array, size: number, at?: ChunkLocation): void {
    const e = this.chunk(hash) ?? { size, present: false, pins: 0, seq: 0 }
    if (e.present) {
      this.touch(hash)
      return
    }
    e.present = true
    e.size = size
    e.at = at
    if (at !== undefined) this.windows.putSync(windowKey(at), this.windowCount(at) + 1)
    if (e.pins > 0) this.addTotal('pinnedBytes', size)
    else this.enterLru(hash, e)
    this.addTotal('chunks', 1)
    this.chunks.putSync(hash, encodeEntry(e))
  }

  /** Moves an unpinned present chunk to the newest end of the LRU. */
  touch(hash: Uint8Array): void {
    const e = this.chunk(hash)
    if (e === undefined || !e.present || e.pins > 0) return
    this.lru.removeSync(lruKey(e.seq, hash))
    this.unpinnedLru(hash, e)
  }

  /** The chunk's file is gone or corrupt: it is no longer held (its pins stay). */
  markAbsent(hash: Uint8Array): void {
    const e = this.chunk(hash)
    if (e === undefined || !e.present) return
    if (e.pins > 0) this.addTotal('pinnedBytes', -e.size)
    else {
      this.lru.removeSync(lruKey(e.seq, hash))
      this.addTotal('unpinnedBytes', -e.size)
    }
    this.addTotal('chunks', -1)
    e.present = false
    let windowEmpty = false
    if (e.at !== undefined) {
      const left = this.windowCount(e.at) - 1
      windowEmpty = left <= 0
      if (windowEmpty) this.windows.removeSync(windowKey(e.at))
      else this.windows.putSync(windowKey(e.at), left)
    }
    this.released.push({ hash, at: e.at, windowEmpty })
    e.at = undefined
    if (e.pins === 0) this.chunks.removeSync(hash)
    else this.chunks.putSync(hash, encodeEntry(e))
  }

  /**
   * Drops least recently used unpinned chunks until their bytes fit `budget`, a pack window at a
   * time: with the oldest chunk go the other unpinned chunks held in its window file, so the file
   * itself can go (Node cannot punch holes in it). Returns the bytes dropped.
   */
  evict(budget: number): number {
    const before = this.totals().unpinnedBytes
    while (this.totals().unpinnedBytes > budget) {
      let oldest: Uint8Array | undefined
      for (const key of this.lru.getKeys({ limit: 1 })) oldest = key
      if (oldest === undefined) break
      const hash = Uint8Array.from(oldest.subarray(8))
      const at = this.chunk(hash)?.at
      this.markAbsent(hash)
      if (at !== undefined) this.evictWindow(at)
    }
    return before - this.totals().unpinnedBytes
  }

  /** Marks absent every unpinned chunk held in the window file of `at` (found through its blob's manifest). */
  private evictWindow(at: ChunkLocation): void {
    if (this.windowCount(at) === 0) return
    const manifest = this.manifest(at.blob)
    if (manifest === undefined) return
    const { first, last } = windowChunks(at.window, manifest.chunkSize, manifest.chunkCount)
    for (let i = first; i < last; i++) {
      const hash = manifest.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)
      const e = this.chunk(hash)
      if (e?.present === true && e.pins === 0 && sameWindow(e.at, at)) this.markAbsent(hash)
    }
  }

  totals(): IndexTotals {
    return {
      pinnedBytes: this.meta.get('pinnedBytes') ?? 0,
      unpinnedBytes: this.meta.get('unpinnedBytes') ?? 0,
      chunks: this.meta.get('chunks') ?? 0,
    }
  }

  /** Every chunk the index holds as present: hash (hex) to where (undefined: a version-1 file). */
  presentChunks(): Map<string, ChunkLocation | undefined> {
    const out = new Map<string, ChunkLocation | undefined>()
    for (const { key, value } of this.chunks.getRange()) {
      const e = decodeEntry(value)
      if (e.present) out.set(Buffer.from(key).toString('hex'), e.at)
    }
    return out
  }

  private adjustPins(hash: Uint8Array, delta: 1 | -1): void {
    const e = this.chunk(hash) ?? { size: 0, present: false, pins: 0, seq: 0 }
    const before = e.pins
    e.pins = Math.max(0, e.pins + delta)
    if (e.present && before === 0 && e.pins > 0) {
      this.lru.removeSync(lruKey(e.seq, hash))
      this.addTotal('unpinnedBytes', -e.size)
      this.addTotal('pinnedBytes', e.size)
    } else if (e.present && before > 0 && e.pins === 0) {
      this.addTotal('pinnedBytes', -e.size)
      this.enterLru(hash, e)
    }
    if (!e.present && e.pins === 0) this.chunks.removeSync(hash)
    else this.chunks.putSync(hash, encodeEntry(e))
  }

  private enterLru(hash: Uint8Array, e: ChunkEntry): void {
    this.addTotal('unpinnedBytes', e.size)
    e.seq = this.nextSeq()
    this.lru.putSync(lruKey(e.seq, hash), new Uint8Array(0))
  }

  private unpinnedLru(hash: Uint8Array, e: ChunkEntry): void {
    e.seq = this.nextSeq()
    this.lru.putSync(lruKey(e.seq, hash), new Uint8Array(0))
    this.chunks.putSync(hash, encodeEntry(e))
  }

  private nextSeq(): number {
    const seq = (this.meta.get('seq') ?? 0) + 1
    this.meta.putSync('seq', seq)
    return seq
  }

  private addTotal(name: keyof IndexTotals, delta: number): void {
    this.meta.putSync(name, (this.meta.get(name) ?? 0) + delta)
  }
}
