import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_WAIT_TIMEOUT_MS } from './constants.js'

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export interface WaitOptions {
  /**
   * Fails once this much time has passed.
   * @default 20_000
   */
  timeoutMs?: number
  /**
   * Pause between polls.
   * @default 25
   */
  intervalMs?: number
}

/**
 * Polls `check` (which may be async) until it holds; fails naming `what` once the deadline passes.
 * A number for `options` is the timeout in ms.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  options: number | WaitOptions = {},
): Promise<void> {
  const { timeoutMs = DEFAULT_WAIT_TIMEOUT_MS, intervalMs = DEFAULT_POLL_INTERVAL_MS } =
    typeof options === 'number' ? { timeoutMs: options } : options
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/**
 * Probes until `ok` accepts the value and returns it; fails naming `what` and the last value
 * once the deadline passes.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = DEFAULT_WAIT_TIMEOUT_MS, intervalMs = DEFAULT_POLL_INTERVAL_MS } = options
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (ok(value)) return value
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs / 1000} s, last: ${JSON.stringify(value)}`)
    }
    await sleep(intervalMs)
  }
}
