import type { AbortOptions } from '@libp2p/interface'

/** A signal that fires when its parent does or when its time is up, until `clear()` releases both. */
export interface Deadline {
  readonly signal: AbortSignal
  /** Stops the timer and detaches from the parent; the signal then never fires. */
  clear(): void
}

/** How often this thread's stall monitor looks at the clock. */
const STALL_TICK_MS = 100
/**
 * Lateness of a tick not counted as a stall: a busy loop or a descheduled thread on a loaded
 * machine runs ticks tens of ms late, which a deadline of a second or more can absorb, and a
 * short deadline in a test stays as it was; what is discounted is a loop that did not run for
 * longer (the simulation's event-loop delay p99 was 2.3-2.9 s).
 */
const STALL_SLACK_MS = 200

/** This thread's event-loop stalls summed since its first deadline (see {@link stalledMs}). */
let stallMonitor: { last: number; stalled: number } | undefined

/**
 * Milliseconds this thread's event loop has been unable to run a timer on time, summed since the
 * first call, the stall in progress included: a ticking timer's lateness beyond a slack (one
 * monitor per thread, unref'd, a clock read per 100 ms). A deadline does not count that time
 * against the remote.
 */
export function stalledMs(): number {
  if (stallMonitor === undefined) {
    const monitor = { last: performance.now(), stalled: 0 }
    stallMonitor = monitor
    setInterval(() => {
      const now = performance.now()
      monitor.stalled += Math.max(0, now - monitor.last - STALL_TICK_MS - STALL_SLACK_MS)
      monitor.last = now
    }, STALL_TICK_MS).unref()
  }
  const inProgress = performance.now() - stallMonitor.last - STALL_TICK_MS - STALL_SLACK_MS
  return stallMonitor.stalled + Math.max(0, inProgress)
}

/**
 * The clock every deadline of this thread reads: `performance.now()` less this thread's stalls
 * ({@link stalledMs}), so time the loop could not have read the remote's answer is not counted
 * against the remote. Read by {@link startDeadline}.
 */
export function countedNow(): number {
  return performance.now() - stalledMs()
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
 */
export function startDeadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController()
  if (parent?.aborted === true) {
    controller.abort(parent.reason)
    return { signal: controller.signal, clear: () => {} }
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  let immediate: ReturnType<typeof setImmediate> | undefined
  const release = (): void => {
    clearTimeout(timer)
    clearImmediate(immediate)
    parent?.removeEventListener('abort', onParentAbort)
  }
  const onParentAbort = (): void => {
    release()
    controller.abort(parent?.reason)
  }
  parent?.addEventListener('abort', onParentAbort, { once: true })
  if (Number.isFinite(ms)) {
    const started = countedNow()
    const arm = (wait: number): void => {
      timer = setTimeout(expire, wait)
      // Like AbortSignal.timeout: a pending deadline does not keep the process alive.
      timer.unref?.()
    }
    const expire = (): void => {
      const counted = countedNow() - started
      if (counted < ms) {
        arm(ms - counted)
        return
      }
      immediate = setImmediate(() => {
        release()
        controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError'))
      })
      immediate.unref?.()
    }
    arm(ms)
  }
  return { signal: controller.signal, clear: release }
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
