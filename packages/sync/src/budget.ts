import { OFFENCE_REASONS, type OffenceReason } from './errors.js'

/** Per-peer limits: js-libp2p has no resource manager, so the service enforces its own. */
export interface BudgetLimits {
  /** Concurrent inbound provsync streams one peer may hold open. */
  maxSessionsPerPeer: number
  /** Bytes read plus written on one stream before it is cut. */
  maxBytesPerSession: number
  /** Sustained inbound requests per second per peer (token bucket refill). */
  requestsPerSecond: number
  /** Requests a peer may make in a burst above the sustained rate. */
  requestBurst: number
  /**
   * After a `rate-limited` refusal, how long the peer must hold off: every request in this window
   * is refused too. An honest peer backs off (provsync's syncWith waits twice this).
   */
  rateLimitBackoffMs: number
  /**
   * Requests tolerated inside the back-off window (those already in flight on other streams when
   * the refusal went out); the next one is a `rate-limited` offence: the peer kept sending.
   */
  requestsPastRefusal: number
  /** Offences within `offenceWindowMs` that block a peer. */
  offenceThreshold: number
  offenceWindowMs: number
  /** How long a blocked peer stays blocked. */
  blockMs: number
  /** Peers tracked at once; idle entries are forgotten past this bound. */
  maxTrackedPeers: number
}

export const DEFAULT_BUDGET_LIMITS: BudgetLimits = {
  maxSessionsPerPeer: 8,
  maxBytesPerSession: 256 * 1024 * 1024,
  requestsPerSecond: 200,
  requestBurst: 400,
  rateLimitBackoffMs: 1_000,
  requestsPastRefusal: 32,
  offenceThreshold: 3,
  offenceWindowMs: 60_000,
  blockMs: 10 * 60_000,
  maxTrackedPeers: 10_000,
}

export type SessionGrant =
  | { ok: true; release: () => void }
  | { ok: false; reason: 'blocked' | 'too-many-sessions' }

export interface OffenceOutcome {
  /** Offences of this peer inside the window, this one included. */
  recent: number
  /** True when this offence crossed the threshold and blocked the peer. */
  blocked: boolean
}

/** A request's fate: served, refused as rate-limited, or refused and an offence (sent past a refusal). */
export type RequestVerdict = 'ok' | 'refused' | 'offence'

export interface PeerBudgets {
  openSession(peer: string): SessionGrant
  takeRequest(peer: string): RequestVerdict
  offend(peer: string, reason: OffenceReason): OffenceOutcome
  isBlocked(peer: string): boolean
  blockedUntil(peer: string): number | undefined
  unblock(peer: string): void
  /** Offences counted since start, by reason (all peers, or one). */
  offences(peer?: string): Record<OffenceReason, number>
  sessions(peer: string): number
  readonly trackedPeers: number
  readonly limits: Readonly<BudgetLimits>
}

interface PeerEntry {
  sessions: number
  tokens: number
  refilledAt: number
  /** Until when the peer must hold off after a refusal, and how many requests it sent meanwhile. */
  backoffUntil: number
  pastRefusal: number
  recentOffences: number[]
  offences: Record<OffenceReason, number>
  blockedUntil: number
}

export function emptyOffenceCounts(): Record<OffenceReason, number> {
  return Object.fromEntries(OFFENCE_REASONS.map((r) => [r, 0])) as Record<OffenceReason, number>
}

export function createPeerBudgets(
  limits: Partial<BudgetLimits> = {},
  now: () => number = Date.now,
): PeerBudgets {
  const cfg: BudgetLimits = { ...DEFAULT_BUDGET_LIMITS, ...limits }
  const peers = new Map<string, PeerEntry>()
  const totals = emptyOffenceCounts()

  const isIdle = (e: PeerEntry, t: number): boolean =>
    e.sessions === 0 && e.blockedUntil <= t && e.recentOffences.every((at) => at <= t - cfg.offenceWindowMs)

  const entry = (peer: string): PeerEntry => {
    let e = peers.get(peer)
    if (e === undefined) {
      if (peers.size >= cfg.maxTrackedPeers) {
        const t = now()
        for (const [id, other] of peers) if (isIdle(other, t)) peers.delete(id)
      }
      e = {
        sessions: 0,
        tokens: cfg.requestBurst,
        refilledAt: now(),
        backoffUntil: 0,
        pastRefusal: 0,
        recentOffences: [],
        offences: emptyOffenceCounts(),
        blockedUntil: 0,
      }
      peers.set(peer, e)
    }
    return e
  }

  const blocked = (e: PeerEntry | undefined): boolean => e !== undefined && e.blockedUntil > now()

  return {
    openSession(peer) {
      const e = entry(peer)
      if (blocked(e)) return { ok: false, reason: 'blocked' }
      if (e.sessions >= cfg.maxSessionsPerPeer) return { ok: false, reason: 'too-many-sessions' }
      e.sessions++
      let released = false
      return {
        ok: true,
        release: () => {
          if (released) return
          released = true
          e.sessions--
        },
      }
    },
    takeRequest(peer) {
      const e = entry(peer)
      const t = now()
      e.tokens = Math.min(cfg.requestBurst, e.tokens + ((t - e.refilledAt) * cfg.requestsPerSecond) / 1000)
      e.refilledAt = t
      if (t < e.backoffUntil) {
        // Told to hold off: a few requests already in flight are expected, more is an offence.
        if (++e.pastRefusal <= cfg.requestsPastRefusal) return 'refused'
        e.pastRefusal = 0
        e.backoffUntil = t + cfg.rateLimitBackoffMs
        return 'offence'
      }
      if (e.tokens < 1) {
        e.backoffUntil = t + cfg.rateLimitBackoffMs
        e.pastRefusal = 0
        return 'refused'
      }
      e.tokens -= 1
      return 'ok'
    },
    offend(peer, reason) {
      const e = entry(peer)
      const t = now()
      e.offences[reason]++
      totals[reason]++
      e.recentOffences = e.recentOffences.filter((at) => at > t - cfg.offenceWindowMs)
      e.recentOffences.push(t)
      const recent = e.recentOffences.length
      if (recent >= cfg.offenceThreshold && e.blockedUntil <= t) {
        e.blockedUntil = t + cfg.blockMs
        return { recent, blocked: true }
      }
      return { recent, blocked: false }
    },
    isBlocked: (peer) => blocked(peers.get(peer)),
    blockedUntil(peer) {
      const e = peers.get(peer)
      // Stryker disable next-line OptionalChaining: equivalent, blocked(e) is false for an unknown peer
      return blocked(e) ? e?.blockedUntil : undefined
    },
    unblock(peer) {
      const e = peers.get(peer)
      if (e === undefined) return
      e.blockedUntil = 0
      e.recentOffences = []
    },
    offences: (peer) => ({
      ...(peer === undefined ? totals : (peers.get(peer)?.offences ?? emptyOffenceCounts())),
    }),
    sessions: (peer) => peers.get(peer)?.sessions ?? 0,
    get trackedPeers() {
      return peers.size
    },
    limits: cfg,
  }
}
