import type { PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { OffenceOutcome, PeerBudgets } from './budget.js'
import { PEER_GONE_GRACE_MS } from './constants.js'
import {
  BudgetExceededError,
  FrameTooLargeError,
  MalformedFrameError,
  NetworkMismatchError,
  type OffenceReason,
  ProtocolViolationError,
} from './errors.js'
import type { SyncLog } from './logging.js'
import type { SyncMetrics } from './metrics.js'
import { TrustBundleMismatchError } from './trust.js'

const BUDGET_OFFENCES: Record<BudgetExceededError['budget'], OffenceReason> = {
  bytes: 'session-bytes',
  buffer: 'buffered-bytes',
  time: 'timeout',
  rate: 'rate-limited',
  sessions: 'too-many-sessions',
}

/** The offence a session failure counts as, or undefined when the remote is not to blame. */
export function offenceFor(err: unknown): OffenceReason | undefined {
  if (err instanceof FrameTooLargeError) return 'oversized-frame'
  if (err instanceof MalformedFrameError) return 'malformed-frame'
  if (err instanceof ProtocolViolationError) return err.reason
  if (err instanceof TrustBundleMismatchError) return undefined // a peer mid-rotation, not a liar
  if (err instanceof NetworkMismatchError) return 'wrong-network'
  if (err instanceof BudgetExceededError) return BUDGET_OFFENCES[err.budget]
  return undefined
}

export interface OffenceAccountingInit {
  budgets: PeerBudgets
  metrics: SyncMetrics
  connectionManager: ConnectionManager
  log: SyncLog
  /** Whether the service still runs (a late verdict after stop is dropped). */
  running(): boolean
  onOffence(peer: PeerId, reason: OffenceReason, detail: string, outcome: OffenceOutcome): void
  onBlocked(peer: PeerId, untilMs: number): void
}

/**
 * Offence accounting: every failure a peer causes is counted by reason, logged at warn, and past
 * the threshold blocks the peer and closes its connections. Protocol paths only throw typed
 * errors; `blame` decides here whether the remote is to blame.
 */
export class OffenceAccounting {
  constructor(private readonly init: OffenceAccountingInit) {}

  offend(peer: PeerId, reason: OffenceReason, detail: string): void {
    const { budgets, metrics, log, connectionManager } = this.init
    const id = peer.toString()
    const outcome = budgets.offend(id, reason)
    metrics.offences.inc({ reason })
    log.warn('offence by %p: %s (%s), %d recent', peer, reason, detail, outcome.recent)
    this.init.onOffence(peer, reason, detail, outcome)
    if (outcome.blocked) {
      const untilMs = budgets.blockedUntil(id) ?? Date.now()
      log.warn('blocked %p until %s', peer, new Date(untilMs).toISOString())
      this.init.onBlocked(peer, untilMs)
      connectionManager.closeConnections(peer).catch(() => {})
    }
  }

  /** Turns a failed session into an offence when the failure is the remote's doing. */
  blame(peer: PeerId, err: unknown): void {
    const reason = offenceFor(err)
    const message = (err as Error | undefined)?.message ?? String(err)
    if (reason === undefined) {
      this.init.log('session with %p ended - %s', peer, message)
      return
    }
    if (err instanceof ProtocolViolationError && err.endOfStream) {
      // A peer that stops or is cut off mid-session ends its streams just before its connection
      // goes: only a stream ended on a connection that stays up is the peer's doing.
      setTimeout(() => {
        if (!this.init.running()) return
        const open = this.init.connectionManager.getConnections(peer).some((c) => c.status === 'open')
        if (open) this.offend(peer, reason, message)
        else this.init.log('session with %p ended as the peer went away - %s', peer, message)
      }, PEER_GONE_GRACE_MS).unref?.()
      return
    }
    this.offend(peer, reason, message)
  }
}
