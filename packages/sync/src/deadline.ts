import type { AbortOptions } from '@libp2p/interface'

/** A signal that fires when its parent does or when its time is up, until `clear()` releases both. */
export interface Deadline {
  readonly signal: AbortSignal
  /** Stops the timer and detaches from the parent; the signal then never fires. */
  clear(): void
}

/** How often a stall clock looks at the time. */
const STALL_TICK_MS = 100
/**
 * Lateness of a tick not counted as a stall: a busy loop or a descheduled thread on a loaded
 * machine runs ticks tens of ms late, which a deadline of a second or more can absorb, and a
 * short deadline in a test stays as it was; what is discounted is a loop that did not run for
 * longer (the simulation's event-loop delay p99 was 2.3-2.9 s).
 */
const STALL_SLACK_MS = 200

/**
 * The clock deadlines read: `performance.now()` less the time this thread's event loop could not
 * run a timer on time (a ticker's lateness beyond a slack, summed), so time in which the loop could
 * not have read the remote's answer is not counted against the remote.
 */
export interface StallClock {
  /** Counted milliseconds: `performance.now()` less {@link StallClock.stalledMs}. Starts the ticker. */
  now(): number
  /** Stalls summed since the ticker started, the stall in progress included. Starts the ticker. */
  stalledMs(): number
  /** Starts the ticker (idempotent): an unref'd interval read from the globals at this call. */
  start(): void
  /** Stops the ticker; a later read starts it again (the stop's gap is not counted; the sum stays). */
  stop(): void
}

/**
 * A stall clock. The ticker is an unref'd `setInterval` and the time `performance.now()`, both
 * looked up when the ticker starts and at each read, so a test that fakes timers and `performance`
 * first and starts its own clock after sees no stall its fake time did not make (session 15: the
 * one module-global monitor ticked on a real interval under a faked `performance`, and every fake
 * millisecond past the slack counted as a stall).
 */
export function createStallClock(): StallClock {
  let ticker: ReturnType<typeof setInterval> | undefined
  let last = 0
  let stalled = 0
  const start = (): void => {
    if (ticker !== undefined) return
    last = performance.now()
    ticker = setInterval(() => {
      const now = performance.now()
      stalled += Math.max(0, now - last - STALL_TICK_MS - STALL_SLACK_MS)
      last = now
    }, STALL_TICK_MS)
    ticker.unref?.()
  }
  const stalledMs = (): number => {
    start()
    return stalled + Math.max(0, performance.now() - last - STALL_TICK_MS - STALL_SLACK_MS)
  }
  return {
    now: () => performance.now() - stalledMs(),
    stalledMs,
    start,
    stop: () => {
      if (ticker === undefined) return
      stalled = stalledMs() // the stall in progress is kept
      clearInterval(ticker)
      ticker = undefined
    },
  }
}

/** This thread's default stall clock (one per thread: module state is per worker). */
let threadClock: StallClock | undefined

/** The stall clock deadlines of this thread read unless given one; created and started on first use. */
export function threadStallClock(): StallClock {
  threadClock ??= createStallClock()
  return threadClock
}

/**
 * Replaces this thread's default stall clock (`undefined`: a fresh one on next use), stopping the
 * one it replaces; returns the new one. For tests that fake timers, and for a process that wants
 * the ticker gone.
 */
export function resetThreadStallClock(clock?: StallClock): StallClock | undefined {
  threadClock?.stop()
  threadClock = clock
  return clock
}

/** This thread's stalls ({@link threadStallClock}), summed since its first deadline. */
export function stalledMs(): number {
  return threadStallClock().stalledMs()
}

/** This thread's counted clock ({@link threadStallClock}): `performance.now()` less its stalls. */
export function countedNow(): number {
  return threadStallClock().now()
}

/**
 * Starts a deadline of `ms` (Infinity: none) under `parent`. On time it aborts with a
 * `TimeoutError` DOMException, as `AbortSignal.timeout` does.
 *
 * Why not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: Node 22 keeps every such composite
 * in its long-lived parent's set of dependants until the timeout fires and the composite is
 * collected, and prunes that set with a full scan per collected composite (nodejs/node#55351).
 * With a deadline per frame under a signal that lives as long as the service, the scans grew
 * quadratically and took half of the CPU of a 32-node simulation. A listener removed in `clear()`
 * and a cleared timer leave nothing behind.
 *
 * The time counted is time this thread could have seen the remote's answer: stalls of this
 * thread's event loop (a long synchronous apply, other nodes of a simulation thread, a checker's
 * snapshot) are not counted ({@link stalledMs}), and when the time is up the deadline still lets
 * this loop turn read what arrived (Node runs expired timers before it polls for I/O, so after a
 * stall a timer fired before the answer that had been waiting in the socket was read). Session 15:
 * in 32-node simulations on a loaded machine, honest peers were blamed for `timeout` by threads
 * stalled for seconds (event-loop delay p99 2.3-2.9 s) and after a 10+ s checker snapshot.
 * `clock`: this thread's ({@link threadStallClock}) unless a test injects one.
 */
