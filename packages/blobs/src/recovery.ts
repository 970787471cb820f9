import type { ChunkIndex, ChunkLocation, ReleasedChunk } from './chunk-index.js'
import type { ChunkFiles } from './files.js'
import { chunkHashAt, chunkLength, chunkMatches, parseBlobId } from './ids.js'
import { type PackFiles, packOf, slotOf, windowChunks } from './packs.js'

/** Deletes what released chunks leave behind: a version-1 chunk file, a pack window file now empty. */
export function releaseFiles(files: ChunkFiles, packs: PackFiles, released: ReleasedChunk[]): void {
  for (const { hash, at, windowEmpty } of released) {
    if (at === undefined) files.remove(hash)
    else if (windowEmpty) packs.removeWindow(packOf(at.blob), at.window)
  }
}

/**
 * Brings the index and the disk back in step after a crash (run at open):
 * - version-1 chunk files (named by hash): temporary files removed, files the index missed
 *   adopted as the least recently used fetched chunks, entries whose file is gone dropped;
 * - pack directories of a put that did not finish (no blob id yet) removed, and the pack of a
 *   blob whose manifest is not held (a put that crashed before its commit) removed;
 * - located entries whose window file is gone dropped;
 * - bytes in a window file the index does not record (a crash between write and commit) are
 *   hash-checked against the manifest, slot by slot, and adopted only when they match, so
 *   nothing unverified is ever recorded; a window left with nothing held is deleted.
 */
export function recoverStore(index: ChunkIndex, files: ChunkFiles, packs: PackFiles): void {
  const onDisk = files.sweep()
  const { blobs, other } = packs.packs()
  for (const name of other) packs.removePack(name)
  const present = index.presentChunks()
  const windowsOnDisk = new Set<string>()
  for (const [pack, windows] of blobs) for (const w of windows) windowsOnDisk.add(`${pack}/${w}`)
  const cleanup = (released: ReleasedChunk[]): void => releaseFiles(files, packs, released)
  index.transaction(() => {
    for (const [hex, size] of onDisk) if (!present.has(hex)) index.addChunk(Buffer.from(hex, 'hex'), size)
    for (const [hex, at] of present) {
      const gone = at === undefined ? !onDisk.has(hex) : !windowsOnDisk.has(`${packOf(at.blob)}/${at.window}`)
      if (gone) index.markAbsent(Buffer.from(hex, 'hex'))
    }
  }, cleanup)
  for (const [pack, windows] of blobs) {
    const id = parseBlobId(pack)
    if (index.manifest(id) === undefined) {
      packs.removePack(pack)
      continue
    }
    for (const window of windows) index.transaction(() => adoptWindow(index, packs, id, window), cleanup)
  }
  if (index.storageVersion() === undefined) index.transaction(() => index.setStorageVersion(2))
}

/** Adopts the verified, unrecorded chunks of one window file; deletes the file if it holds none. */
function adoptWindow(index: ChunkIndex, packs: PackFiles, id: Uint8Array, window: number): void {
  const manifest = index.manifest(id)!
  const pack = packOf(id)
  const size = packs.sizeOf(pack, window)
  const { first, last } = windowChunks(window, manifest.chunkSize, manifest.chunkCount)
  let buffer: Uint8Array | undefined
  for (let i = first; i < last; i++) {
    const length = chunkLength(manifest, i)
    const slot = slotOf(pack, i, manifest.chunkSize)
    if (slot.offset + length > size) break
    const hash = chunkHashAt(manifest, i)
    if (index.chunk(hash)?.present === true) continue
    buffer ??= new Uint8Array(manifest.chunkSize)
    const bytes = packs.read(slot, length, buffer)
    if (bytes === undefined || !chunkMatches(manifest, i, bytes)) continue
    const at: ChunkLocation = { blob: id, window, offset: slot.offset }
    index.addChunk(hash, length, at)
  }
  if (index.windowCount({ blob: id, window, offset: 0 }) === 0) packs.removeWindow(pack, window)
}
