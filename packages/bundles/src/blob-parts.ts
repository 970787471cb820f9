/**
 * Blob parts of a bundle. `blob-manifests`: frames u32 BE length ‖ an encoded blob manifest
 * (blobs' `encodeManifest`; a decoded manifest's id is always recomputed). `blob-chunks`: frames
 * blob id (32) ‖ u32 BE chunk index ‖ u32 BE length ‖ the chunk's bytes, each chunk of a blob the
 * bundle's manifests part lists. A chunk is checked against its blob manifest as it streams: only
 * one chunk (1 MiB at most) is ever held.
 */
import { open } from 'node:fs/promises'
import {
  type BlobStore,
  chunkLength,
  chunkMatches,
  decodeManifest,
  encodeManifest,
  HASH_BYTES,
  MAX_CHUNK_SIZE,
  type Manifest,
  toHex,
} from '@provsync/blobs'
import { createBLAKE3 } from 'hash-wasm'
import { BadBlobError, BundleFormatError } from './errors.js'
import type { PartEntry } from './format.js'
import { type ByteSource, ShortReadError } from './source.js'

/** Largest encoded manifest a bundle may carry: a 64 GiB blob of 16 KiB chunks. */
export const MAX_BLOB_MANIFEST_BYTES = 10 + HASH_BYTES * 4 * 1024 * 1024
const CHUNK_HEADER_BYTES = HASH_BYTES + 8
const FLUSH_BYTES = 1 << 20

/** Which blobs an export carries, and which of their chunks. */
export interface BlobSelection {
  /** The store manifests and chunks are read from (and, on import, written to). */
  readonly store: BlobStore
  /** Blobs whose manifests the bundle carries; one not held by `store` is skipped. */
  readonly ids: readonly Uint8Array[]
  /**
   * Chunks carried: `none`, every chunk of those blobs `held` by the store, or per blob id (hex)
   * the chunk indices wanted (held ones only; a sneakernet answer).
   */
  readonly chunks: 'none' | 'held' | ReadonlyMap<string, readonly number[]>
}

/** Writes frames to a staging file while hashing them. */
class PartWriter {
  private pending: Uint8Array[] = []
  private pendingBytes = 0
  size = 0
  count = 0

  private constructor(
    private readonly handle: Awaited<ReturnType<typeof open>>,
    private readonly hasher: Awaited<ReturnType<typeof createBLAKE3>>,
  ) {}

  static async create(file: string): Promise<PartWriter> {
    const hasher = await createBLAKE3()
    hasher.init()
    return new PartWriter(await open(file, 'w'), hasher)
  }

  async frame(...pieces: Uint8Array[]): Promise<void> {
    for (const piece of pieces) {
      this.pending.push(piece)
      this.pendingBytes += piece.byteLength
    }
    this.count++
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush()
  }

  async finish(kind: PartEntry['kind']): Promise<PartEntry> {
    try {
      await this.flush()
    } finally {
      await this.handle.close()
    }
    return { kind, count: this.count, size: this.size, blake3: this.hasher.digest('hex') }
  }

