import type { OffenceReason, PeerBudgets } from '@provsync/sync'
import { ARTIFACT_OFFENCES, type ArtifactOffence, ArtifactProtocolError } from './errors.js'
import type { ArtifactOffenceEvent } from './index.js'

/** Artifact offences as sync's per-peer budgets count them (blocking is shared logic). */
const BUDGET_REASON: Record<ArtifactOffence, OffenceReason> = {
  'altered-content': 'invalid-record',
  'forged-grant': 'invalid-record',
  'forged-artifact': 'invalid-record',
  'stale-epoch': 'invalid-record',
  'malformed-record': 'invalid-record',
  'out-of-scope': 'unrequested-record',
  'unrequested-record': 'unrequested-record',
  'malformed-frame': 'malformed-frame',
  'unexpected-message': 'unexpected-message',
  'lying-tree': 'lying-tree',
  probe: 'unauthorized',
  timeout: 'timeout',
  'too-many-sessions': 'too-many-sessions',
  'wrong-network': 'wrong-network',
}

/** Offences by peer and in total; each one also goes to sync's budgets, which block repeat offenders. */
export class OffenceBook {
  private readonly byPeer = new Map<string, Partial<Record<ArtifactOffence, number>>>()

  static empty(): Record<ArtifactOffence, number> {
    return Object.fromEntries(ARTIFACT_OFFENCES.map((r) => [r, 0])) as Record<ArtifactOffence, number>
  }

  constructor(
    private readonly budgets: PeerBudgets,
    private readonly totals: Record<ArtifactOffence, number>,
    private readonly onOffence: (event: ArtifactOffenceEvent) => void,
  ) {}

  offend(peer: string, reason: ArtifactOffence, detail: string, records = 1): void {
    this.totals[reason]++
    const counts = this.byPeer.get(peer) ?? {}
    counts[reason] = (counts[reason] ?? 0) + 1
    this.byPeer.set(peer, counts)
    // Bounded like the budgets: forget the oldest peer past their bound.
    if (this.byPeer.size > this.budgets.limits.maxTrackedPeers) {
      this.byPeer.delete(this.byPeer.keys().next().value!)
    }
    const outcome = this.budgets.offend(peer, BUDGET_REASON[reason])
    this.onOffence({ peer, reason, detail, records, blocked: outcome.blocked })
  }

  /** Blames the peer a session failed on when the failure names its offence (not a reset, not a refusal). */
  blameFor(peer: string, err: unknown): void {
    if (err instanceof ArtifactProtocolError) this.offend(peer, err.reason, err.detail)
  }

  of(peer?: string): Partial<Record<ArtifactOffence, number>> {
    return peer === undefined ? { ...this.totals } : { ...(this.byPeer.get(peer) ?? {}) }
  }
}
