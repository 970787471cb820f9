import { join } from 'node:path'
import type { AbortOptions } from '@libp2p/interface'
import { open, type RootDatabase } from 'lmdb'
import {
  BLOB_LOCAL,
  BLOB_PINNED,
  BLOB_SHAREABLE,
  type ChunkEntry,
  ChunkIndex,
  type ChunkLocation,
  type ReleasedChunk,
} from './chunk-index.js'
import { type BlobSource, chunksOf } from './chunker.js'
import {
  DEFAULT_BUDGET_BYTES,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_BLOB_BYTES,
  DEFAULT_MAX_PEERS_PER_READ,
  HASH_BYTES,
} from './constants.js'
import { BlobNotFoundError, BlobRangeError, BlobStoreClosedError, BlobTooLargeError } from './errors.js'
import { type FetchContext, fetchChunks, fetchManifest } from './fetcher.js'
import { ChunkFiles } from './files.js'
import {
  assertChunkSize,
  type BlobRef,
  buildManifest,
  chunkHashAt,
  chunkLength,
  chunkMatches,
  hashChunk,
  type Manifest,
  toHex,
} from './ids.js'
import { PackFiles, type PackSlot, packOf, slotOf } from './packs.js'
import { readBlob } from './read-stream.js'
import { recoverStore, releaseFiles } from './recovery.js'
import { MAX_RUN_BYTES, RunWriter } from './run-writer.js'
import type { ChunkSource } from './source.js'
import { WriteWindow } from './write-window.js'

/**
 * Bytes of chunks `put` has in writing on the thread pool while it hashes the next chunks (the
 * chunks are the caller's bytes or the chunker's buffers: what is in flight stays alive). Twice
 * a gathered run (`MAX_RUN_BYTES`), so the oldest write it waits for was submitted already.
 */
const PUT_BYTES_IN_FLIGHT = 2 * MAX_RUN_BYTES
/**
 * Fetched chunks recorded in the index per transaction, and gathered into one write: what a
 * fetch killed with SIGKILL can lose is the batch arriving and the one being written.
 */
const INDEX_BATCH_CHUNKS = 16

/**
 * Bytes of fetched chunks gathered into one write. 1 MiB, not a whole batch (4 MiB at 256 KiB):
 * with batch-sized runs every fetch held its batch until the batch was complete, and the fetching
 * process's peak RSS rose from 168 to 195 and 205 MiB in 2 of 3 256 MiB reads (rss-probe.ts, load 8-9).
 */
const FETCH_RUN_BYTES = 1024 * 1024

interface FetchedChunk {
  hash: Uint8Array
  size: number
  at: ChunkLocation
  written: Promise<void>
}

export interface BlobStoreOptions {
  /**
   * Directory of the store: pack window files under `packs/` (chunk files of storage version 1
   * under `chunks/`, still read), the LMDB index under `index/` (unless `env`).
   */
  path: string
  /** An LMDB environment to keep the index in (the node's own), instead of one of the store's. @default undefined */
  env?: RootDatabase
  /** Bytes of fetched, unpinned chunks kept before the least recently used are evicted. @default 1 GiB */
  budgetBytes?: number
  /** Largest blob accepted, put or fetched. @default 64 GiB */
  maxBlobBytes?: number
  /** Peers one fetch tries before it gives up. @default 8 */
  maxPeersPerRead?: number
  /** Chunks a streamed read asks for at once (one more window is fetched ahead). @default 4 MiB of chunks, at least 4 */
  readAheadChunks?: number
  /** Skip fsync on index commits (an own environment only; tests and benchmarks). @default false */
  noSync?: boolean
  /** Where missing manifests and chunks come from; the blob service sets itself. @default undefined */
  source?: ChunkSource
  /** Called with what the store did, for metrics. @default undefined */
  observer?: StoreObserver
}

export interface StoreObserver {
  stored?(bytes: number): void
  fetched?(bytes: number): void
  evicted?(bytes: number): void
  corrupt?(bytes: number): void
  fetchSeconds?(seconds: number): void
}

