import type { PeerId } from '@libp2p/interface'
import { jittered } from './debounce.js'
import type { SyncLog } from './logging.js'

export interface AntiEntropyInit {
  intervalMs: number
  jitter: number
  /** Connected, unblocked peers and when we last exchanged with each (either way). */
  peers(): Iterable<{ peer: PeerId; lastSyncMs: number | undefined }>
  /** Starts an exchange in the background. */
  request(peer: PeerId): void
  /**
   * Whether eager push keeps us in step with `peer` now: such a peer is picked only once
   * `coveredIntervalMs` passed since the last exchange with it, not `intervalMs`. Absent: never.
   */
  covered?(peer: PeerId): boolean
  /** @default 10 × intervalMs */
  coveredIntervalMs?: number
  log: SyncLog
}

/** How much longer a peer push keeps us in step with waits for its anti-entropy round. */
export const COVERED_INTERVAL_FACTOR = 10

/**
 * The peer an anti-entropy round picks at `now` among `peers` (at random among those due), or
 * undefined when none is due: a peer is due once `intervalMs` passed since the last exchange with
 * it (either way), or `coveredIntervalMs` if eager push keeps us in step with it (`covered`).
 * Session 12 tried one round per covered interval with any push neighbour instead of one per
 * neighbour (fewer sessions while writes go on) and reverted it: its two runs, which also ran
 * without gossipsub gossip, converged 10.7 and 13.7 s after the heal against 4.6 and 5.1 s, and
 * it was not measured alone (packages/sync README, Session 12).
 */
export function pickPeer(
  peers: ReadonlyArray<{ peer: PeerId; lastSyncMs: number | undefined }>,
  now: number,
  options: Pick<AntiEntropyInit, 'intervalMs' | 'covered' | 'coveredIntervalMs'>,
): PeerId | undefined {
  const { intervalMs, covered, coveredIntervalMs = intervalMs * COVERED_INTERVAL_FACTOR } = options
  const candidates = peers.filter((p) => {
    // A peer whose pushes keep bringing us records has little for a round to heal but what is
    // in flight, which a round would pull twice: it waits the longer interval.
    const wait = covered?.(p.peer) === true ? coveredIntervalMs : intervalMs
    return (p.lastSyncMs ?? 0) <= now - wait
  })
  return candidates[Math.floor(Math.random() * candidates.length)]?.peer
}

/**
 * Periodic anti-entropy: each round, after a jittered interval, picks a random connected peer not
 * exchanged with within the interval. A peer we exchanged with recently has nothing for a round to
 * heal (announcements keep us in step with it), so a busy node runs no extra rounds at all; nor
 * does one that eager push keeps in step (see `covered`).
 */
export class AntiEntropy {
  private timer: ReturnType<typeof setTimeout> | undefined
  private running = false

  constructor(private readonly init: AntiEntropyInit) {}

  start(): void {
    this.running = true
    this.schedule()
  }

  stop(): void {
    this.running = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** The peer a round would pick now, or undefined when every peer is recent. */
  pick(now = Date.now()): PeerId | undefined {
    return pickPeer([...this.init.peers()], now, this.init)
  }

  private schedule(): void {
    if (!this.running) return
    this.timer = setTimeout(
      () => {
        const peer = this.pick()
        if (peer !== undefined) {
          this.init.log('round with %p', peer)
          this.init.request(peer)
        }
        this.schedule()
      },
      jittered(this.init.intervalMs, this.init.jitter),
    )
    this.timer.unref?.()
  }
}
