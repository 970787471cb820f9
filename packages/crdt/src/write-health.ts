import { statfsSync } from 'node:fs'
import type { Database, RootDatabase } from 'lmdb'
import { CrdtError } from './errors.js'
import { log, warnLog } from './log.js'

/** Why writes fail: the errno name, or LMDB's own code for a full map. */
export type WriteFailureCode =
  | 'ENOSPC'
  | 'EIO'
  | 'EDQUOT'
  | 'EROFS'
  | 'MDB_MAP_FULL'
  | 'MDB_PANIC'
  | 'EUNKNOWN'

/** What status, metrics and a readiness probe show. */
export interface WriteHealth {
  readonly writable: boolean
  /** The failure code of the write that made the state read-only. */
  readonly code?: WriteFailureCode
  /** Readable cause, e.g. "ENOSPC: 0 bytes free on the data directory's file system (LMDB: EIO)". */
  readonly cause?: string
  /** Wall-clock time (ms since the epoch) writes stopped, while they are stopped. */
  readonly sinceMs?: number
  /** Write failures since the state opened. */
  readonly failures: number
}

/** A write to the node's LMDB environment failed; nothing of it was committed. */
export class WriteFailedError extends CrdtError {
  readonly code: WriteFailureCode
  readonly dataDir: string
  /** The error lmdb-js raised. */
  readonly lmdbError: unknown
  constructor(code: WriteFailureCode, detail: string, dataDir: string, lmdbError: unknown) {
    super(`write failed in ${dataDir}: ${detail}`)
    this.code = code
    this.dataDir = dataDir
    this.lmdbError = lmdbError
  }
}

/** The state takes no new records until a probe write succeeds again (see `writeHealth()`). */
export class WritesSuspendedError extends CrdtError {
  readonly code: WriteFailureCode
  readonly sinceMs: number
  constructor(code: WriteFailureCode, cause: string, sinceMs: number) {
    super(`writes are suspended since ${new Date(sinceMs).toISOString()}: ${cause}`)
    this.code = code
    this.sinceMs = sinceMs
  }
}

const ERRNO: Record<number, WriteFailureCode> = { 5: 'EIO', 28: 'ENOSPC', 30: 'EROFS', 122: 'EDQUOT' }
const MDB_MAP_FULL = -30792
const MDB_PANIC = -30795
/** Below this many free bytes a failed write is taken for a full disk (one LMDB commit writes pages and a meta page). */
const FULL_DISK_BYTES = 1 << 20

function lmdbCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'number' ? code : undefined
}

/**
 * The write failure `error` stands for, or undefined when it is not one (an exception thrown by the
 * transaction's own callback). LMDB reports a write cut short by a full disk as EIO (a short
 * pwrite), so a failure on a file system with less than 1 MiB free is named ENOSPC.
 */
export function classifyWriteError(
  error: unknown,
  dataDir: string,
): { code: WriteFailureCode; detail: string } | undefined {
  const code = lmdbCode(error)
  const message = error instanceof Error ? error.message : String(error)
  let failure: WriteFailureCode | undefined
  if (code === MDB_MAP_FULL || message.includes('MDB_MAP_FULL')) failure = 'MDB_MAP_FULL'
  else if (code === MDB_PANIC || message.includes('MDB_PANIC')) failure = 'MDB_PANIC'
  else if (code !== undefined && ERRNO[code] !== undefined) failure = ERRNO[code]
  else if (message.startsWith('Commit failed')) failure = 'EUNKNOWN'
  if (failure === undefined) return undefined
  const free = freeBytes(dataDir)
  if ((failure === 'EIO' || failure === 'EUNKNOWN') && free !== undefined && free < FULL_DISK_BYTES) {
    return {
      code: 'ENOSPC',
      detail: `ENOSPC: ${free} bytes free on the data directory's file system (LMDB: ${message})`,
    }
  }
  const space = free === undefined ? '' : `, ${free} bytes free`
  return { code: failure, detail: `${failure}: ${message}${space}` }
}

function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir)
    return stats.bavail * stats.bsize
  } catch {
    return undefined
  }
}

export interface WriteGuardOptions {
  readonly dataDir: string
  /** How often a suspended state tries a probe write; default 5,000 ms. */
  readonly probeMs?: number
  readonly wallClock?: () => number
  /**
   * After a full disk, the probe write is tried only once the file system has this many bytes
   * free; default 64 MiB. Without it a probe of a few bytes commits into pages the file already
   * holds while the disk is still full, and writes flap between refused and failed.
   */
  readonly resumeFreeBytes?: number
}

