/** Lets the event loop run once: the thread pool's completions are handled in its poll phase. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * File writes in flight on libuv's thread pool, bounded by bytes. `add` lets the event loop turn
 * after each write it starts: a file write is four pool steps (open, write, close, rename) and
 * each step's completion is handled only when the loop turns, which a loop hashing chunk after
 * chunk (synchronous work between awaits of settled promises) never lets it do. Without the turn,
 * `put` hashed four chunks, then waited for their writes with nothing to hash, then hashed again:
 * hashing and writing one after the other (quiet machine, 256 MiB: 286 MiB/s put, BLAKE3 792,
 * files 499, 1 / (1/792 + 1/499) = 306).
 */
export class WriteWindow {
  private readonly writes: Array<{ done: Promise<void>; bytes: number }> = []
  private bytes = 0
  private sinceTurn = 0

  /**
   * `turnBytes`: bytes added between two turns of the loop (a turn costs microseconds: once per
   * 16 KiB chunk it would be a fair share of hashing one).
   */
  constructor(
    private readonly maxBytes: number,
    private readonly turnBytes = 256 * 1024,
  ) {}

  /** Adds a write; waits for the oldest while more than `maxBytes` are in flight, else turns the loop now and then. */
  async add(done: Promise<void>, bytes: number): Promise<void> {
    done.catch(() => {}) // awaited in order below; a failure is not unhandled meanwhile
    this.writes.push({ done, bytes })
    this.bytes += bytes
    this.sinceTurn += bytes
    if (this.bytes <= this.maxBytes) {
      if (this.sinceTurn < this.turnBytes) return
      this.sinceTurn = 0
      return turn()
    }
    this.sinceTurn = 0
    while (this.bytes > this.maxBytes) {
      const oldest = this.writes.shift()!
      this.bytes -= oldest.bytes
      await oldest.done
    }
  }

  /** Waits for every write, failed or not (cleanup after an error). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.writes.map((w) => w.done))
  }

  /** Waits for every write; rethrows the first failure. */
  async drain(): Promise<void> {
    const writes = this.writes.splice(0)
    this.bytes = 0
    await Promise.all(writes.map((w) => w.done))
  }
}