export interface PutOptions extends AbortOptions {
  /** Bytes per chunk, a power of two from 16 KiB to 1 MiB. @default 256 KiB */
  chunkSize?: number
  /** May peers fetch it (see the service's `mayFetch`)? @default true */
  shareable?: boolean
}

export interface PutResult {
  ref: BlobRef
  manifest: Manifest
}

export interface FetchOptions extends AbortOptions {
  /** Peers to ask first, by peer id: the peer the referencing record came from. @default [] */
  from?: readonly string[]
}

export interface ReadOptions extends FetchOptions {
  /** First byte. @default 0 */
  start?: number
  /** Byte after the last one. @default the blob's size */
  end?: number
}

export interface BlobStatus {
  /** The manifest is held here. */
  manifest: boolean
  chunks: number
  held: number
  pinned: boolean
  shareable: boolean
  local: boolean
}

/** One blob whose manifest is held, as `list()` yields it. */
export interface BlobListing {
  manifest: Manifest
  pinned: boolean
  shareable: boolean
  local: boolean
}

export interface BlobStoreStats {
  pinnedBytes: number
  unpinnedBytes: number
  chunks: number
  budgetBytes: number
}

/** Opens (or creates) a blob store in `options.path`. */
export async function openBlobStore(options: BlobStoreOptions): Promise<BlobStore> {
  const env =
    options.env ??
    open({ path: join(options.path, 'index'), noSync: options.noSync === true, compression: false })
  const store = new BlobStore(options, env, options.env === undefined)
  store.recover()
  return store
}

/** Where a chunk's bytes are: a pack slot (version 2) or a file named by its hash (version 1). */
function slotOfEntry(entry: ChunkEntry): PackSlot | undefined {
  const at = entry.at
  return at === undefined ? undefined : { pack: packOf(at.blob), window: at.window, offset: at.offset }
}

function locationOf(id: Uint8Array, slot: PackSlot): ChunkLocation {
  return { blob: id, window: slot.window, offset: slot.offset }
}

let putCounter = 0

/**
 * Blobs on one node: chunks in pack window files (chunk `i` of a blob at `i × chunkSize` of its
 * pack), manifests, where each chunk is, pins and the LRU in LMDB. Every chunk is checked against
 * its manifest before it is stored and every time it is read.
 */
export class BlobStore {
  readonly budgetBytes: number
  readonly maxBlobBytes: number
  private readonly files: ChunkFiles
  private readonly packs: PackFiles
  private readonly index: ChunkIndex
  private source: ChunkSource | undefined
  private observer: StoreObserver | undefined
  private closed = false

  constructor(
    private readonly options: BlobStoreOptions,
    private readonly env: RootDatabase,
    private readonly ownsEnv: boolean,
  ) {
    this.budgetBytes = options.budgetBytes ?? DEFAULT_BUDGET_BYTES
    this.maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES
    this.files = new ChunkFiles(join(options.path, 'chunks'))
    this.packs = new PackFiles(join(options.path, 'packs'))
    this.index = new ChunkIndex(env)
    this.source = options.source
    this.observer = options.observer
  }

  /**
   * Brings index and disk in step after a crash (`recovery.ts`): verified unrecorded chunks
   * adopted, unfinished puts and stale entries dropped; then evicts down to the budget.
   */
  recover(): void {
    recoverStore(this.index, this.files, this.packs)
    this.evict()
  }

  /** Runs `fn` in one index transaction, then deletes the files of chunks it released. */
  private mutate<T>(fn: () => T): T {
    return this.index.transaction(fn, (released: ReleasedChunk[]) =>
      releaseFiles(this.files, this.packs, released),
    )
  }

  /** Is the chunk held, with its file or window file in place? */
  private holds(hash: Uint8Array): boolean {
    const entry = this.index.chunk(hash)
    if (entry?.present !== true) return false
    const slot = slotOfEntry(entry)
    if (slot === undefined) return this.files.exists(hash)
    return this.packs.sizeOf(slot.pack, slot.window) >= slot.offset + entry.size
  }