export interface WriteGuard {
  /**
   * Runs `fn` in one synchronous write transaction of the environment; a call inside another one
   * runs in it (only the outermost commits). A write failure becomes a {@link WriteFailedError} and
   * suspends writes; while they are suspended a new outermost transaction throws
   * {@link WritesSuspendedError} before it begins.
   */
  transaction<T>(fn: () => T): T
  health(): WriteHealth
  onChange(listener: (health: WriteHealth) => void): () => void
  /** Throws {@link WritesSuspendedError} while writes are suspended. */
  check(): void
  close(): void
}

const PROBE_KEY = 'writeProbe'

/**
 * A guard for the write transactions of `env` that crdt runs through its {@link WriteGuard.transaction}
 * (the node state's `ctx.write`; lmdb-js's own objects are left as they are): a write failure
 * becomes a {@link WriteFailedError} and suspends writes (later transactions are refused with
 * {@link WritesSuspendedError}, reads go on), and a probe write every `probeMs` resumes them once one
 * commits. Only synchronous transactions: an lmdb-js asynchronous commit that fails also rejects a
 * promise no caller holds, which ends the process (measured on a full tmpfs, lmdb 3.5.6), so the
 * node commits synchronously. A transaction merkle opens by itself (a tree written outside any
 * crdt transaction) is not guarded; crdt writes its trees only inside its own transactions.
 */
export function guardWrites(
  env: RootDatabase,
  meta: Database<unknown, string>,
  options: WriteGuardOptions,
): WriteGuard {
  const now = options.wallClock ?? Date.now
  const probeMs = options.probeMs ?? 5000
  const resumeFreeBytes = options.resumeFreeBytes ?? 64 * 2 ** 20
  const listeners = new Set<(health: WriteHealth) => void>()
  let state: WriteHealth = { writable: true, failures: 0 }
  let timer: ReturnType<typeof setInterval> | undefined
  let depth = 0

  const emit = () => {
    for (const listener of listeners) {
      try {
        listener(state)
      } catch {
        // A listener's failure is its own.
      }
    }
  }
  const suspend = (code: WriteFailureCode, detail: string) => {
    const wasWritable = state.writable
    state = {
      writable: false,
      code,
      cause: detail,
      sinceMs: wasWritable ? now() : state.sinceMs,
      failures: state.failures + 1,
    }
    if (timer === undefined) {
      timer = setInterval(probe, probeMs)
      timer.unref()
    }
    if (wasWritable) {
      warnLog('writes suspended (%s): %s', code, detail)
      emit()
    }
  }
  const resume = () => {
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
    if (state.writable) return
    log('writes resumed after %d failed writes', state.failures)
    state = { writable: true, failures: state.failures }
    emit()
  }
  function probe(): void {
    if (state.code === 'ENOSPC' && (freeBytes(options.dataDir) ?? 0) < resumeFreeBytes) return
    try {
      env.transactionSync(() => meta.putSync(PROBE_KEY, now()))
      resume()
    } catch (error) {
      const failure = classifyWriteError(error, options.dataDir)
      if (failure !== undefined) suspend(failure.code, failure.detail)
    }
  }
  const check = () => {
    if (!state.writable) throw new WritesSuspendedError(state.code!, state.cause!, state.sinceMs!)
  }
  const transaction = <T>(fn: () => T): T => {
    // Nested calls run inside the outer transaction; only the outermost commits.
    if (depth > 0) return env.transactionSync(fn)
    check()
    depth++
    try {
      return env.transactionSync(fn)
    } catch (error) {
      const failure = classifyWriteError(error, options.dataDir)
      if (failure === undefined) throw error
      suspend(failure.code, failure.detail)
      throw new WriteFailedError(failure.code, failure.detail, options.dataDir, error)
    } finally {
      depth--
    }
  }
  return {
    transaction,
    health: () => state,
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    check,
    close() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
      listeners.clear()
    },
  }
}

/** The guard options a node state passes on from its own. */
export function writeGuardOptions(options: {
  dataDir: string
  writeProbeMs?: number
  writeResumeFreeBytes?: number
}): WriteGuardOptions {
  return {
    dataDir: options.dataDir,
    ...(options.writeProbeMs === undefined ? {} : { probeMs: options.writeProbeMs }),
    ...(options.writeResumeFreeBytes === undefined ? {} : { resumeFreeBytes: options.writeResumeFreeBytes }),
  }
}
