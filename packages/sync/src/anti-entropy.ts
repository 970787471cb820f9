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
  log: SyncLog
}

/**
 * Periodic anti-entropy: each round, after a jittered interval, picks a random connected peer not
 * exchanged with within the interval. A peer we exchanged with recently has nothing for a round to
 * heal (announcements keep us in step with it), so a busy node runs no extra rounds at all.
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
    const since = now - this.init.intervalMs
    const candidates = [...this.init.peers()].filter((p) => (p.lastSyncMs ?? 0) <= since)
    return candidates[Math.floor(Math.random() * candidates.length)]?.peer
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
