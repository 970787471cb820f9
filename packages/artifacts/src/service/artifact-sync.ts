import {
  type AbortOptions,
  type Connection,
  type IdentifyResult,
  type Logger,
  type PeerId,
  type Startable,
  type Stream,
  serviceCapabilities,
} from '@libp2p/interface'
import { networkTag } from '@provsync/crdt'
import {
  createPeerBudgets,
  DEFAULT_BUDGET_LIMITS,
  framedStream,
  type PeerBudgets,
  startDeadline,
} from '@provsync/sync'
import { TypedEventEmitter } from 'main-event'
import type { ApplyOutcome } from '../store/apply.js'
import type { ArtifactStore } from '../store/store.js'
import type { TrustBundle } from '../trust.js'
import {
  ARTIFACT_SYNC_PROTOCOL,
  DEFAULT_ANTI_ENTROPY_JITTER,
  DEFAULT_ANTI_ENTROPY_MS,
  DEFAULT_APPLY_BATCH,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS_PER_PEER,
  DEFAULT_PROPAGATE_DEBOUNCE_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  MAX_FRAME_BYTES,
} from './constants.js'
import { Conversation } from './conversation.js'
import {
  type ArtifactOffence,
  ArtifactSyncError,
  type ArtifactSyncRefusal,
  ArtifactSyncRefusedError,
  PeerNotAdmittedError,
} from './errors.js'
import { type ScopeFreshness, scopeFreshness } from './freshness.js'
import { admit, greet, type Identity } from './handshake.js'
import type {
  ArtifactSyncComponents,
  ArtifactSyncCounters,
  ArtifactSyncEvents,
  ArtifactSyncInit,
  ArtifactSyncLimits,
  ArtifactSyncReport,
  ArtifactSyncService,
} from './index.js'
import { OffenceBook } from './offences.js'
import { PeerRoots } from './peer-roots.js'
import { initiate, newReport, respond, type SessionReport } from './session.js'
import type { SessionContext } from './transfer.js'
import { TrustFollower } from './trust-follower.js'

/** Sessions to one peer run one at a time; a trigger during one asks for another after it. */
interface PeerRun {
  running: Promise<ArtifactSyncReport>
  again: boolean
}