  /** Sets where missing manifests and chunks come from and who observes the store (the blob service). */
  attach(source: ChunkSource | undefined, observer: StoreObserver | undefined): void {
    this.source = source
    this.observer = observer
  }

  /**
   * Cuts `source` into chunks, stores them pinned, and returns the blob's reference and manifest.
   * The id is known only at the end: chunks go to a temporary pack (positional writes on the
   * thread pool while the next chunks hash), whose windows then become the blob's pack, and the
   * index records them after that, in one transaction with the manifest.
   */
  async put(source: BlobSource, options: PutOptions = {}): Promise<PutResult> {
    this.assertOpen()
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE
    assertChunkSize(chunkSize)
    const tmp = `put-${process.pid}-${putCounter++}`
    try {
      const { hashes, size, written } = await this.putChunks(source, chunkSize, tmp, options)
      const manifest = buildManifest(chunkSize, size, Buffer.concat(hashes, hashes.length * HASH_BYTES))
      const id = manifest.id
      this.movePack(tmp, packOf(id), written)
      const flags = BLOB_PINNED | BLOB_LOCAL | (options.shareable === false ? 0 : BLOB_SHAREABLE)
      this.mutate(() => {
        this.index.putManifest(manifest, flags)
        for (const [hex, w] of written) {
          this.index.addChunk(Buffer.from(hex, 'hex'), w.size, locationOf(id, w.slot))
        }
      })
      this.observer?.stored?.(size)
      return { ref: { id, size }, manifest }
    } finally {
      this.packs.removePack(tmp)
    }
  }

  /** Hashes and writes the chunks of a put into pack `tmp` (each distinct chunk not held, once). */
  private async putChunks(source: BlobSource, chunkSize: number, tmp: string, options: PutOptions) {
    const hashes: Uint8Array[] = []
    const written = new Map<string, { size: number; slot: PackSlot }>()
    const seen = new Set<string>()
    const writes = new WriteWindow(PUT_BYTES_IN_FLIGHT)
    const runs = new RunWriter(this.packs)
    let size = 0
    try {
      for await (const chunk of chunksOf(source, chunkSize)) {
        options.signal?.throwIfAborted()
        const index = hashes.length
        size += chunk.byteLength
        if (size > this.maxBlobBytes) throw new BlobTooLargeError(size, this.maxBlobBytes)
        const hash = hashChunk(chunk)
        hashes.push(hash)
        const key = toHex(hash)
        if (seen.has(key)) continue
        seen.add(key)
        if (this.holds(hash)) continue // another blob's chunk, held already
        const slot = slotOf(tmp, index, chunkSize)
        written.set(key, { size: chunk.byteLength, slot })
        await writes.add(runs.add(slot, chunk), chunk.byteLength)
      }
    } finally {
      runs.flush()
      await writes.settle()
    }
    await writes.drain()
    return { hashes, size, written }
  }

  /**
   * Makes a finished put's windows the blob's: renamed (one per 4 MiB), or, where the blob's window
   * exists already (it was fetched in part, or put before), the chunks written copied into it.
   */
  private movePack(tmp: string, pack: string, written: Map<string, { size: number; slot: PackSlot }>): void {
    const windows = new Set<number>()
    for (const w of written.values()) windows.add(w.slot.window)
    for (const window of windows) {
      if (this.packs.adoptWindow(tmp, pack, window)) continue
      for (const w of written.values()) {
        if (w.slot.window !== window) continue
        const bytes = this.packs.read(w.slot, w.size, new Uint8Array(w.size))!
        this.packs.writeSync({ ...w.slot, pack }, bytes)
      }
    }
    for (const w of written.values()) w.slot = { ...w.slot, pack }
  }

  /** The blob's manifest: held here, or fetched from peers and verified against the id. */
  async manifest(id: Uint8Array, options: FetchOptions = {}): Promise<Manifest> {
    this.assertOpen()
    const held = this.index.manifest(id)
    if (held !== undefined) return held
    const manifest = await fetchManifest(this.fetchContext(id), id, options.from ?? [], options)
    this.index.transaction(() => this.index.putManifest(manifest, 0))
    return manifest
  }

