/**
 * The nodes' store directories of the runs in progress, removed if the process is stopped by
 * SIGINT or SIGTERM. Session 15: a simulation killed mid-run left its `/dev/shm/provsync-sim-*`
 * directory behind (3.9 GB from one 32-node run, on tmpfs, i.e. memory); a run that ends removes
 * its own (`close()`), a killed one never reached that.
 */
import { rmSync } from 'node:fs'

/**
 * How a shell reports a process a signal ended (128 + its number): after cleaning up, the process
 * ends by the signal itself (its handlers removed, the signal raised again), so a parent sees it
 * killed by SIGINT / SIGTERM and a shell shows these codes. Not `process.exit(code)`: that joins
 * the node threads, and one blocked in LMDB's native code hung the exit for good (seen once in a
 * test run at load 8: the main thread in a futex wait for 11 minutes).
 */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const

export type StopSignal = keyof typeof SIGNAL_EXIT_CODES

const dirs = new Set<string>()
const halts = new Set<() => Promise<void>>()
let installed = false

/** Longest a signal waits for {@link haltOnSignal}'s work before it removes the directories anyway. */
const HALT_TIMEOUT_MS = 5_000

/**
 * Removes `dir` (recursively) if SIGINT or SIGTERM reaches this process before
 * {@link forgetOnSignal}; installs the process's handlers on first use. When they are this
 * process's only handlers of the signal, the process then ends by that signal (a shell reports
 * {@link SIGNAL_EXIT_CODES}); an embedder with handlers of its own keeps deciding when to exit.
 */
export function removeOnSignal(dir: string): void {
  dirs.add(dir)
  if (installed) return
  installed = true
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]) {
    process.on(signal, () => void onSignal(signal))
  }
}

/**
 * `halt` runs first when a signal comes (at most 5 s): node threads still writing into a
 * directory would recreate what the removal took (an LMDB open makes its directory), so a
 * threaded run stops its threads before. Returns the function that unregisters it.
 */
export function haltOnSignal(halt: () => Promise<void>): () => void {
  halts.add(halt)
  return () => {
    halts.delete(halt)
  }
}

let cleaning: Promise<void> | undefined

/** Halts what {@link haltOnSignal} registered (at most 5 s), then removes the directories; once. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    if (halts.size > 0) {
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, HALT_TIMEOUT_MS).unref())
      await Promise.race([Promise.allSettled([...halts].map((halt) => halt())), timeout])
    }
    removeScratchDirs()
  })()
  return cleaning
}

async function onSignal(signal: StopSignal): Promise<void> {
  const exit = process.listenerCount(signal) === 1
  await cleanUp()
  if (exit) endBy(signal)
}

/** Ends the process by `signal`'s default action (no handler left): nothing joins its threads. */
function endBy(signal: StopSignal): void {
  process.removeAllListeners(signal)
  process.kill(process.pid, signal)
  // Only if the signal could not end it (blocked by a parent): exit as a shell would report it.
  setTimeout(() => process.exit(SIGNAL_EXIT_CODES[signal]), 2_000)
}

/**
 * For a command whose own SIGINT/SIGTERM handlers would otherwise only ask it to stop (`provsync
 * sim`: a run cannot end midway): halts the node threads, removes the runs' directories and ends
 * the process by `signal` (every handler of it removed; see {@link SIGNAL_EXIT_CODES}).
 */
export async function exitAfterCleanUp(signal: StopSignal): Promise<void> {
  await cleanUp()
  endBy(signal)
}

/** `dir` was removed (or is kept on purpose): a signal leaves it alone. */
export function forgetOnSignal(dir: string): void {
  dirs.delete(dir)
}

/**
 * Removes every directory registered with {@link removeOnSignal} now, synchronously (the process
 * is about to exit; the node threads' LMDB maps go with it); returns them.
 */
export function removeScratchDirs(): string[] {
  const removed = [...dirs]
  for (const dir of removed) {
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch {
      // Best effort: the process is stopping; what could not go is what it was before.
    }
  }
  dirs.clear()
  return removed
}
