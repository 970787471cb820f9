/**
 * A full disk for one node of a simulation: its data directory is a small tmpfs of its own
 * (mounted here, so it needs root), filled with a filler file until a write fails with ENOSPC and
 * emptied again by removing it. Without root there is no mount: {@link mountFullDisk} throws a
 * {@link ScenarioConfigError} that says so.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ScenarioConfigError } from './errors.js'

export interface FullDisk {
  /** The mount point, the node's data directory. */
  readonly dir: string
  /** Fills the file system until a write fails with ENOSPC; returns the bytes written. */
  fill(): number
  /** Removes the filler: the space is back. */
  free(): void
  unmount(): void
}

const FILLER = '.soak-filler'

export function mountFullDisk(dir: string, sizeMiB: number): FullDisk {
  const uid = process.getuid?.()
  if (uid !== 0)
    throw new ScenarioConfigError(
      'fullDisk',
      `mounting a tmpfs needs root; running as uid ${uid ?? 'unknown'}`,
    )
  mkdirSync(dir, { recursive: true })
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim()
    throw new ScenarioConfigError('fullDisk', `cannot mount a tmpfs on ${dir}: ${stderr || String(error)}`)
  }
  const filler = join(dir, FILLER)
  return {
    dir,
    fill: () => fillFileSystem(filler),
    free: () => rmSync(filler, { force: true }),
    unmount() {
      rmSync(filler, { force: true })
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
    },
  }
}

function fillFileSystem(path: string): number {
  const fd = openSync(path, 'a')
  const chunk = Buffer.alloc(64 * 1024, 1)
  let written = 0
  try {
    // Down to single bytes, so not even a page is left for LMDB to grow into.
    for (let size = chunk.length; size >= 1; size >>= 1) {
      try {
        for (;;) written += writeSync(fd, chunk.subarray(0, size))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
      }
    }
    return written
  } finally {
    closeSync(fd)
  }
}
