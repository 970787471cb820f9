export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  now(): number
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms)
    handle.unref?.()
    return handle
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
}

export interface Debouncer {
  /** A change happened: run `fn` once things are quiet for `waitMs`, or at the latest `maxWaitMs` after the first change. */
  trigger(): void
  cancel(): void
  readonly pending: boolean
}

/**
 * Trailing debounce with a ceiling: a burst of local changes yields one announcement, and a
 * steady stream of changes still yields one every `maxWaitMs`.
 */
export function createDebouncer(
  fn: () => void,
  options: { waitMs: number; maxWaitMs?: number },
  timers: Timers = realTimers,
): Debouncer {
  const maxWaitMs = options.maxWaitMs ?? options.waitMs * 4
  let handle: unknown
  let firstAt: number | undefined

  const fire = (): void => {
    handle = undefined
    firstAt = undefined
    fn()
  }

  return {
    trigger() {
      const t = timers.now()
      firstAt ??= t
      if (handle !== undefined) timers.clearTimeout(handle)
      const delay = Math.max(0, Math.min(options.waitMs, firstAt + maxWaitMs - t))
      handle = timers.setTimeout(fire, delay)
    },
    cancel() {
      if (handle !== undefined) timers.clearTimeout(handle)
      handle = undefined
      firstAt = undefined
    },
    get pending() {
      return handle !== undefined
    },
  }
}

/** A delay of `baseMs` spread uniformly over ±`jitter` of itself, so peers do not tick in lockstep. */
export function jittered(baseMs: number, jitter: number, random: () => number = Math.random): number {
  const spread = baseMs * Math.min(Math.max(jitter, 0), 1)
  return Math.max(0, Math.round(baseMs - spread + 2 * spread * random()))
}
