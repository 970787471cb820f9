import { mkdtempSync, rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_TEMP_PREFIX } from './constants.js'

/** Anything a test opens on a temporary directory and must close before it is removed. */
export interface Closeable {
  close(): Promise<void> | void
}

/** One fresh directory under the OS temp dir; the caller removes it (see {@link TempDirs}). */
export function tempDir(prefix = DEFAULT_TEMP_PREFIX): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/**
 * Temporary data directories and what was opened on them: `cleanup` closes every adopted
 * store or node (newest first), then removes every directory. Call it from `afterEach` or
 * `afterAll`; a second call finds nothing left to do.
 */
export class TempDirs {
  private readonly dirs: string[] = []
  private readonly opened: Closeable[] = []

  /**
   * @param prefix - the directory name prefix, so a leftover names its test
   * @default 'provsync-test-'
   */
  constructor(private readonly prefix = DEFAULT_TEMP_PREFIX) {}

  /** A fresh directory, created synchronously. */
  dir(prefix = this.prefix): string {
    const dir = tempDir(prefix)
    this.dirs.push(dir)
    return dir
  }

  /** A fresh directory, created asynchronously. */
  async make(prefix = this.prefix): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    this.dirs.push(dir)
    return dir
  }

  /** Closes `opened` at cleanup, before the directories go; returns it. */
  adopt<T extends Closeable>(opened: T): T {
    this.opened.push(opened)
    return opened
  }

  async cleanup(): Promise<void> {
    for (const opened of this.opened.splice(0).reverse()) await opened.close()
    await Promise.all(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
  }

  /** Removes the directories without closing anything (a process that exits right after). */
  removeNow(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  }
}
