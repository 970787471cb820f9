/**
 * Bytes per second per peer as a token bucket holding one second of rate: `delayFor` spends
 * `bytes` and says how long the sender must wait before they are covered. Idle peers are forgotten
 * past `maxPeers`.
 */
export class ByteRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    readonly bytesPerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly maxPeers = 10_000,
  ) {}

  delayFor(peer: string, bytes: number): number {
    if (!Number.isFinite(this.bytesPerSecond)) return 0
    const t = this.now()
    let b = this.buckets.get(peer)
    if (b === undefined) {
      if (this.buckets.size >= this.maxPeers) this.forgetFull(t)
      b = { tokens: this.bytesPerSecond, at: t }
      this.buckets.set(peer, b)
    }
    b.tokens = Math.min(this.bytesPerSecond, b.tokens + ((t - b.at) * this.bytesPerSecond) / 1000)
    b.at = t
    b.tokens -= bytes
    return b.tokens >= 0 ? 0 : Math.ceil((-b.tokens * 1000) / this.bytesPerSecond)
  }

  private forgetFull(t: number): void {
    for (const [peer, b] of this.buckets) {
      if (b.tokens + ((t - b.at) * this.bytesPerSecond) / 1000 >= this.bytesPerSecond)
        this.buckets.delete(peer)
    }
  }
}
