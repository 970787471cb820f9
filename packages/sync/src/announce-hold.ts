/**
 * When a node's debounced head announcement is held back because eager push already does its work
 * (issue #16, session 18). An announcement of a push neighbour that pushes reach starts no pull at
 * the receiver (`covered`), yet gossipsub verifies, decodes and relays every one: 5-7 % of a node
 * thread of the 32-node simulation and 15-38 B per record per node (sync README, "Session 14 (push
 * and CPU)"). What an announcement is still for while pushes flow, and how each keeps it:
 *
 * - a subscriber without push (the previous release) pulls only on announcements: any such
 *   subscriber, and the node announces as before;
 * - a node pushes no longer reach (no push within `lazyWindowMs`) announces as before, and so do
 *   its neighbours once their own pushes stop: the window is the longest hold;
 * - a subscriber whose link is lazy at our end gets our records from other paths, or from our lazy
 *   `ihave` sample (one record in four, push-lazy.ts), and otherwise from the second look at our
 *   announcement it kept (heads.ts): while we have one, an announcement goes out at least every
 *   `maxHoldMs`, so that second look still comes;
 * - a push neighbour that came or went (a heal, a partition, a lost link) rebuilds the tree: the
 *   next announcement goes out.
 *
 * Pure: the caller keeps the clock, the links and the timer.
 */

/** A subscriber's push link at our end: eager (we push to it), lazy, or none (no push). */
export type PushLinkState = 'eager' | 'lazy' | undefined

export interface HoldInput {
  readonly nowMs: number
  /** The peers subscribed to the heads topic (gossipsub's direct subscribers). */
  readonly subscribers: readonly string[]
  link(id: string): PushLinkState
  /** When a push last reached this node. */
  readonly lastPushMs: number
  readonly lazyWindowMs: number
  /** When this node last published an announcement (-Infinity: never). */
  readonly lastAnnouncedMs: number
  /** When a push neighbour last connected or went away (-Infinity: never). */
  readonly linksChangedMs: number
  /** The longest hold while a subscriber's link is lazy at our end, since the last announcement. */
  readonly maxHoldMs: number
}

/**
 * The longest hold while some subscriber is lazy at our end, as a multiple of the announcement's
 * `maxWaitMs` (the pace under a stream of changes): such subscribers get announcements at a quarter
 * of that pace at least. Not measured against other factors (sync README, "Session 18").
 */
export const HELD_BACK_MAX_FACTOR = 4

/**
 * How long the announcement due now is held back, in ms; 0: publish it now. A held announcement is
 * asked about again when that time is up (or sooner, when the links change).
 */
export function announcementHoldMs(input: HoldInput): number {
  const { nowMs, subscribers, link, lastPushMs, lazyWindowMs, lastAnnouncedMs, linksChangedMs, maxHoldMs } =
    input
  if (subscribers.length === 0 || linksChangedMs >= lastAnnouncedMs) return 0
  const windowLeft = lastPushMs + lazyWindowMs - nowMs
  if (windowLeft <= 0) return 0
  let lazy = false
  for (const id of subscribers) {
    const state = link(id)
    if (state === undefined) return 0
    if (state === 'lazy') lazy = true
  }
  if (!lazy) return windowLeft
  const capLeft = lastAnnouncedMs + maxHoldMs - nowMs
  return capLeft > 0 ? Math.min(windowLeft, capLeft) : 0
}