export function startDeadline(ms: number, parent?: AbortSignal, clock = threadStallClock()): Deadline {
  // One wait of an idle deadline: the same counting, re-arming and abort after the turn's I/O.
  const idle = new IdleDeadline(ms, parent, clock)
  return { signal: idle.begin(), clear: () => idle.dispose() }
}

/** Runs `operation` under `options.signal` bounded by `ms` more, releasing the deadline after. */
export async function withDeadline<T>(
  ms: number,
  options: AbortOptions,
  operation: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (!Number.isFinite(ms)) return operation(options.signal)
  const deadline = startDeadline(ms, options.signal)
  try {
    return await operation(deadline.signal)
  } finally {
    deadline.clear()
  }
}

/**
 * The idle deadline of a conversation's waits for a frame: each wait fails with a `TimeoutError`
 * once it has lasted `ms` on the stall clock, as a {@link startDeadline} per wait would, but with
 * one controller, one timer and one listener on the parent signal per conversation. A wait only
 * notes when it must end; the timer, when it fires, checks the wait under way and re-arms for what
 * is left. Why one per conversation: a fetching blob process waits once per noise message it
 * drains (~64 KiB), and a deadline per wait (an AbortController, a timer, two listeners) was 2.0 %
 * of its on-CPU samples in a 1 GiB read (`perf record`, session 14).
 *
 * Counted as {@link startDeadline} counts (session 16): this thread's stalls are not counted
 * against the remote, and a wait whose time is up is failed only after the loop turn's I/O was
 * read (`setImmediate`), so an answer that arrived while this thread was stalled ends the wait
 * first. Before, blobs' own `IdleWatch` kept `performance.now()`, and a fetching process stalled
 * past its idle timeout blamed the peer that had answered.
 */
export class IdleDeadline {
  private readonly controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private immediate: ReturnType<typeof setImmediate> | undefined
  private endsAt = 0
  private waiting = false
  private readonly onParentAbort = (): void => {
    this.dispose()
    this.controller.abort(this.parent?.reason)
  }

  constructor(
    private readonly ms: number,
    private readonly parent?: AbortSignal,
    private readonly clock: StallClock = threadStallClock(),
  ) {
    if (parent?.aborted === true) this.controller.abort(parent.reason)
    else parent?.addEventListener('abort', this.onParentAbort, { once: true })
  }

  /** A wait starts: the signal aborts if it lasts `ms` of counted time, or when the parent aborts. */
  begin(): AbortSignal {
    this.waiting = true
    if (Number.isFinite(this.ms) && !this.controller.signal.aborted) {
      this.endsAt = this.clock.now() + this.ms
      if (this.timer === undefined && this.immediate === undefined) this.arm(this.ms)
    }
    return this.controller.signal
  }

  /** The wait ended (a frame came, or it failed). */
  end(): void {
    this.waiting = false
  }

  /** Releases the timer and the listener on the parent; the signal then never fires on time. */
  dispose(): void {
    clearTimeout(this.timer)
    clearImmediate(this.immediate)
    this.timer = undefined
    this.immediate = undefined
    this.parent?.removeEventListener('abort', this.onParentAbort)
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.check(false), ms)
    // Like AbortSignal.timeout: a pending deadline does not keep the process alive.
    this.timer.unref?.()
  }

  /** The timer fired (`afterIo` false) or the turn's I/O was read after it (`afterIo` true). */
  private check(afterIo: boolean): void {
    this.timer = undefined
    this.immediate = undefined
    if (!this.waiting) return
    const left = this.endsAt - this.clock.now()
    if (left > 0) this.arm(left)
    else if (!afterIo) {
      // Node runs expired timers before it polls for I/O: let this turn read what arrived first.
      this.immediate = setImmediate(() => this.check(true))
      this.immediate.unref?.()
    } else {
      // A deadline that fired detaches from its parent too (nothing is left on a long-lived signal).
      this.dispose()
      this.controller.abort(new DOMException(`deadline of ${this.ms} ms passed`, 'TimeoutError'))
    }
  }
}
