/**
 * Schedules the pulls that head announcements ask for. Every announcer whose root differs wants a
 * session, but a node that pulls from all of them at once fetches the same records from several
 * peers and pays a reconciliation per peer for a handful of records each. The queue runs at most
 * `concurrency` sessions, keeps only each peer's latest announcement, and asks again when a slot
 * frees whether that announcement still differs: by then an earlier session has often brought the
 * same records, and the pull is dropped.
 */
export interface PullQueue<T> {
  /** Notes `item` (the latest announcement) from `key`, replacing one still waiting; starts it if a slot is free. */
  offer(key: string, item: T): void
  /** Forgets what `key` announced and has not started (the peer left). */
  drop(key: string): void
  /** Announcements waiting for a slot. */
  readonly waiting: number
  /** Sessions running. */
  readonly running: number
  /** Announcements dropped because `stillNeeded` said no when their turn came. */
  readonly skipped: number
}

export interface PullQueueOptions<T> {
  /** Sessions run at once (at least 1). */
  concurrency: number
  /** Whether the pull is still worth a session, asked when its turn comes. */
  stillNeeded(key: string, item: T): boolean
  /** Runs the session; the slot frees when it settles (a rejection is the caller's to log). */
  run(key: string, item: T): Promise<unknown>
}

export function createPullQueue<T>(options: PullQueueOptions<T>): PullQueue<T> {
  const concurrency = Math.max(1, Math.floor(options.concurrency))
  // Map order is first-offer order; a newer announcement from a waiting peer keeps its place.
  const waiting = new Map<string, T>()
  const running = new Set<string>()
  let skipped = 0

  const pump = (): void => {
    for (const [key, item] of waiting) {
      if (running.size >= concurrency) return
      // A peer already in a session waits for it; what it announced meanwhile runs after.
      if (running.has(key)) continue
      waiting.delete(key)
      if (!options.stillNeeded(key, item)) {
        skipped++
        continue
      }
      running.add(key)
      let settled: Promise<unknown>
      try {
        settled = options.run(key, item)
      } catch (err) {
        settled = Promise.reject(err)
      }
      settled
        .catch(() => {})
        .finally(() => {
          running.delete(key)
          pump()
        })
    }
  }

  return {
    offer(key, item) {
      waiting.set(key, item)
      pump()
    },
    drop(key) {
      waiting.delete(key)
    },
    get waiting() {
      return waiting.size
    },
    get running() {
      return running.size
    },
    get skipped() {
      return skipped
    },
  }
}
