/**
 * Old LMDB readers, seen before the file grows. LMDB reuses a freed page only once no reader's
 * snapshot is older than the transaction that freed it, so one read snapshot held for a node's
 * life pins every page freed after it: session 15 found each simulated node's `data.mdb` at
 * ~270 MB for 10,000 records (3,039 free-page entries after 3,063 transactions), held by a tree
 * snapshot sync's push feed never renewed. This module reads the environment's reader table
 * (lmdb-js `readerList()`, the text of `mdb_reader_list`) and its last transaction id, and reports
 * the oldest reader's lag in transactions and for how long it has been that old.
 */

/** One reader slot holding a snapshot: the process and thread it belongs to, and its transaction. */
export interface LmdbReader {
  readonly pid: number
  readonly thread: string
  readonly txnId: number
}

/** What {@link ReaderWatch.check} saw. */
export interface ReaderHealth {
  /** Reader slots holding a snapshot (a reset slot, shown as `-`, holds none). */
  readonly readers: number
  /** The environment's last committed transaction. */
  readonly lastTxnId: number
  /** The oldest snapshot's transaction, if any reader holds one. */
  readonly oldestTxnId?: number
  /** Transactions committed since the oldest snapshot (0 without readers). */
  readonly oldestLagTxns: number
  /**
   * How long the oldest snapshot has been held, as far as the checks saw: from the first check
   * that found a reader at that transaction (0 at that check, and without readers).
   */
  readonly oldestHeldMs: number
}

/** When an old reader is worth a warning (see {@link readerWarning}). */
export interface ReaderLimits {
  /** Transactions a snapshot may lag behind the last commit... */
  readonly maxLagTxns: number
  /** ...for at most this long before it is reported. */
  readonly maxHeldMs: number
}

/**
 * 1,000 transactions for 5 minutes. A session's or a backup's snapshot lasts seconds to minutes
 * and is renewed; session 15's pinned snapshot lagged 3,000+ transactions within a two-minute
 * simulation (each ~88 KB of pages kept), so a reader past both bounds is one that is not let go.
 */
export const DEFAULT_READER_LIMITS: ReaderLimits = { maxLagTxns: 1_000, maxHeldMs: 5 * 60_000 }

/**
 * The slots of `mdb_reader_list`'s text ("(no active readers)", or a header then
 * `pid thread txnid` per slot, txnid `-` for a reset one). Slots without a snapshot are left out.
 */
export function parseReaderList(text: string): LmdbReader[] {
  const readers: LmdbReader[] = []
  for (const line of text.split('\n')) {
    const [pid, thread, txn] = line.trim().split(/\s+/)
    if (pid === undefined || thread === undefined || txn === undefined) continue
    if (!/^\d+$/.test(pid) || !/^\d+$/.test(txn)) continue
    readers.push({ pid: Number(pid), thread, txnId: Number(txn) })
  }
  return readers
}

/** The oldest of `readers` (lowest transaction id), or undefined when none holds a snapshot. */
export function oldestReader(readers: readonly LmdbReader[]): LmdbReader | undefined {
  let oldest: LmdbReader | undefined
  for (const reader of readers) if (oldest === undefined || reader.txnId < oldest.txnId) oldest = reader
  return oldest
}

/**
 * One line naming the cause when the oldest snapshot lags more than `limits.maxLagTxns`
 * transactions and has been held longer than `limits.maxHeldMs`; undefined otherwise.
 */
export function readerWarning(
  health: ReaderHealth,
  limits: ReaderLimits = DEFAULT_READER_LIMITS,
): string | undefined {
  if (health.oldestTxnId === undefined) return undefined
  if (health.oldestLagTxns <= limits.maxLagTxns || health.oldestHeldMs <= limits.maxHeldMs) return undefined
  const minutes = (health.oldestHeldMs / 60_000).toFixed(1)
  return (
    `an LMDB read snapshot of transaction ${health.oldestTxnId} has been held for ${minutes} min, ` +
    `${health.oldestLagTxns} transactions behind: pages freed since are not reused and the data file grows`
  )
}

/** What a watch reads of the environment (lmdb-js's root database has both). */
export interface ReaderSource {
  readerList(): string
  getStats(): { lastTxnId?: number }
}

/**
 * Follows an environment's oldest reader across checks. A check reads the reader table and the
 * environment's statistics (a few µs to tens of µs; see crdt README "Session 16 (reliability)"):
 * meant per scrape or per readiness probe, never per write.
 */
export class ReaderWatch {
  private seen: { txnId: number; sinceMs: number } | undefined

  constructor(
    private readonly source: ReaderSource,
    private readonly now: () => number = () => Date.now(),
  ) {}

  check(): ReaderHealth {
    const readers = parseReaderList(this.source.readerList())
    const lastTxnId = Number(this.source.getStats().lastTxnId ?? 0)
    const oldest = oldestReader(readers)
    const at = this.now()
    if (oldest === undefined) {
      this.seen = undefined
      return { readers: 0, lastTxnId, oldestLagTxns: 0, oldestHeldMs: 0 }
    }
    if (this.seen?.txnId !== oldest.txnId) this.seen = { txnId: oldest.txnId, sinceMs: at }
    return {
      readers: readers.length,
      lastTxnId,
      oldestTxnId: oldest.txnId,
      oldestLagTxns: Math.max(0, lastTxnId - oldest.txnId),
      oldestHeldMs: at - this.seen.sinceMs,
    }
  }
}

/**
 * Checks `watch` every `intervalMs` (default a minute; unref'd), so the held time is known to that
 * precision without scrapes, and calls `onWarning` with {@link readerWarning}'s line once per
 * snapshot that passes `limits`. Returns the function that stops it. A check that throws (the
 * environment closing) is skipped.
 */
export function pollReaders(
  watch: ReaderWatch,
  onWarning: (line: string) => void,
  options: { readonly intervalMs?: number; readonly limits?: ReaderLimits } = {},
): () => void {
  let warned: number | undefined
  const timer = setInterval(() => {
    let health: ReaderHealth
    try {
      health = watch.check()
    } catch {
      return
    }
    const line = readerWarning(health, options.limits)
    if (line === undefined) warned = undefined
    else if (warned !== health.oldestTxnId) {
      warned = health.oldestTxnId
      onWarning(line)
    }
  }, options.intervalMs ?? 60_000)
  timer.unref?.()
  return () => clearInterval(timer)
}
