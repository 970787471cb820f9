/**
 * Quiescence: equal roots on every node, held for a while. Shared by the single-thread run and the
 * threaded one, which differ only in how they count the distinct root sets.
 */

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** How often the root sets are counted while waiting. */
const POLL_MS = 100

/** One count of the nodes' root sets. */
export interface RootCount {
  /** Distinct root sets among the running nodes. */
  readonly distinct: number
  /**
   * When the last of those nodes last changed its records (on the `now` clock of
   * {@link waitForEqualRoots}), or undefined if unknown.
   */
  readonly lastChangeMs?: number
}

/** When equal roots began, and when a count first saw them (both on the `now` clock; -1: never). */
export interface Quiescence {
  /** The last change of any node before the roots were seen equal: the moment they became equal. */
  readonly equalSince: number
  /** When the count that first saw them equal came back (what the measure was before session 13). */
  readonly seenAt: number
}

/**
 * Counts the distinct root sets every {@link POLL_MS} until one set has held `settleMs`, or until
 * `timeoutMs` has passed. A node's roots change only when its records do, so roots found equal have
 * been equal since the last change of any node (`lastChangeMs`), not only since the count: a count
 * comes late when the loop is busy or a node thread answers late (session 13 measured 0.1 to 2.4 s
 * between the last node's last record and the count that saw the roots equal).
 */
export async function waitForEqualRoots(
  now: () => number,
  count: () => RootCount | Promise<RootCount>,
  timeoutMs: number,
  settleMs: number,
): Promise<Quiescence> {
  const deadline = now() + timeoutMs
  let equalSince = -1
  let seenAt = -1
  while (now() < deadline) {
    const { distinct, lastChangeMs } = await count()
    const at = now()
    if (distinct === 1) {
      if (equalSince < 0) {
        seenAt = at
        equalSince = Math.min(at, lastChangeMs ?? at)
      } else if (lastChangeMs !== undefined) equalSince = Math.max(equalSince, Math.min(at, lastChangeMs))
      if (at - equalSince >= settleMs) return { equalSince, seenAt }
    } else {
      equalSince = -1
      seenAt = -1
    }
    await sleep(POLL_MS)
  }
  return equalSince >= 0 && now() - equalSince >= settleMs
    ? { equalSince, seenAt }
    : { equalSince: -1, seenAt: -1 }
}