export class ArtifactSync
  extends TypedEventEmitter<ArtifactSyncEvents>
  implements ArtifactSyncService, Startable
{
  readonly [Symbol.toStringTag] = '@provsync/artifacts'
  readonly [serviceCapabilities]: string[] = ['@provsync/artifacts']
  readonly store: ArtifactStore
  readonly freshness: ScopeFreshness
  readonly limits: ArtifactSyncLimits
  readonly counters: ArtifactSyncCounters
  private readonly log: Logger
  private readonly tag: Uint8Array
  private readonly budgets: PeerBudgets
  private readonly book: OffenceBook
  private readonly trust: TrustFollower | undefined
  private readonly runs = new Map<string, PeerRun>()
  private readonly lastSession = new Map<string, number>()
  /** Peers whose connection does not speak the protocol (a previous release): not asked again. */
  private readonly unsupported = new Set<string>()
  private readonly openStreams = new Set<Stream>()
  private readonly roots = new PeerRoots()
  private readonly holds = (scope: string): boolean => this.store.tree(scope) !== undefined
  private stopController = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private propagateTimer: ReturnType<typeof setTimeout> | undefined
  private propagateExcept = new Set<string>()
  private started = false

  constructor(
    private readonly components: ArtifactSyncComponents,
    private readonly init: ArtifactSyncInit,
  ) {
    super()
    this.store = init.store
    this.freshness = init.freshness ?? scopeFreshness()
    this.log = components.logger.forComponent('provsync:artifacts')
    this.tag = networkTag(init.store.networkId)
    this.limits = {
      requestTimeoutMs: init.limits?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: init.limits?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      sessionTimeoutMs: init.limits?.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      maxSessionsPerPeer: init.limits?.maxSessionsPerPeer ?? DEFAULT_MAX_SESSIONS_PER_PEER,
      applyBatch: init.limits?.applyBatch ?? DEFAULT_APPLY_BATCH,
    }
    this.budgets = createPeerBudgets({ ...init.budgets, maxSessionsPerPeer: this.limits.maxSessionsPerPeer })
    this.counters = {
      sessions: { ok: 0, failed: 0 },
      applied: 0,
      pushed: 0,
      bytesIn: 0,
      bytesOut: 0,
      refusals: { sent: {}, received: {} },
      offences: OffenceBook.empty(),
      trustLinksRefused: {},
    }
    this.book = new OffenceBook(this.budgets, this.counters.offences, (event) => {
      this.log('offence by %s: %s (%s)', event.peer, event.reason, event.detail)
      this.safeDispatchEvent('artifacts:offence', { detail: event })
      if (event.blocked) this.closeConnections(event.peer)
    })
    this.trust =
      init.trust === undefined
        ? undefined
        : new TrustFollower(this.store, init.trust, this.counters.trustLinksRefused, (bundle, applied) => {
            this.log('trust bundle %s in force', bundle.version)
            this.safeDispatchEvent('trust:rotated', { detail: { bundle, applied } })
          })
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, protocols } = evt.detail
    if (!protocols.includes(ARTIFACT_SYNC_PROTOCOL)) return
    this.unsupported.delete(peerId.toString())
    if (this.components.peerId.toString() < peerId.toString()) this.trigger(peerId)
  }

  /** A peer gone: its listed roots say nothing any more (a reconnect lists them again). */
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    if (this.roots.forgetPeer(peer))
      this.safeDispatchEvent('artifacts:peer-roots', { detail: { peer, roots: new Map() } })
  }

  async start(): Promise<void> {
    this.stopController = new AbortController()
    this.started = true
    await this.components.registrar.handle(
      ARTIFACT_SYNC_PROTOCOL,
      (stream, connection) => this.onInbound(stream, connection),
      {
        maxInboundStreams: this.init.maxInboundStreams ?? 16,
        maxOutboundStreams: this.init.maxOutboundStreams ?? 16,
      },
    )
    if (this.init.syncOnConnect !== false)
      this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.trust?.follow()
    this.scheduleTick()
  }

  async stop(): Promise<void> {
    this.started = false
    clearTimeout(this.timer)
    clearTimeout(this.propagateTimer)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.stopController.abort(new ArtifactSyncError('artifact sync stopped'))
    for (const stream of this.openStreams) stream.abort(new ArtifactSyncError('artifact sync stopped'))
    await Promise.allSettled([...this.runs.values()].map((r) => r.running))
    await this.components.registrar.unhandle(ARTIFACT_SYNC_PROTOCOL)
  }

  trustBundle(): TrustBundle | undefined {
    return this.trust?.bundle
  }

  peerRoots(scope: string): Map<string, Uint8Array> {
    return this.roots.of(scope, this.holds)
  }

  offences(peer?: PeerId | string): Partial<Record<ArtifactOffence, number>> {
    return this.book.of(peer?.toString())
  }

  isBlocked(peer: PeerId | string): boolean {
    return this.budgets.isBlocked(peer.toString())
  }

  async publish(records: readonly Uint8Array[]): Promise<ApplyOutcome[]> {
    const outcomes = await this.store.apply(records, { from: this.store.nodeKey })
    if (outcomes.some((o) => o.status === 'applied')) {
      this.trust?.follow()
      this.propagate()
    }
    return outcomes
  }

  /** Runs a session with `peer` now (after the one under way, if any). */
  async syncWith(peer: PeerId, options: AbortOptions = {}): Promise<ArtifactSyncReport> {
    const id = peer.toString()
    const run = this.runs.get(id)
    if (run !== undefined) await run.running.catch(() => {})
    const running = this.outbound(peer, options)
    this.runs.set(id, { running, again: false })
    try {
      return await running
    } finally {
      const after = this.runs.get(id)
      if (after?.running === running) {
        this.runs.delete(id)
        if (after.again && this.started) this.trigger(peer)
      }
    }
  }

  /** Asks for a session with `peer` in the background (merged with one under way). */
  private trigger(peer: PeerId): void {
    const id = peer.toString()
    if (!this.started || this.unsupported.has(id) || this.budgets.isBlocked(id)) return
    const run = this.runs.get(id)
    if (run !== undefined) {
      run.again = true
      return
    }
    this.syncWith(peer).catch((err: Error) => this.log('session with %s failed: %s', id, err.message))
  }

  /** After a change: sessions with every connected peer (but the one it came from), debounced. */
  private propagate(except?: string): void {
    if (this.init.propagate === false || !this.started) return
    if (except !== undefined && this.propagateTimer === undefined) this.propagateExcept.add(except)
    else this.propagateExcept.clear()
    if (this.propagateTimer !== undefined) return
    const debounceMs =
      this.init.propagate === undefined
        ? DEFAULT_PROPAGATE_DEBOUNCE_MS
        : (this.init.propagate.debounceMs ?? DEFAULT_PROPAGATE_DEBOUNCE_MS)
    this.propagateTimer = setTimeout(() => {
      this.propagateTimer = undefined
      const skip = this.propagateExcept
      this.propagateExcept = new Set()
      for (const peer of this.connectedPeers()) if (!skip.has(peer.toString())) this.trigger(peer)
    }, debounceMs)
    this.propagateTimer.unref?.()
  }

  private connectedPeers(): PeerId[] {
    const seen = new Map<string, PeerId>()
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.status === 'open') seen.set(c.remotePeer.toString(), c.remotePeer)
    }
    return [...seen.values()]
  }

  private scheduleTick(): void {
    if (this.init.antiEntropy === false || !this.started) return
    const intervalMs = this.init.antiEntropy?.intervalMs ?? DEFAULT_ANTI_ENTROPY_MS
    const jitter = this.init.antiEntropy?.jitter ?? DEFAULT_ANTI_ENTROPY_JITTER
    const delay = intervalMs * (1 - jitter + 2 * jitter * Math.random())
    this.timer = setTimeout(() => {
      this.tick(intervalMs)
      this.scheduleTick()
    }, delay)
    this.timer.unref?.()
  }

  /** Anti-entropy: re-derive (grant expiry drops scopes), follow the trust chain, sync stale peers. */
  private tick(intervalMs: number): void {
    try {
      this.store.refresh()
      this.trust?.follow()
    } catch (err) {
      this.log('refresh failed: %s', (err as Error).message)
    }
    const now = Date.now()
    for (const peer of this.connectedPeers()) {
      if (now - (this.lastSession.get(peer.toString()) ?? 0) >= intervalMs) this.trigger(peer)
    }
  }

  private async outbound(peer: PeerId, options: AbortOptions): Promise<ArtifactSyncReport> {
    const id = peer.toString()
    if (this.budgets.isBlocked(id)) throw new PeerNotAdmittedError('blocked', id)
    const key = peerKey(peer)
    const deadline = startDeadline(
      this.limits.sessionTimeoutMs,
      anySignal(this.stopController.signal, options.signal),
    )
    let stream: Stream
    try {
      stream = await this.components.connectionManager.openStream(peer, ARTIFACT_SYNC_PROTOCOL, {
        signal: deadline.signal,
      })
    } catch (err) {
      deadline.clear()
      if ((err as Error).name === 'UnsupportedProtocolError') this.unsupported.add(id)
      throw err
    }
    return this.session(stream, id, key, 'outbound', deadline)
  }

  private async onInbound(stream: Stream, connection: Connection): Promise<void> {
    const id = connection.remotePeer.toString()
    const grant = this.budgets.openSession(id)
    if (!grant.ok) {
      this.refusal(id, grant.reason === 'blocked' ? 'blocked' : 'busy', 'sent')
      stream.abort(new ArtifactSyncError(grant.reason))
      if (grant.reason === 'too-many-sessions')
        this.book.offend(id, 'too-many-sessions', 'one session too many')
      return
    }
    const deadline = startDeadline(this.limits.sessionTimeoutMs, this.stopController.signal)
    try {
      await this.session(stream, id, peerKey(connection.remotePeer), 'inbound', deadline)
    } catch {
      // Counted, blamed and reported in session().
    } finally {
      grant.release()
    }
  }

  private async session(
    stream: Stream,
    id: string,
    key: Uint8Array,
    direction: 'outbound' | 'inbound',
    deadline: ReturnType<typeof startDeadline>,
  ): Promise<ArtifactSyncReport> {
    const started = Date.now()
    this.openStreams.add(stream)
    const framed = framedStream(stream, {
      maxFrameBytes: MAX_FRAME_BYTES,
      maxSessionBytes: DEFAULT_BUDGET_LIMITS.maxBytesPerSession,
    })
    const tap = this.init.faults?.frames
    const conv = new Conversation(
      framed,
      id,
      this.limits,
      deadline.signal,
      tap && ((side, b) => tap(side, id, b)),
    )
    const ctx = this.sessionContext(conv, id, key)
    // Filled as the session goes: a session cut short (the peer blocked mid-batch) still reports
    // the records it received and applied, and what it refused.
    const report: SessionReport = newReport()
    let error: Error | undefined
    try {
      if (direction === 'outbound') {
        await greet(conv, this.identity(), key)
        await initiate(ctx, report)
      } else {
        await admit(conv, this.identity(), key)
        await respond(ctx, report)
      }
      await stream.close().catch((err: Error) => stream.abort(err))
    } catch (err) {
      error = err as Error
      stream.abort(error)
      this.book.blameFor(id, err)
      this.noteRefusal(id, err)
    } finally {
      deadline.clear()
      this.openStreams.delete(stream)
    }
    return this.finish(id, direction, report, framed, started, error)
  }

  private finish(
    id: string,
    direction: 'outbound' | 'inbound',
    report: SessionReport,
    framed: { bytesRead: number; bytesWritten: number },
    started: number,
    error: Error | undefined,
  ): ArtifactSyncReport {
    const full: ArtifactSyncReport = {
      ...report,
      peer: id,
      direction,
      bytesIn: framed.bytesRead,
      bytesOut: framed.bytesWritten,
      durationMs: Date.now() - started,
      ...(error === undefined ? {} : { error }),
    }
    this.counters.bytesIn += full.bytesIn
    this.counters.bytesOut += full.bytesOut
    this.counters.applied += report.pulled.applied
    this.counters.pushed += report.pushed
    this.lastSession.set(id, Date.now())
    if (error === undefined) {
      this.counters.sessions.ok++
      for (const scope of report.shared) this.freshness.synced(scope)
    } else this.counters.sessions.failed++
    if (report.pulled.applied > 0) {
      this.trust?.follow()
      this.propagate(id)
    }
    this.safeDispatchEvent('artifacts:synced', { detail: full })
    if (error !== undefined && direction === 'outbound') throw Object.assign(error, { report: full })
    return full
  }

  private identity(): Identity {
    return {
      networkId: this.store.networkId,
      bundleVersion: this.trust?.bundle.version ?? 0n,
      admission: this.init.admission,
    }
  }

  private sessionContext(conv: Conversation, id: string, key: Uint8Array): SessionContext {
    return {
      conv,
      store: this.store,
      networkId: this.store.networkId,
      tag: this.tag,
      remoteKey: key,
      applyBatch: this.limits.applyBatch,
      outgoing: this.init.faults?.outgoing,
      blame: (reason, detail, records) => this.book.offend(id, reason, detail, records),
      listed: (roots) => {
        const kept = this.roots.note(id, roots)
        this.safeDispatchEvent('artifacts:peer-roots', { detail: { peer: id, roots: kept } })
      },
    }
  }

  /** We refused the peer (either side of the session), or it refused us. */
  private noteRefusal(id: string, err: unknown): void {
    if (err instanceof PeerNotAdmittedError) this.refusal(id, err.code, 'sent')
    else if (err instanceof ArtifactSyncRefusedError) this.refusal(id, err.code, 'received')
  }

  private refusal(peer: string, code: ArtifactRefusalCode, side: 'sent' | 'received'): void {
    const counts = this.counters.refusals[side]
    counts[code] = (counts[code] ?? 0) + 1
    this.safeDispatchEvent('artifacts:refusal', { detail: { peer, code, side } })
  }

  private closeConnections(peer: string): void {
    for (const c of this.components.connectionManager.getConnections()) {
      if (c.remotePeer.toString() === peer) c.close().catch(() => {})
    }
  }
}

type ArtifactRefusalCode = ArtifactSyncRefusal | 'unknown'

/** The raw Ed25519 key of a peer id: the `from` of its records and the subject of its grants. */
function peerKey(peer: PeerId): Uint8Array {
  const raw = peer.publicKey?.raw
  if (raw === undefined || raw.length !== 32)
    throw new ArtifactSyncError(`peer ${peer.toString()} has no Ed25519 key`)
  return raw
}

function anySignal(a: AbortSignal, b: AbortSignal | undefined): AbortSignal {
  return b === undefined ? a : AbortSignal.any([a, b])
}
