import type { AbortOptions } from '@libp2p/interface'

/** A signal that fires when its parent does or when its time is up, until `clear()` releases both. */
export interface Deadline {
  readonly signal: AbortSignal
  /** Stops the timer and detaches from the parent; the signal then never fires. */
  clear(): void
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
 */
export function startDeadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController()
  if (parent?.aborted === true) {
    controller.abort(parent.reason)
    return { signal: controller.signal, clear: () => {} }
  }
  const onParentAbort = (): void => {
    clearTimeout(timer)
    controller.abort(parent?.reason)
  }
  parent?.addEventListener('abort', onParentAbort, { once: true })
  const timer = Number.isFinite(ms)
    ? setTimeout(() => {
        parent?.removeEventListener('abort', onParentAbort)
        controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError'))
      }, ms)
    : undefined
  // Like AbortSignal.timeout: a pending deadline does not keep the process alive.
  timer?.unref?.()
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer)
      parent?.removeEventListener('abort', onParentAbort)
    },
  }
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
