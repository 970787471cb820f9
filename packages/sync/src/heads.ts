import {
  type GossipSub,
  type Message as PubSubMessage,
  type TopicValidatorFn,
  TopicValidatorResult,
} from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { checkAnnouncement, differingStores, type HeadsAnnouncement, localHeads } from './announce.js'
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
  /** Whether a pull from `id` may still run (service started, peer connected and not refused). */
  mayPull(id: string): boolean
  pull(peer: PeerId): Promise<unknown>
  offend(peer: PeerId, detail: string): void
  onAnnounced(announcement: HeadsAnnouncement): void
  onReceived(peer: PeerId, announcement: HeadsAnnouncement, differing: StoreName[]): void
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
        return
      }
      this.queue.offer(author.toString(), { peer: author, announcement: verdict.announcement })
    }
  }
}