  /** Chunks `firstChunk .. firstChunk + count - 1`, each verified; missing ones are fetched. */
  async range(
    id: Uint8Array,
    firstChunk: number,
    count: number,
    options: FetchOptions = {},
  ): Promise<Uint8Array[]> {
    const out: Uint8Array[] = new Array(count)
    await this.rangeInto(
      id,
      firstChunk,
      count,
      (index, bytes) => {
        out[index - firstChunk] = bytes
      },
      options,
    )
    return out
  }

  /**
   * Hands each chunk of `firstChunk .. firstChunk + count - 1` to `deliver` as soon as it is verified:
   * held ones first, then fetched ones as they arrive (in any order). Resolves when all were delivered.
   */
  async rangeInto(
    id: Uint8Array,
    firstChunk: number,
    count: number,
    deliver: (index: number, bytes: Uint8Array) => void,
    options: FetchOptions = {},
  ): Promise<void> {
    const manifest = await this.manifest(id, options)
    const ok = Number.isInteger(firstChunk) && Number.isInteger(count) && firstChunk >= 0 && count >= 0
    if (!ok || firstChunk + count > manifest.chunkCount) {
      throw new BlobRangeError(toHex(id), `chunks ${firstChunk} + ${count} of ${manifest.chunkCount}`)
    }
    const missing: number[] = []
    for (let i = firstChunk; i < firstChunk + count; i++) {
      // A chunk the index does not hold is not looked for on disk: recovery at open adopts every
      // verified chunk a crash left unrecorded.
      const bytes = this.localChunk(manifest, i)
      if (bytes === undefined) missing.push(i)
      else deliver(i, bytes)
    }
    if (missing.length > 0) await this.fetch(manifest, missing, options, deliver)
  }

  /** The bytes `[start, end)` of the blob as a stream of pieces, fetching what is missing ahead. */
  read(id: Uint8Array, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    return readBlob(this, id, { ...options, readAheadChunks: this.options.readAheadChunks })
  }

  /** Chunk `index` if held here and intact; a corrupt or vanished chunk is forgotten (and refetched later). */
  localChunk(manifest: Manifest, index: number): Uint8Array | undefined {
    this.assertOpen()
    return this.readLocal(manifest, index, undefined)
  }

  /**
   * As `localChunk`, read into `target` (at least the chunk's length): the answer is a view of
   * `target`, valid until the caller reuses it. What a server sends from, so serving a blob does
   * not allocate a buffer per chunk.
   */
  localChunkInto(manifest: Manifest, index: number, target: Uint8Array): Uint8Array | undefined {
    this.assertOpen()
    return this.readLocal(manifest, index, target)
  }

  /**
   * Reads a held chunk from its pack window (one descriptor per window, kept open) or its
   * version-1 file, and checks it against the manifest: the disk can rot under a verified chunk,
   * and a peer that got it would blame this node (README: "Serving without the re-hash").
   */
  private readLocal(manifest: Manifest, index: number, target: Uint8Array | undefined) {
    const hash = chunkHashAt(manifest, index)
    const entry = this.index.chunk(hash)
    if (entry?.present !== true) return undefined
    const length = chunkLength(manifest, index)
    const slot = slotOfEntry(entry)
    let bytes: Uint8Array | undefined
    if (slot !== undefined) bytes = this.packs.read(slot, length, target ?? new Uint8Array(length))
    else if (target === undefined) bytes = this.files.read(hash)
    else {
      const read = this.files.readInto(hash, target)
      bytes = read === null ? new Uint8Array(0) : read // larger than the buffer: not the chunk
    }
    if (bytes !== undefined && chunkMatches(manifest, index, bytes)) {
      if (entry.pins === 0) this.mutate(() => this.index.touch(hash))
      return bytes
    }
    if (bytes !== undefined) this.observer?.corrupt?.(bytes.byteLength)
    this.mutate(() => this.index.markAbsent(hash)) // a version-1 file is deleted, a pack slot left unrecorded
    return undefined
  }

