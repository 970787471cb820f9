import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  write as writeCb,
  writeSync,
  writev as writevCb,
} from 'node:fs'
import { join } from 'node:path'
import { toHex } from './ids.js'

/**
 * Bytes of one pack window file (storage version 2): a blob's chunks live in files of 4 MiB, chunk
 * `i` at `i × chunkSize` of the blob, i.e. in window `⌊i × chunkSize / 4 MiB⌋` at the remainder.
 * Measured (`bench/pack-probe.ts`, 256 MiB in 256 KiB chunks, 8 MiB in flight, load 10): one file
 * per chunk 277 ms wall / 239 ms CPU, one pack 60 / 53 ms, 4 MiB windows 68 / 65 ms. Windows cost
 * ~15 % over one pack and are what eviction deletes (Node cannot punch holes), so the budget frees
 * real disk space in 4 MiB steps. A power of two ≥ the largest chunk size (1 MiB).
 */
export const PACK_WINDOW_BYTES = 4 * 1024 * 1024
/** Pack descriptors kept open (serving and fetching a few blobs at once reuse them). */
const MAX_OPEN_PACKS = 32
const HEX_ID = /^[0-9a-f]{64}$/
const WINDOW_NAME = /^(0|[1-9][0-9]{0,9})$/

/** Where a chunk's bytes are: a window file of a pack directory (a blob id, or a put's temporary name). */
export interface PackSlot {
  pack: string
  window: number
  offset: number
}

interface OpenPack {
  fd: number
  writes: number
  /** Unlinked or renamed while writes were pending: closed by the last of them. */
  doomed: boolean
}

function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= bytes.byteLength) {
        resolve()
        return
      }
      writeCb(fd, bytes, done, bytes.byteLength - done, position + done, (err, n) => {
        if (err) reject(err)
        else step(done + n)
      })
    }
    step(0)
  })
}

/**
 * Pack window files under `dir/<pack>/<window>`: positional writes on the thread pool, positional
 * reads on the caller's thread, one descriptor per window kept open (at most 32, least recently
 * used closed first; never one with writes in flight, so a descriptor number is never reused
 * under a pending write).
 */
export class PackFiles {
  private readonly open = new Map<string, OpenPack>()

  constructor(readonly dir: string) {}

  pathOf(pack: string, window: number): string {
    return join(this.dir, pack, String(window))
  }

  /** Writes `bytes` at `slot` (the window file and its directory made if needed). */
  write(slot: PackSlot, bytes: Uint8Array): Promise<void> {
    return this.writing(slot, (fd) => writeAt(fd, bytes, slot.offset))
  }

  /** Writes `chunks` one after the other from `slot` in one positional `writev` (a short write is finished by `writeAt`). */
  async writev(slot: PackSlot, chunks: Uint8Array[]): Promise<void> {
    if (chunks.length === 1) return this.write(slot, chunks[0]!)
    return this.writing(slot, async (fd) => {
      const written = await new Promise<number>((resolve, reject) =>
        writevCb(fd, chunks, slot.offset, (err, n) => (err ? reject(err) : resolve(n))),
      )
      let at = 0
      for (const chunk of chunks) {
        const end = at + chunk.byteLength
        if (end > written)
          await writeAt(fd, chunk.subarray(Math.max(0, written - at)), slot.offset + Math.max(at, written))
        at = end
      }
    })
  }

  /**
   * Runs `write` on the descriptor of `slot`'s window file (made if needed), counted as a write
   * in flight: the descriptor is not closed under it (a doomed one is closed by its last write).
   */
  private async writing(slot: PackSlot, write: (fd: number) => Promise<void>): Promise<void> {
    const entry = this.acquire(this.pathOf(slot.pack, slot.window), true)!
    entry.writes++
    try {
      await write(entry.fd)
    } finally {
      entry.writes--
      if (entry.doomed && entry.writes === 0) closeSync(entry.fd)
    }
  }

  /** As `write`, on the caller's thread (a put's chunks copied into a blob's existing window). */
  writeSync(slot: PackSlot, bytes: Uint8Array): void {
    const entry = this.acquire(this.pathOf(slot.pack, slot.window), true)!
    let done = 0
    while (done < bytes.byteLength) {
      done += writeSync(entry.fd, bytes, done, bytes.byteLength - done, slot.offset + done)
    }
  }

