import type { Message as PubSubMessage } from '@libp2p/gossipsub'
import { MalformedFrameError } from './errors.js'
import { isStoreName, type StoreName, type SyncedState } from './state.js'
import { bytesEqual } from './trust.js'
import {
  decodeAnnouncement,
  FIRST_RELEASE_STORES,
  type WireAnnouncement,
  type WireHead,
} from './wire/codec.js'

export type HeadsAnnouncement = WireAnnouncement
export type Head = WireHead

export const ROOT_BYTES = 32
/** Announcements are a few hundred bytes; anything much larger is not one. */
export const MAX_ANNOUNCEMENT_BYTES = 4096

export type AnnouncementVerdict =
  | { ok: true; announcement: HeadsAnnouncement }
  | { ok: false; reason: string }

export function localHeads(state: SyncedState, stores: readonly StoreName[]): Head[] {
  return stores.map((store) => {
    const tree = state.tree(store)
    return { store, root: tree.root(), count: tree.count() }
  })
}

/**
 * Gossipsub validation of a head announcement: signed by its author, decodable, of our network and
 * trust bundle, naming only stores we sync, with roots of the right size. Anything else is rejected,
 * which also lowers the propagating peer's gossipsub score.
 */
export function checkAnnouncement(
  message: PubSubMessage,
  networkId: string,
  trustHash: Uint8Array,
  stores: readonly StoreName[],
): AnnouncementVerdict {
  if (message.type !== 'signed') return { ok: false, reason: 'unsigned announcement' }
  if (message.data.byteLength > MAX_ANNOUNCEMENT_BYTES) return { ok: false, reason: 'announcement too large' }
  let announcement: HeadsAnnouncement
  try {
    announcement = decodeAnnouncement(message.data, stores.length)
  } catch (err) {
    // Stryker disable next-line ConditionalExpression: equivalent, decodeAnnouncement throws only MalformedFrameError and its subclasses
    if (err instanceof MalformedFrameError) return { ok: false, reason: err.message }
    throw err
  }
  if (announcement.networkId !== networkId) return { ok: false, reason: `network ${announcement.networkId}` }
  if (!bytesEqual(announcement.trustHash, trustHash)) return { ok: false, reason: 'another trust bundle' }
  for (const head of announcement.heads) {
    if (!isStoreName(head.store) || !stores.includes(head.store)) {
      // A store of a later release travels in the extension heads: skipped, as a node of the first
      // release skips that field. A first-release store we do not sync is still refused.
      if (!FIRST_RELEASE_STORES.includes(head.store)) continue
      return { ok: false, reason: `unknown store ${head.store}` }
    }
    if (head.root.byteLength !== ROOT_BYTES)
      return { ok: false, reason: `root of ${head.root.byteLength} bytes` }
  }
  return { ok: true, announcement }
}

/** Stores whose announced root differs from ours: a reason to pull from the announcer. */
export function differingStores(
  state: SyncedState,
  announcement: HeadsAnnouncement,
  stores: readonly StoreName[],
): StoreName[] {
  const announced = new Map(announcement.heads.map((h) => [h.store, h]))
  return stores.filter((store) => {
    const head = announced.get(store)
    return head !== undefined && !bytesEqual(head.root, state.tree(store).root())
  })
}

/**
 * Stores where the announcer holds more records than we do (its announced count above ours, its
 * root another): it holds at least one record we lack, whatever pushes may still bring. What a
 * covered announcement, kept past the lazy window, still pulls for (heads.ts).
 */
export function storesAhead(
  state: SyncedState,
  announcement: HeadsAnnouncement,
  stores: readonly StoreName[],
): StoreName[] {
  const announced = new Map(announcement.heads.map((h) => [h.store, h]))
  return differingStores(state, announcement, stores).filter(
    (store) => announced.get(store)!.count > state.tree(store).count(),
  )
}

/** Announcements of one author kept while covered; past it, the newest replaces the last kept. */
export const MAX_KEPT_ANNOUNCEMENTS = 5

/**
 * One author's covered announcements, kept for a second look once `windowMs` old (heads.ts). An
 * announcement less than a quarter window newer than the last kept one replaces it, so at most
 * {@link MAX_KEPT_ANNOUNCEMENTS} wait, whatever the author's rate, and each is looked at no later
 * than one window after it came and no sooner than three quarters of one. Pure: the caller keeps
 * the clock and the timer.
 */
export interface KeptAnnouncements {
  /** Keeps `announcement`, received at `nowMs`. */
  keep(announcement: HeadsAnnouncement, nowMs: number): void
  /** When the oldest kept announcement is `windowMs` old; undefined when none is kept. */
  dueMs(): number | undefined
  /** Removes those at least `windowMs` old at `nowMs` and returns the newest of them. */
  ripe(nowMs: number): HeadsAnnouncement | undefined
  /** The newest announcement kept (what a pull is queued with). */
  newest(): HeadsAnnouncement | undefined
}

export function createKeptAnnouncements(windowMs: number): KeptAnnouncements {
  const kept: Array<{ atMs: number; announcement: HeadsAnnouncement }> = []
  return {
    keep(announcement, nowMs) {
      const last = kept.at(-1)
      if (last !== undefined && (nowMs - last.atMs < windowMs / 4 || kept.length >= MAX_KEPT_ANNOUNCEMENTS)) {
        last.announcement = announcement
        return
      }
      kept.push({ atMs: nowMs, announcement })
    },
    dueMs: () => (kept.length === 0 ? undefined : kept[0]!.atMs + windowMs),
    ripe(nowMs) {
      let ripe: HeadsAnnouncement | undefined
      while (kept.length > 0 && nowMs - kept[0]!.atMs >= windowMs) ripe = kept.shift()!.announcement
      return ripe
    },
    newest: () => kept.at(-1)?.announcement,
  }
}