  /** The manifest if held here (no fetch). */
  localManifest(id: Uint8Array): Manifest | undefined {
    this.assertOpen()
    return this.index.manifest(id)
  }

  status(id: Uint8Array): BlobStatus {
    const manifest = this.localManifest(id)
    const flags = this.index.flags(id)
    let held = 0
    for (let i = 0; i < (manifest?.chunkCount ?? 0); i++) {
      if (this.index.chunk(chunkHashAt(manifest!, i))?.present === true) held++
    }
    return {
      manifest: manifest !== undefined,
      chunks: manifest?.chunkCount ?? 0,
      held,
      pinned: (flags & BLOB_PINNED) !== 0,
      shareable: (flags & BLOB_SHAREABLE) !== 0,
      local: (flags & BLOB_LOCAL) !== 0,
    }
  }

  /** Every blob whose manifest is held here, in id order. */
  *list(): Generator<BlobListing> {
    this.assertOpen()
    for (const { manifest, flags } of this.index.blobs()) {
      yield {
        manifest,
        pinned: (flags & BLOB_PINNED) !== 0,
        shareable: (flags & BLOB_SHAREABLE) !== 0,
        local: (flags & BLOB_LOCAL) !== 0,
      }
    }
  }

  /**
   * Indices of the chunks of `id` the index does not hold (no fetch, no file read); undefined when
   * the manifest itself is not held.
   */
  missing(id: Uint8Array): number[] | undefined {
    const manifest = this.localManifest(id)
    if (manifest === undefined) return undefined
    const out: number[] = []
    for (let i = 0; i < manifest.chunkCount; i++) {
      if (this.index.chunk(chunkHashAt(manifest, i))?.present !== true) out.push(i)
    }
    return out
  }

  /**
   * Keeps a manifest obtained elsewhere (a bundle). A `Manifest` is only ever built by hashing
   * (`decodeManifest` recomputes the id), so it is verified by construction. Pinned when asked.
   */
  adoptManifest(manifest: Manifest, options: { pin?: boolean } = {}): void {
    this.assertOpen()
    if (manifest.size > this.maxBlobBytes) throw new BlobTooLargeError(manifest.size, this.maxBlobBytes)
    this.index.transaction(() => this.index.putManifest(manifest, options.pin === true ? BLOB_PINNED : 0))
  }

  /**
   * Stores chunk `index` of `manifest` obtained elsewhere (a bundle) once it matches the manifest;
   * returns false, storing nothing, when it does not. The manifest is adopted first if not held.
   */
  async storeChunk(manifest: Manifest, index: number, bytes: Uint8Array): Promise<boolean> {
    this.assertOpen()
    if (!Number.isInteger(index) || index < 0 || index >= manifest.chunkCount) return false
    if (!chunkMatches(manifest, index, bytes)) return false
    if (this.index.manifest(manifest.id) === undefined) this.adoptManifest(manifest)
    const hash = chunkHashAt(manifest, index)
    if (this.holds(hash)) return true
    const slot = slotOf(packOf(manifest.id), index, manifest.chunkSize)
    await this.packs.write(slot, bytes)
    this.mutate(() => this.index.addChunk(hash, bytes.byteLength, locationOf(manifest.id, slot)))
    this.evict()
    return true
  }

  /** Keeps the blob's chunks (held now or fetched later) out of eviction. */
  async pin(id: Uint8Array, options: FetchOptions = {}): Promise<void> {
    const manifest = await this.manifest(id, options)
    this.index.transaction(() => this.index.setFlags(manifest, BLOB_PINNED, 0))
  }

  /** Lets the blob's chunks be evicted again (least recently used first). */
  unpin(id: Uint8Array): void {
    const manifest = this.requireManifest(id)
    this.mutate(() => this.index.setFlags(manifest, 0, BLOB_PINNED))
    this.evict()
  }