  /**
   * Reads `length` bytes at `slot` into `target`: a view of `target`, shorter when the file is, or
   * undefined when there is no such file.
   */
  read(slot: PackSlot, length: number, target: Uint8Array): Uint8Array | undefined {
    const entry = this.acquire(this.pathOf(slot.pack, slot.window), false)
    if (entry === undefined) return undefined
    let filled = 0
    while (filled < length) {
      const n = readSync(entry.fd, target, filled, length - filled, slot.offset + filled)
      if (n === 0) break
      filled += n
    }
    return target.subarray(0, filled)
  }

  /** Size of a window file, or -1 when there is none. */
  sizeOf(pack: string, window: number): number {
    try {
      return statSync(this.pathOf(pack, window)).size
    } catch {
      return -1
    }
  }

  /** Deletes a window file (and its pack directory once empty). Writes in flight land in the unlinked file. */
  removeWindow(pack: string, window: number): void {
    const path = this.pathOf(pack, window)
    this.forget(path)
    rmSync(path, { force: true })
    try {
      rmdirSync(join(this.dir, pack))
    } catch {
      // not empty (other windows), or gone already
    }
  }

  /** Deletes a pack directory whole (a put that did not finish). */
  removePack(pack: string): void {
    for (const path of [...this.open.keys()])
      if (path.startsWith(join(this.dir, pack, '/'))) this.forget(path)
    rmSync(join(this.dir, pack), { recursive: true, force: true })
  }

  /**
   * Moves a finished put's window file to its blob's pack; false (nothing moved) when the blob's
   * window exists already (the caller copies its slots in instead).
   */
  adoptWindow(from: string, to: string, window: number): boolean {
    const target = this.pathOf(to, window)
    if (this.sizeOf(to, window) >= 0) return false
    mkdirSync(join(this.dir, to), { recursive: true })
    this.forget(this.pathOf(from, window))
    renameSync(this.pathOf(from, window), target)
    return true
  }

  /** Pack directories present: blob ids (hex) and other names (a put's temporary packs). */
  packs(): { blobs: Map<string, number[]>; other: string[] } {
    const blobs = new Map<string, number[]>()
    const other: string[] = []
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch {
      return { blobs, other }
    }
    for (const name of names) {
      if (!HEX_ID.test(name)) {
        other.push(name)
        continue
      }
      const windows: number[] = []
      for (const file of readdirSync(join(this.dir, name))) {
        if (WINDOW_NAME.test(file)) windows.push(Number(file))
        else unlinkSync(join(this.dir, name, file))
      }
      blobs.set(name, windows)
    }
    return { blobs, other }
  }

  /** Closes every descriptor without writes in flight (the rest close when their writes end). */
  close(): void {
    for (const path of [...this.open.keys()]) this.forget(path)
  }

  private acquire(path: string, create: boolean): OpenPack | undefined {
    const cached = this.open.get(path)
    if (cached !== undefined) {
      this.open.delete(path) // re-inserted: most recently used last
      this.open.set(path, cached)
      return cached
    }
    let fd: number
    try {
      fd = openSync(path, constants.O_RDWR | (create ? constants.O_CREAT : 0), 0o644)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' && create) {
        mkdirSync(join(path, '..'), { recursive: true })
        return this.acquire(path, create)
      }
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
      throw err
    }
    const entry = { fd, writes: 0, doomed: false }
    this.open.set(path, entry)
    this.trim()
    return entry
  }

  private trim(): void {
    for (const [path, entry] of this.open) {
      if (this.open.size <= MAX_OPEN_PACKS) return
      if (entry.writes === 0) this.forget(path)
    }
  }

  /** Drops a descriptor from the cache: closed now, or by its last pending write. */
  private forget(path: string): void {
    const entry = this.open.get(path)
    if (entry === undefined) return
    this.open.delete(path)
    if (entry.writes === 0) closeSync(entry.fd)
    else entry.doomed = true
  }
}

/** The pack directory name of a blob. */
export function packOf(id: Uint8Array): string {
  return toHex(id)
}

/** Chunks `first` to `last` (exclusive) of a blob of `chunkCount` chunks of `chunkSize` that lie in window file `window`. */
export function windowChunks(
  window: number,
  chunkSize: number,
  chunkCount: number,
): { first: number; last: number } {
  const first = (window * PACK_WINDOW_BYTES) / chunkSize
  return { first, last: Math.min(chunkCount, first + PACK_WINDOW_BYTES / chunkSize) }
}

/** Where chunk `index` of a blob in `chunkSize` chunks lives in its pack. */
export function slotOf(pack: string, index: number, chunkSize: number): PackSlot {
  const at = index * chunkSize
  const window = Math.floor(at / PACK_WINDOW_BYTES)
  return { pack, window, offset: at - window * PACK_WINDOW_BYTES }
}