  private async flush(): Promise<void> {
    const chunk = Buffer.concat(this.pending)
    this.pending = []
    this.pendingBytes = 0
    this.hasher.update(chunk)
    await this.handle.write(chunk)
    this.size += chunk.length
  }
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

/** The held manifests of the selection, each once, in the order given. */
export function selectedManifests(selection: BlobSelection): Manifest[] {
  const seen = new Set<string>()
  const out: Manifest[] = []
  for (const id of selection.ids) {
    const manifest = selection.store.localManifest(id)
    const key = toHex(id)
    if (manifest === undefined || seen.has(key)) continue
    seen.add(key)
    out.push(manifest)
  }
  return out
}

export async function stageBlobManifests(manifests: readonly Manifest[], file: string): Promise<PartEntry> {
  const writer = await PartWriter.create(file)
  for (const manifest of manifests) {
    const bytes = encodeManifest(manifest)
    await writer.frame(u32(bytes.byteLength), bytes)
  }
  return writer.finish('blob-manifests')
}

function wantedIndices(selection: BlobSelection, manifest: Manifest): Iterable<number> {
  const { chunks } = selection
  if (chunks === 'none') return []
  if (chunks === 'held') return Array.from({ length: manifest.chunkCount }, (_, i) => i)
  return chunks.get(toHex(manifest.id)) ?? []
}

/** Stages the selected chunks the store holds (each verified as it is read); returns the part. */
export async function stageBlobChunks(
  selection: BlobSelection,
  manifests: readonly Manifest[],
  file: string,
): Promise<PartEntry> {
  const writer = await PartWriter.create(file)
  for (const manifest of manifests) {
    const missing = new Set(selection.store.missing(manifest.id) ?? [])
    for (const index of wantedIndices(selection, manifest)) {
      if (missing.has(index) || !Number.isInteger(index) || index < 0 || index >= manifest.chunkCount)
        continue
      const bytes = selection.store.localChunk(manifest, index)
      if (bytes === undefined) continue
      await writer.frame(manifest.id, u32(index), u32(bytes.byteLength), bytes)
    }
  }
  return writer.finish('blob-chunks')
}

/** Reads a manifests part's frames: every manifest decoded (its id recomputed). */
export async function readBlobManifests(inner: ByteSource, entry: PartEntry, part: number) {
  const manifests = new Map<string, Manifest>()
  let index = 0
  while (await inner.hasMore()) {
    let bytes: Uint8Array
    try {
      const length = new DataView((await inner.readExact(4)).buffer).getUint32(0)
      if (length > MAX_BLOB_MANIFEST_BYTES) throw new BadBlobError(part, index, `manifest of ${length} bytes`)
      bytes = await inner.readExact(length)
    } catch (error) {
      if (error instanceof ShortReadError) throw new BadBlobError(part, index, 'truncated frame')
      throw error
    }
    let manifest: Manifest
    try {
      manifest = decodeManifest(bytes)
    } catch (error) {
      throw new BadBlobError(part, index, (error as Error).message)
    }
    manifests.set(toHex(manifest.id), manifest)
    index++
  }
  if (index !== entry.count) {
    throw new BadBlobError(part, index, `part holds ${index} manifests, the manifest says ${entry.count}`)
  }
  return manifests
}

/** One chunk frame, checked against the manifests of the bundle: it belongs, and its hash matches. */
export async function readChunkFrame(
  inner: ByteSource,
  manifests: ReadonlyMap<string, Manifest>,
  part: number,
  index: number,
): Promise<{ manifest: Manifest; chunk: number; bytes: Uint8Array }> {
  try {
    const head = await inner.readExact(CHUNK_HEADER_BYTES)
    const view = new DataView(head.buffer)
    const manifest = manifests.get(toHex(head.subarray(0, HASH_BYTES)))
    if (manifest === undefined)
      throw new BadBlobError(part, index, 'a chunk of a blob the bundle lists no manifest for')
    const chunk = view.getUint32(HASH_BYTES)
    const length = view.getUint32(HASH_BYTES + 4)
    if (chunk >= manifest.chunkCount)
      throw new BadBlobError(part, index, `chunk ${chunk} of ${manifest.chunkCount}`)
    if (length !== chunkLength(manifest, chunk) || length > MAX_CHUNK_SIZE) {
      throw new BadBlobError(
        part,
        index,
        `chunk ${chunk} of ${length} bytes, its manifest says ${chunkLength(manifest, chunk)}`,
      )
    }
    const bytes = await inner.readExact(length)
    if (!chunkMatches(manifest, chunk, bytes))
      throw new BadBlobError(part, index, `chunk ${chunk} does not match its hash`)
    return { manifest, chunk, bytes }
  } catch (error) {
    if (error instanceof ShortReadError) throw new BadBlobError(part, index, 'truncated frame')
    throw error
  }
}

/** The verifying pass over a chunks part: every chunk checked; returns how many there were. */
export async function checkBlobChunks(
  inner: ByteSource,
  entry: PartEntry,
  part: number,
  manifests: ReadonlyMap<string, Manifest> | undefined,
): Promise<number> {
  if (manifests === undefined)
    throw new BundleFormatError(`part ${part}: blob chunks before any blob manifests part`)
  let index = 0
  while (await inner.hasMore()) await readChunkFrame(inner, manifests, part, index++)
  if (index !== entry.count) {
    throw new BadBlobError(part, index, `part holds ${index} chunks, the manifest says ${entry.count}`)
  }
  return index
}
