import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs'
import { join } from 'node:path'
import { toHex } from './ids.js'

const HEX_NAME = /^[0-9a-f]{64}$/

/**
 * Chunk bytes in files named by their hash, under `dir/<first two hex digits>/`: storage version 1,
 * read (and removed on eviction) but no longer written (version 2 writes pack windows, `packs.ts`).
 * Version 1 wrote a file under a temporary name and renamed it into place; every read is verified
 * against the manifest anyway, so even a torn file is never returned.
 */
export class ChunkFiles {
  constructor(readonly dir: string) {}

  pathOf(hash: Uint8Array): string {
    const hex = toHex(hash)
    return join(this.dir, hex.slice(0, 2), hex)
  }

  /** The file's bytes, or undefined when there is none. */
  read(hash: Uint8Array): Uint8Array | undefined {
    try {
      return readFileSync(this.pathOf(hash))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  /**
   * The file's bytes read into `target` (a view of its first bytes), undefined when there is no
   * file, or `null` when the file is larger than `target` (not the chunk: the caller treats it as
   * damaged without reading it).
   */
  readInto(hash: Uint8Array, target: Uint8Array): Uint8Array | undefined | null {
    let fd: number
    try {
      fd = openSync(this.pathOf(hash), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    try {
      const size = fstatSync(fd).size
      if (size > target.byteLength) return null
      let filled = 0
      while (filled < size) {
        const n = readSync(fd, target, filled, size - filled, filled)
        if (n === 0) break
        filled += n
      }
      return target.subarray(0, filled)
    } finally {
      closeSync(fd)
    }
  }

  exists(hash: Uint8Array): boolean {
    try {
      return statSync(this.pathOf(hash)).isFile()
    } catch {
      return false
    }
  }

  remove(hash: Uint8Array): void {
    rmSync(this.pathOf(hash), { force: true })
  }

  /**
   * Removes temporary files a crash left behind and lists the chunk files present (by hex name),
   * with their sizes, so the index can adopt the ones it does not know.
   */
  sweep(): Map<string, number> {
    const found = new Map<string, number>()
    if (!existsSync(this.dir)) return found
    for (const sub of readdirSync(this.dir)) {
      const subdir = join(this.dir, sub)
      if (!statSync(subdir).isDirectory()) continue
      for (const name of readdirSync(subdir)) {
        const path = join(subdir, name)
        if (HEX_NAME.test(name) && name.startsWith(sub)) found.set(name, statSync(path).size)
        else unlinkSync(path)
      }
    }
    return found
  }
}