  /** Marks the blob as one peers may fetch (the default `mayFetch`), or not. */
  setShareable(id: Uint8Array, shareable: boolean): void {
    const manifest = this.requireManifest(id)
    this.index.transaction(() =>
      this.index.setFlags(manifest, shareable ? BLOB_SHAREABLE : 0, shareable ? 0 : BLOB_SHAREABLE),
    )
  }

  isShareable(id: Uint8Array): boolean {
    return (this.index.flags(id) & BLOB_SHAREABLE) !== 0
  }

  /** Evicts least recently used unpinned chunks down to the budget; returns the bytes evicted. */
  evict(): number {
    // Under budget (each batch of fetched chunks asks): no write transaction.
    if (this.index.totals().unpinnedBytes <= this.budgetBytes) return 0
    const bytes = this.mutate(() => this.index.evict(this.budgetBytes))
    if (bytes > 0) this.observer?.evicted?.(bytes)
    return bytes
  }

  stats(): BlobStoreStats {
    return { ...this.index.totals(), budgetBytes: this.budgetBytes }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.packs.close()
    if (this.ownsEnv) await this.env.close()
  }

  private async fetch(
    manifest: Manifest,
    wanted: number[],
    options: FetchOptions,
    deliver: (index: number, bytes: Uint8Array) => void,
  ): Promise<void> {
    const started = performance.now()
    // Chunks are written into the blob's pack on the thread pool while the next ones arrive, a
    // batch gathered into one positional writev; the index records a batch once its bytes are
    // written, while the next batch arrives (one commit outstanding).
    const pack = packOf(manifest.id)
    const runs = new RunWriter(this.packs, FETCH_RUN_BYTES)
    let batch: FetchedChunk[] = []
    let committing: Promise<void> = Promise.resolve()
    const accept = async (index: number, bytes: Uint8Array): Promise<void> => {
      const slot = slotOf(pack, index, manifest.chunkSize)
      const written = runs.add(slot, bytes) // a failed write only leaves the chunk unrecorded
      batch.push({
        hash: chunkHashAt(manifest, index),
        size: bytes.byteLength,
        at: locationOf(manifest.id, slot),
        written,
      })
      this.observer?.fetched?.(bytes.byteLength)
      deliver(index, bytes)
      if (batch.length < INDEX_BATCH_CHUNKS) return
      runs.flush()
      const entries = batch
      batch = []
      await committing // the batch before had this batch's arrival to be written
      committing = this.commitFetched(entries)
      committing.catch(() => {}) // awaited above at the next batch, or below
    }
    try {
      await fetchChunks(this.fetchContext(manifest.id), manifest, wanted, options.from ?? [], accept, options)
    } finally {
      runs.flush()
      await committing
      await this.commitFetched(batch)
      this.observer?.fetchSeconds?.((performance.now() - started) / 1000)
    }
  }

  /** Records the fetched chunks whose bytes were written, in one transaction, then evicts. */
  private async commitFetched(entries: FetchedChunk[]): Promise<void> {
    const results = await Promise.allSettled(entries.map((e) => e.written))
    if (entries.length === 0 || this.closed) return
    this.mutate(() => {
      entries.forEach((e, i) => {
        if (results[i]!.status === 'fulfilled') this.index.addChunk(e.hash, e.size, e.at)
      })
    })
    this.evict()
  }

  private fetchContext(id: Uint8Array): FetchContext {
    if (this.source === undefined) throw new BlobNotFoundError(toHex(id))
    return {
      source: this.source,
      maxBlobBytes: this.maxBlobBytes,
      maxPeers: this.options.maxPeersPerRead ?? DEFAULT_MAX_PEERS_PER_READ,
    }
  }

  private requireManifest(id: Uint8Array): Manifest {
    const manifest = this.localManifest(id)
    if (manifest === undefined) throw new BlobNotFoundError(toHex(id))
    return manifest
  }

  private assertOpen(): void {
    if (this.closed) throw new BlobStoreClosedError()
  }
}
