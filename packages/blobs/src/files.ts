import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rename as renameCb,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFile as writeFileCb,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { toHex } from './ids.js'

const HEX_NAME = /^[0-9a-f]{64}$/

function writeFileAsync(path: string, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => writeFileCb(path, bytes, (err) => (err ? reject(err) : resolve())))
}

/**
 * Chunk bytes in files named by their hash, under `dir/<first two hex digits>/`. A file is written
 * under a temporary name and renamed into place, so a crash leaves either no file or a whole one;
 * every read is verified against the manifest anyway, so even a torn file is never returned.
 */
export class ChunkFiles {
  private tmpCounter = 0
  /** Two-hex-digit directories known to exist. */
  private readonly made = new Set<string>()

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true })
  }

  pathOf(hash: Uint8Array): string {
    const hex = toHex(hash)
    return join(this.dir, hex.slice(0, 2), hex)
  }

  /**
   * The chunk's path, its directory made once per store (not found out by a failed open per
   * directory, then mkdir and a second open: 256 of each in a fresh store's first put).
   */
  private placed(hash: Uint8Array): string {
    const hex = toHex(hash)
    const sub = hex.slice(0, 2)
    if (!this.made.has(sub)) {
      mkdirSync(join(this.dir, sub), { recursive: true })
      this.made.add(sub)
    }
    return join(this.dir, sub, hex)
  }

  private tmpOf(path: string): string {
    return `${path}.${process.pid}.${this.tmpCounter++}.tmp`
  }

  write(hash: Uint8Array, bytes: Uint8Array): void {
    const path = this.placed(hash)
    const tmp = this.tmpOf(path)
    try {
      writeFileSync(tmp, bytes)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      mkdirSync(join(path, '..'), { recursive: true }) // removed behind the store's back
      writeFileSync(tmp, bytes)
    }
    renameSync(tmp, path)
  }

  /**
   * As `write`, on libuv's thread pool, so hashing the next chunk overlaps the write of this one.
   * fs's callback API, not fs/promises: no FileHandle object (and its finalizer) per chunk.
   */
  async writeAsync(hash: Uint8Array, bytes: Uint8Array): Promise<void> {
    const path = this.placed(hash)
    const tmp = this.tmpOf(path)
    try {
      await writeFileAsync(tmp, bytes)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      mkdirSync(join(path, '..'), { recursive: true }) // removed behind the store's back
      await writeFileAsync(tmp, bytes)
    }
    await new Promise<void>((resolve, reject) =>
      renameCb(tmp, path, (err) => (err ? reject(err) : resolve())),
    )
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
      this.made.add(sub)
      for (const name of readdirSync(subdir)) {
        const path = join(subdir, name)
        if (HEX_NAME.test(name) && name.startsWith(sub)) found.set(name, statSync(path).size)
        else unlinkSync(path)
      }
    }
    return found
  }
}
