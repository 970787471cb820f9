import {
  type GossipSub,
  type Message as PubSubMessage,
  type TopicValidatorFn,
  TopicValidatorResult,
} from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import {
  checkAnnouncement,
  createKeptAnnouncements,
  differingStores,
  type HeadsAnnouncement,
  type KeptAnnouncements,
  localHeads,
  storesAhead,
} from './announce.js'
import { createDebouncer, type Debouncer } from './debounce.js'
import type { SyncLog } from './logging.js'
import type { SyncMetrics } from './metrics.js'
import { createPullQueue, type PullQueue } from './pull-queue.js'
import type { StoreName, SyncedState } from './state.js'
import { encodeAnnouncement } from './wire/codec.js'

export interface HeadsInit {
  pubsub: GossipSub
  state: SyncedState
  networkId: string
  trustHash: Uint8Array
  stores: readonly StoreName[]
  topic: string
  metrics: SyncMetrics
  log: SyncLog
  /** Announcement debounce, or false for none. */
  announce: false | { debounceMs: number; maxWaitMs: number }
  /** Sessions announcements start at once. */
  concurrency: number
  /** The connected provsync peer with this id, if any: only direct authors are pulled from. */
  directPeer(id: string): PeerId | undefined
  /**
   * Whether pushes already bring what `id` announces (eager push): its announcement then starts no
   * pull, as a lazy link's announcement in Plumtree waits for the eager path. Absent: never.
   */
  covered?(id: string): boolean
  /**
   * How long a covered announcement is kept before it is looked at again (push's lazy window):
   * if its author still holds more records than we do then, we pull. Absent: dropped as before.
   */
  coveredRecheckMs?: number
  /** Whether a pull from `id` may still run (service started, peer connected and not refused). */
  mayPull(id: string): boolean
  pull(peer: PeerId): Promise<unknown>
  offend(peer: PeerId, detail: string): void
  onAnnounced(announcement: HeadsAnnouncement): void
  onReceived(peer: PeerId, announcement: HeadsAnnouncement, differing: StoreName[]): void
}

/** An author's covered announcements kept for a second look (see `Heads.defer`). */
interface Deferred {
  readonly peer: PeerId
  readonly kept: KeptAnnouncements
  timer: ReturnType<typeof setTimeout> | undefined
}

/**
 * Head announcements on gossipsub: publishes this node's roots shortly after a change, validates
 * what arrives (a bad announcement is an offence of its propagator and lowers its gossipsub
 * score), and queues pulls from direct authors whose roots differ.
 */
export class Heads {
  private readonly queue: PullQueue<{ peer: PeerId; announcement: HeadsAnnouncement }>
  private debouncer: Debouncer | undefined
  private unsubscribeState: (() => void) | undefined
  private started = false
  /**
   * Covered announcements kept for a second look, per author (at most `MAX_KEPT_ANNOUNCEMENTS`
   * each, announce.ts), with one timer per author.
   */
  private readonly deferred = new Map<string, Deferred>()

  constructor(private readonly init: HeadsInit) {
    this.queue = createPullQueue({
      concurrency: init.concurrency,
      stillNeeded: (id, { announcement }) => {
        if (!this.started || !init.mayPull(id)) return false
        if (differingStores(init.state, announcement, init.stores).length > 0) return true
        init.metrics.announcements.inc({ outcome: 'caught-up' })
        return false
      },
      run: (_id, { peer }) =>
        init
          .pull(peer)
          .catch((err: Error) => init.log('announced sync with %p failed - %s', peer, err.message)),
    })
  }

  start(): void {
    const { pubsub, topic, announce } = this.init
    this.started = true
    pubsub.topicValidators.set(topic, this.validate)
    pubsub.addEventListener('message', this.onMessage)
    pubsub.subscribe(topic)
    if (announce !== false) {
      this.debouncer = createDebouncer(
        () => {
          this.announce().catch((err: Error) => this.init.log.error('announcement failed - %e', err))
        },
        { waitMs: announce.debounceMs, maxWaitMs: announce.maxWaitMs },
      )
      this.unsubscribeState = this.init.state.onChange(() => this.debouncer?.trigger())
    }
  }

  stop(): void {
    this.started = false
    this.debouncer?.cancel()
    this.unsubscribeState?.()
    for (const { timer } of this.deferred.values()) clearTimeout(timer)
    this.deferred.clear()
    const { pubsub, topic } = this.init
    try {
      pubsub.removeEventListener('message', this.onMessage)
      pubsub.topicValidators.delete(topic)
      pubsub.unsubscribe(topic)
    } catch {
      // pubsub may already be gone when libp2p stops services in parallel
    }
  }

