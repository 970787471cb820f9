/**
 * Quiescence: equal roots on every node, held for a while. Shared by the single-thread run and the
 * threaded one, which differ only in how they count the distinct root sets.
 */

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** How often the root sets are counted while waiting. */
const POLL_MS = 100

/**
 * Counts the distinct root sets every {@link POLL_MS} until one set has held `settleMs`, or until
 * `timeoutMs` has passed. Returns when that set began (on `now`'s clock), or -1 if it never settled.
 */
export async function waitForEqualRoots(
  now: () => number,
  distinctRoots: () => number | Promise<number>,
  timeoutMs: number,
  settleMs: number,
): Promise<number> {
  const deadline = now() + timeoutMs
  let equalSince = -1
  while (now() < deadline) {
    if ((await distinctRoots()) === 1) {
      if (equalSince < 0) equalSince = now()
      if (now() - equalSince >= settleMs) return equalSince
    } else equalSince = -1
    await sleep(POLL_MS)
  }
  return equalSince >= 0 && now() - equalSince >= settleMs ? equalSince : -1
}
