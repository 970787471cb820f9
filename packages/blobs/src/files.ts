import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { toHex } from './ids.js'

const HEX_NAME = /^[0-9a-f]{64}$/

/**
 * Chunk bytes in files named by their hash, under `dir/<first two hex digits>/`. A file is written
 * under a temporary name and renamed into place, so a crash leaves either no file or a whole one;
 * every read is verified against the manifest anyway, so even a torn file is never returned.
 */
export class ChunkFiles {
  private tmpCounter = 0

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true })
  }

  pathOf(hash: Uint8Array): string {
    const hex = toHex(hash)
    return join(this.dir, hex.slice(0, 2), hex)
  }

  write(hash: Uint8Array, bytes: Uint8Array): void {
    const path = this.pathOf(hash)
    const tmp = `${path}.${process.pid}.${this.tmpCounter++}.tmp`
    try {
      writeFileSync(tmp, bytes)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      mkdirSync(join(path, '..'), { recursive: true })
      writeFileSync(tmp, bytes)
    }
    renameSync(tmp, path)
  }

  /** As `write`, on libuv's thread pool, so hashing the next chunk overlaps the write of this one. */
  async writeAsync(hash: Uint8Array, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(hash)
    const tmp = `${path}.${process.pid}.${this.tmpCounter++}.tmp`
    try {
      await writeFile(tmp, bytes)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await mkdir(join(path, '..'), { recursive: true })
      await writeFile(tmp, bytes)
    }
    await rename(tmp, path)
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