  /** Forgets what `peer` announced and has not started (the peer left). */
  drop(id: string): void {
    this.queue.drop(id)
    this.undefer(id)
  }

  private undefer(id: string): void {
    const kept = this.deferred.get(id)
    if (kept !== undefined) clearTimeout(kept.timer)
    this.deferred.delete(id)
  }

  /**
   * Keeps a covered announcement (pushes reach us, so its records are most likely in flight) and
   * looks at it again once push's lazy window has passed: an author that held more records then
   * than we hold now had what the tree did not bring, and is pulled from. Dropping it instead held
   * a cut-off node's records back until anti-entropy, or for good without it (sync README, Session
   * 17). An author that keeps changing is looked at once per quarter window at most.
   */
  private defer(peer: PeerId, announcement: HeadsAnnouncement, windowMs: number): void {
    const id = peer.toString()
    let entry = this.deferred.get(id)
    if (entry === undefined) {
      entry = { peer, kept: createKeptAnnouncements(windowMs), timer: undefined }
      this.deferred.set(id, entry)
    }
    entry.kept.keep(announcement, Date.now())
    if (entry.timer === undefined) this.arm(id, entry)
  }

  private arm(id: string, entry: Deferred): void {
    const due = entry.kept.dueMs()
    if (due === undefined) {
      this.deferred.delete(id)
      return
    }
    entry.timer = setTimeout(
      () => {
        entry.timer = undefined
        this.recheck(id, entry)
      },
      Math.max(0, due - Date.now()),
    )
  }

  private recheck(id: string, entry: Deferred): void {
    if (this.deferred.get(id) !== entry) return
    const ripe = entry.kept.ripe(Date.now())
    if (!this.started || !this.init.mayPull(id)) {
      this.undefer(id)
      return
    }
    if (ripe !== undefined && storesAhead(this.init.state, ripe, this.init.stores).length > 0) {
      this.init.metrics.announcements.inc({ outcome: 'covered-pulled' })
      // The pull brings what the newer kept announcements name too.
      this.queue.offer(id, { peer: entry.peer, announcement: entry.kept.newest() ?? ripe })
      this.undefer(id)
      return
    }
    this.arm(id, entry)
  }

  async announce(): Promise<void> {
    if (!this.started) return
    const { networkId, trustHash, state, stores } = this.init
    const announcement: HeadsAnnouncement = { networkId, trustHash, heads: localHeads(state, stores) }
    try {
      await this.init.pubsub.publish(this.init.topic, encodeAnnouncement(announcement))
      this.init.metrics.announcements.inc({ outcome: 'sent' })
      this.init.onAnnounced(announcement)
    } catch (err) {
      // No subscribed peers yet is normal at start-up; anti-entropy covers the gap.
      this.init.log('announcement not published - %s', (err as Error).message)
    }
  }

  private readonly validate: TopicValidatorFn = (peer, message) => {
    const { networkId, trustHash, stores } = this.init
    const verdict = checkAnnouncement(message, networkId, trustHash, stores)
    if (verdict.ok) return TopicValidatorResult.Accept
    // A peer on the other side of a trust rotation is not lying: dropped, not blamed.
    if (verdict.reason === 'another trust bundle') return TopicValidatorResult.Ignore
    this.init.metrics.announcements.inc({ outcome: 'rejected' })
    this.init.offend(peer, verdict.reason)
    return TopicValidatorResult.Reject
  }

  private readonly onMessage = (evt: CustomEvent<PubSubMessage>): void => {
    const message = evt.detail
    const { networkId, trustHash, stores, state } = this.init
    if (message.topic !== this.init.topic || message.type !== 'signed') return
    const verdict = checkAnnouncement(message, networkId, trustHash, stores)
    if (!verdict.ok) return
    this.init.metrics.announcements.inc({ outcome: 'received' })
    const differing = differingStores(state, verdict.announcement, stores)
    this.init.onReceived(message.from, verdict.announcement, differing)
    // Gossipsub relays announcements across the mesh: sync only with an author we are connected
    // to (and that speaks provsync); a farther one is reached through the peers that pull from it.
    const author = this.init.directPeer(message.from.toString())
    // The queue asks again, when the pull's turn comes, whether the peer is still there and unblocked.
    if (differing.length > 0 && author !== undefined) {
      if (this.init.covered?.(author.toString()) === true) {
        this.init.metrics.announcements.inc({ outcome: 'covered' })
        const recheckMs = this.init.coveredRecheckMs
        if (recheckMs !== undefined) this.defer(author, verdict.announcement, recheckMs)
        return
      }
      this.undefer(author.toString())
      this.queue.offer(author.toString(), { peer: author, announcement: verdict.announcement })
    }
  }
}
