/**
 * Plumtree's lazy push (Leitão, Pereira, Rodrigues, SRDS 2007, "IHAVE"): what a node's flushes sent
 * whole or as `ihave` to its eager neighbours is also announced, as `ihave` (tree key and value
 * prefix; a sample of them, see {@link LAZY_SAMPLE}), to one lazy neighbour at a time, every `LAZY_IHAVE_INTERVAL_MS`, in turn. A lazy
 * neighbour that still lacks one of those records after `graftAfterMs` (the tree did not bring it)
 * grafts the link, asks for it (`iwant`) and starts a session with that neighbour for the rest. Without it a group of nodes whose every link to the
 * rest was pruned stayed cut off from the tree while the group's own writes kept its pushes
 * coming (the simulation's trace, packages/sim README, Session 13): it waited for the heal or for
 * a covered peer's anti-entropy round (ten intervals). Pure: the push module sends the frames.
 */
import type { StoreName } from './state.js'

/** How often the entries gathered since the last time go to the next lazy neighbour. */
export const LAZY_IHAVE_INTERVAL_MS = 250
/**
 * A lazy neighbour's record may take this many times push's `lazyWindowMs` to come down the tree
 * before the link is grafted (4 s by default). Less grafted links whose records were only late:
 * with two node threads (32 nodes, push-7), grafting after 1 s or 2 s left 1.18 to 1.43 records
 * received per record per node (main 0.98 to 1.01) and 2.5x to 2.9x bytes per record (main 2.0x to
 * 2.2x); packages/sim README, Session 13.
 */
export const GRAFT_AFTER_FRACTION = 2
/**
 * One record in this many (by the first byte of its tree key, so every node picks the same ones)
 * is announced lazily: a cut shows within a few records, and the session a repair starts brings
 * the rest. All of them cost 41 B per record per node; measured (32 nodes, push-7, two threads,
 * grafting after 1 s): bytes per record 2.16x -> 2.84x and 1.43 records received per record per
 * node instead of 1.01, most of it links grafted for records that were only late.
 */
export const LAZY_SAMPLE = 4

/** Whether the record at `key` is one of those announced lazily. */
export const lazilyAnnounced = (key: Uint8Array): boolean => key[0]! % LAZY_SAMPLE === 0
/** Entries kept per store between two lazy sends; past it the newest are not announced (anti-entropy heals). */
export const MAX_LAZY_ENTRIES = 8_192

export interface LazyEntry {
  readonly key: Uint8Array
  readonly prefix: Uint8Array
  /** The neighbour the record came from (never announced back to it); undefined for our own writes. */
  readonly source: string | undefined
}

export interface LazyAnnouncements {
  /** Notes entries flushed in `store`; at most {@link MAX_LAZY_ENTRIES} wait per store. */
  add(store: StoreName, entries: readonly LazyEntry[]): void
  /** Whether anything waits. */
  readonly pending: boolean
  /**
   * The next lazy neighbour in turn among `lazy` and, per store, what waits for it (entries from
   * that neighbour left out); clears what waits. Undefined when nothing waits, or when no link is
   * lazy (what waits is then dropped: the eager links carried it all).
   */
  take(lazy: readonly string[]): { peer: string; stores: Map<StoreName, LazyEntry[]> } | undefined
}

export function createLazyAnnouncements(): LazyAnnouncements {
  let waiting = new Map<StoreName, LazyEntry[]>()
  let turn = 0
  return {
    add(store, entries) {
      const list = waiting.get(store) ?? []
      for (const entry of entries) {
        if (list.length >= MAX_LAZY_ENTRIES) break
        list.push(entry)
      }
      if (list.length > 0) waiting.set(store, list)
    },
    get pending() {
      return waiting.size > 0
    },
    take(lazy) {
      if (waiting.size === 0) return undefined
      if (lazy.length === 0) {
        // No lazy link: the eager ones carried it all, nobody is left to tell.
        waiting = new Map()
        return undefined
      }
      const peer = lazy[turn++ % lazy.length]!
      const stores = new Map<StoreName, LazyEntry[]>()
      for (const [store, entries] of waiting) {
        const mine = entries.filter((e) => e.source !== peer)
        if (mine.length > 0) stores.set(store, mine)
      }
      waiting = new Map()
      return { peer, stores }
    },
  }
}
