import {
  type GossipSub,
  type Message as PubSubMessage,
  type TopicValidatorFn,
  TopicValidatorResult,
} from '@libp2p/gossipsub'
import {
  type AbortOptions,
  type ComponentLogger,
  type Connection,
  type Libp2pEvents,
  type Logger,
  type PeerId,
  type Startable,
  type Stream,
  serviceCapabilities,
  serviceDependencies,
  type TypedEventTarget,
} from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { TypedEventEmitter } from 'main-event'
import type { Registry } from 'prom-client'
import { checkAnnouncement, differingStores, type HeadsAnnouncement, localHeads } from './announce.js'
import { type BudgetLimits, createPeerBudgets, type PeerBudgets } from './budget.js'
import { createPullClaims } from './claims.js'
import { startDeadline } from './deadline.js'
import { createDebouncer, type Debouncer, jittered } from './debounce.js'
import {
  BudgetExceededError,
  FrameTooLargeError,
  MalformedFrameError,
  NetworkMismatchError,
  type OffenceReason,
  PeerBlockedError,
  ProtocolViolationError,
  SyncError,
} from './errors.js'
import { type FramedStream, framedStream } from './framing.js'
import { peerPublicKey } from './identity.js'
import { createSyncMetrics, type SyncMetrics } from './metrics.js'
import { sharedStores } from './negotiate.js'
import {
  DEFAULT_PROTOCOL_LIMITS,
  emptyTally,
  type ProtocolLimits,
  type PullTally,
  type SessionContext,
} from './protocol/context.js'
import { serveFetch } from './protocol/fetch.js'
import { admit, greet } from './protocol/handshake.js'
import { initiateExchange, respondExchange } from './protocol/reconcile.js'
import { createPullQueue, type PullQueue } from './pull-queue.js'
import { type StoreName, SYNC_ORDER, type SyncedState } from './state.js'
import { toHex, trustBundleHash } from './trust.js'
import { encodeAnnouncement } from './wire/codec.js'

export const RECONCILE_PROTOCOL = '/provsync/reconcile/1.0.0'
export const FETCH_PROTOCOL = '/provsync/fetch/1.0.0'

export function headsTopic(networkId: string): string {
  return `/provsync/heads/1.0.0/${networkId}`
}

/** Refusal reasons from crdt's `apply` that an honest peer never relays, so they count as offences. */
export const DEFAULT_OFFENDING_REFUSALS = [
  'malformed',
  'bad-signature',
  'oversized',
  'far-future',
  'untrusted-operator',
  'wrong-network',
  'unknown-kind',
  'invalid-run',
]

/** Peers allowed to pull a store: peer ids (strings or PeerId) or raw Ed25519 public keys. */
export type PeerRef = string | PeerId | Uint8Array

export interface ProvsyncServiceInit {
  /** The node's stores (crdt `openNodeState`), or anything honouring the ingest contract. */
  state: SyncedState
  /** Operator public keys of the trust bundle; peers must hold the same set. */
  trust: readonly Uint8Array[]
  /** Per-store allowlist of peers that may pull it; a store not listed may be pulled by any peer of the network. */
  allowlist?: Partial<Record<StoreName, readonly PeerRef[]>>
  /** Stores to sync, in sync order (default: revocations, supersessions, assertions). */
  stores?: readonly StoreName[]
  /** Head announcements after local changes; false disables them. */
  announce?: false | { debounceMs?: number; maxWaitMs?: number }
  /**
   * Sessions that peers' announcements start at once (default 2). More announcers wait their turn,
   * each with its latest announcement, and are skipped if our roots match it by then.
   */
  announcementPulls?: number
  /** Periodic sync with a random connected peer; false disables it. */
  antiEntropy?: false | { intervalMs?: number; jitter?: number }
  /** Sync with a peer as soon as it connects (default true). */
  syncOnConnect?: boolean
  /** Name of the gossipsub service in the libp2p services map (default `pubsub`). */
  pubsubService?: string
  budgets?: Partial<BudgetLimits>
  limits?: Partial<ProtocolLimits>
  /** Inbound/outbound streams per connection and protocol, enforced by the libp2p registrar. */
  maxInboundStreams?: number
  maxOutboundStreams?: number
  /** Bytes a stream may queue for a slow reader before it is reset (yamux's own default is unbounded). */
  maxWriteBufferBytes?: number
  offendingRefusals?: readonly string[]
  /** Registry the sync metrics are registered in (default: a registry of this service's own). */
  registry?: Registry
}

export interface ProvsyncComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
}

export type SyncDirection = 'outbound' | 'inbound'
export type SyncReason = 'manual' | 'announcement' | 'anti-entropy' | 'connect'

export interface SyncStarted {
  peer: PeerId
  direction: SyncDirection
  reason: SyncReason | 'remote'
}

export interface SyncReport extends SyncStarted {
  rounds: number
  bytesIn: number
  bytesOut: number
  /** Records this node pulled and what became of them. */
  pulled: number
  applied: number
  refused: number
  refusedByReason: Record<string, number>
  /** Time spent applying what was pulled (verification and transactions); the rest is transfer. */
  applyMs: number
  /** Records the remote applied from our offer (outbound sessions). */
  remoteApplied: number
  durationMs: number
  error?: Error
}

export interface OffenceEvent {
  peer: PeerId
  reason: OffenceReason
  detail: string
  recent: number
  blocked: boolean
}

export interface ProvsyncEvents {
  'sync:started': CustomEvent<SyncStarted>
  'sync:finished': CustomEvent<SyncReport>
  'peer:offence': CustomEvent<OffenceEvent>
  'peer:blocked': CustomEvent<{ peer: PeerId; untilMs: number }>
  'heads:announced': CustomEvent<HeadsAnnouncement>
  'heads:received': CustomEvent<{ peer: PeerId; announcement: HeadsAnnouncement; differing: StoreName[] }>
}

export interface PeerSyncStatus {
  peer: string
  lastSyncMs?: number
  blockedUntilMs?: number
  offences: Record<OffenceReason, number>
}

export interface ProvsyncService extends TypedEventTarget<ProvsyncEvents> {
  readonly networkId: string
  readonly topic: string
  readonly metrics: SyncMetrics
  /** One exchange with `peer`: both sides pull what they lack; resolves when both pulls are done. */
  syncWith(peer: PeerId, options?: AbortOptions & { reason?: SyncReason }): Promise<SyncReport>
  /** Publishes this node's roots now instead of after the debounce. */
  announce(options?: AbortOptions): Promise<void>
  isBlocked(peer: PeerId): boolean
  unblock(peer: PeerId): void
  offences(peer?: PeerId): Record<OffenceReason, number>
  peers(): PeerSyncStatus[]
}

/** One session's context and the streams it opened, closed and measured together. */
interface Session {
  ctx: SessionContext
  frame(stream: Stream): FramedStream
  finish(report: SyncReport): void
}

class Provsync extends TypedEventEmitter<ProvsyncEvents> implements ProvsyncService, Startable {
  readonly [Symbol.toStringTag] = '@provsync/sync'
  readonly [serviceCapabilities]: string[] = ['@provsync/sync']
  readonly [serviceDependencies]: string[] = ['@libp2p/identify', '@libp2p/pubsub']

  readonly networkId: string
  readonly topic: string
  readonly metrics: SyncMetrics
  private readonly log: Logger
  private readonly trustHash: Uint8Array
  private readonly stores: readonly StoreName[]
  private readonly limits: ProtocolLimits
  private readonly budgets: PeerBudgets
  private readonly offendingRefusals: ReadonlySet<string>
  private readonly allowlist: Map<StoreName, Set<string>>
  private readonly running = new Map<string, Promise<SyncReport>>()
  private readonly rerun = new Set<string>()
  private readonly claims = createPullClaims()
  private readonly announcedPulls: PullQueue<{ peer: PeerId; announcement: HeadsAnnouncement }>
  private readonly lastSync = new Map<string, number>()
  private readonly syncPeers = new Map<string, PeerId>()
  private readonly openStreams = new Set<Stream>()
  private started = false
  private antiEntropyTimer: ReturnType<typeof setTimeout> | undefined
  private debouncer: Debouncer | undefined
  private unsubscribeState: (() => void) | undefined
  private topologyId: string | undefined
  private stopController = new AbortController()

  constructor(
    private readonly components: ProvsyncComponents,
    private readonly init: ProvsyncServiceInit,
  ) {
    super()
    this.log = components.logger.forComponent('provsync:sync')
    this.networkId = init.state.networkId
    this.topic = headsTopic(this.networkId)
    this.trustHash = trustBundleHash(init.trust)
    this.stores = init.stores ?? SYNC_ORDER
    this.limits = { ...DEFAULT_PROTOCOL_LIMITS, ...init.limits }
    this.budgets = createPeerBudgets(init.budgets)
    this.offendingRefusals = new Set(init.offendingRefusals ?? DEFAULT_OFFENDING_REFUSALS)
    this.allowlist = new Map(
      Object.entries(init.allowlist ?? {}).map(([store, peers]) => [
        store as StoreName,
        new Set((peers ?? []).map(peerRefKey)),
      ]),
    )
    this.announcedPulls = createPullQueue({
      concurrency: init.announcementPulls ?? 2,
      stillNeeded: (id, { announcement }) => {
        if (!this.started || !this.syncPeers.has(id) || this.budgets.isBlocked(id)) return false
        if (differingStores(this.init.state, announcement, this.stores).length > 0) return true
        this.metrics.announcements.inc({ outcome: 'caught-up' })
        return false
      },
      run: (_id, { peer }) =>
        this.syncWith(peer, { reason: 'announcement', signal: this.stopController.signal }).catch(
          (err: Error) => this.log('announced sync with %p failed - %s', peer, err.message),
        ),
    })
    this.metrics = createSyncMetrics(
      init.registry,
      () => {
        const now = Date.now()
        return new Map([...this.lastSync].map(([peer, at]) => [peer, (now - at) / 1000]))
      },
      () => [...this.syncPeers.values()].filter((p) => this.budgets.isBlocked(p.toString())).length,
    )
  }

  async start(): Promise<void> {
    this.stopController = new AbortController()
    const handlerOptions = {
      maxInboundStreams: this.init.maxInboundStreams ?? 32,
      maxOutboundStreams: this.init.maxOutboundStreams ?? 64,
    }
    await this.components.registrar.handle(
      RECONCILE_PROTOCOL,
      (stream, connection) => this.onInbound('reconcile', stream, connection),
      handlerOptions,
    )
    await this.components.registrar.handle(
      FETCH_PROTOCOL,
      (stream, connection) => this.onInbound('fetch', stream, connection),
      handlerOptions,
    )
    this.components.events.addEventListener('peer:connect', this.onPeerConnect)
    this.started = true
  }

  async afterStart(): Promise<void> {
    this.topologyId = await this.components.registrar.register(RECONCILE_PROTOCOL, {
      onConnect: (peer) => {
        this.syncPeers.set(peer.toString(), peer)
        // One side initiates on connect, so a fresh pair runs one exchange, not two.
        if ((this.init.syncOnConnect ?? true) && this.components.peerId.toString() < peer.toString()) {
          this.requestSync(peer, 'connect')
        }
      },
      onDisconnect: (peer) => {
        this.syncPeers.delete(peer.toString())
        this.announcedPulls.drop(peer.toString())
      },
    })
    const pubsub = this.pubsub()
    pubsub.topicValidators.set(this.topic, this.validateAnnouncement)
    pubsub.addEventListener('message', this.onPubSubMessage)
    pubsub.subscribe(this.topic)
    if (this.init.announce !== false) {
      const debounceMs = this.init.announce?.debounceMs ?? 500
      this.debouncer = createDebouncer(
        () => {
          this.announce().catch((err: Error) => this.log.error('announcement failed - %e', err))
        },
        { waitMs: debounceMs, maxWaitMs: this.init.announce?.maxWaitMs ?? debounceMs * 4 },
      )
      this.unsubscribeState = this.init.state.onChange(() => this.debouncer?.trigger())
    }
    this.scheduleAntiEntropy()
  }

  async stop(): Promise<void> {
    this.started = false
    this.stopController.abort(new SyncError('sync service stopped'))
    if (this.antiEntropyTimer !== undefined) clearTimeout(this.antiEntropyTimer)
    this.debouncer?.cancel()
    this.unsubscribeState?.()
    if (this.topologyId !== undefined) this.components.registrar.unregister(this.topologyId)
    this.components.events.removeEventListener('peer:connect', this.onPeerConnect)
    try {
      const pubsub = this.pubsub()
      pubsub.removeEventListener('message', this.onPubSubMessage)
      pubsub.topicValidators.delete(this.topic)
      pubsub.unsubscribe(this.topic)
    } catch {
      // pubsub may already be gone when libp2p stops services in parallel
    }
    for (const stream of this.openStreams) stream.abort(new SyncError('sync service stopped'))
    await Promise.allSettled([...this.running.values()])
    await this.components.registrar.unhandle(RECONCILE_PROTOCOL)
    await this.components.registrar.unhandle(FETCH_PROTOCOL)
  }

  isBlocked(peer: PeerId): boolean {
    return this.budgets.isBlocked(peer.toString())
  }

  unblock(peer: PeerId): void {
    this.budgets.unblock(peer.toString())
  }

  offences(peer?: PeerId): Record<OffenceReason, number> {
    return this.budgets.offences(peer?.toString())
  }

  peers(): PeerSyncStatus[] {
    const ids = new Set([...this.syncPeers.keys(), ...this.lastSync.keys()])
    return [...ids].sort().map((peer) => {
      const status: PeerSyncStatus = { peer, offences: this.budgets.offences(peer) }
      const last = this.lastSync.get(peer)
      if (last !== undefined) status.lastSyncMs = last
      const blocked = this.budgets.blockedUntil(peer)
      if (blocked !== undefined) status.blockedUntilMs = blocked
      return status
    })
  }

  async syncWith(peer: PeerId, options: AbortOptions & { reason?: SyncReason } = {}): Promise<SyncReport> {
    const id = peer.toString()
    const blockedUntil = this.budgets.blockedUntil(id)
    if (blockedUntil !== undefined) throw new PeerBlockedError(id, blockedUntil)
    const running = this.running.get(id)
    if (running !== undefined) {
      // A session is under way; run one more afterwards so changes made meanwhile are not missed.
      await running.catch(() => {})
      return this.syncWith(peer, options)
    }
    const session = this.runOutbound(peer, options.reason ?? 'manual', options)
    this.running.set(id, session)
    try {
      return await session
    } finally {
      this.running.delete(id)
    }
  }

  async announce(options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (!this.started) return
    const announcement: HeadsAnnouncement = {
      networkId: this.networkId,
      trustHash: this.trustHash,
      heads: localHeads(this.init.state, this.stores),
    }
    try {
      await this.pubsub().publish(this.topic, encodeAnnouncement(announcement))
      this.metrics.announcements.inc({ outcome: 'sent' })
      this.safeDispatchEvent('heads:announced', { detail: announcement })
    } catch (err) {
      // No subscribed peers yet is normal at start-up; anti-entropy covers the gap.
      this.log('announcement not published - %s', (err as Error).message)
    }
  }

  private pubsub(): GossipSub {
    const name = this.init.pubsubService ?? 'pubsub'
    return (this.components as unknown as Record<string, GossipSub>)[name]!
  }

  private requestSync(peer: PeerId, reason: SyncReason): void {
    if (!this.started || this.budgets.isBlocked(peer.toString())) return
    const id = peer.toString()
    if (this.running.has(id)) {
      this.rerun.add(id)
      return
    }
    this.syncWith(peer, { reason, signal: this.stopController.signal })
      .catch((err: Error) => this.log('background sync with %p failed - %s', peer, err.message))
      .finally(() => {
        if (this.rerun.delete(id)) this.requestSync(peer, reason)
      })
  }

  private scheduleAntiEntropy(): void {
    if (this.init.antiEntropy === false || !this.started) return
    const intervalMs = this.init.antiEntropy?.intervalMs ?? 30_000
    const jitter = this.init.antiEntropy?.jitter ?? 0.2
    this.antiEntropyTimer = setTimeout(
      () => {
        // A peer we exchanged with within the interval has nothing for a round to heal: announcements
        // already keep us in step with it. A busy node then runs no extra rounds at all.
        const since = Date.now() - intervalMs
        const candidates = [...this.syncPeers.values()].filter((p) => {
          const id = p.toString()
          return !this.budgets.isBlocked(id) && (this.lastSync.get(id) ?? 0) <= since
        })
        const peer = candidates[Math.floor(Math.random() * candidates.length)]
        if (peer !== undefined) this.requestSync(peer, 'anti-entropy')
        this.scheduleAntiEntropy()
      },
      jittered(intervalMs, jitter),
    )
    this.antiEntropyTimer.unref?.()
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail
    if (this.budgets.isBlocked(peer.toString())) {
      this.components.connectionManager.closeConnections(peer).catch(() => {})
    }
  }

  private readonly validateAnnouncement: TopicValidatorFn = (peer, message) => {
    const verdict = checkAnnouncement(message, this.networkId, this.trustHash, this.stores)
    if (verdict.ok) return TopicValidatorResult.Accept
    this.metrics.announcements.inc({ outcome: 'rejected' })
    this.offend(peer, 'invalid-announcement', verdict.reason)
    return TopicValidatorResult.Reject
  }

  private readonly onPubSubMessage = (evt: CustomEvent<PubSubMessage>): void => {
    const message = evt.detail
    if (message.topic !== this.topic || message.type !== 'signed') return
    const verdict = checkAnnouncement(message, this.networkId, this.trustHash, this.stores)
    if (!verdict.ok) return
    this.metrics.announcements.inc({ outcome: 'received' })
    const differing = differingStores(this.init.state, verdict.announcement, this.stores)
    this.safeDispatchEvent('heads:received', {
      detail: { peer: message.from, announcement: verdict.announcement, differing },
    })
    // Gossipsub relays announcements across the mesh: sync only with an author we are connected
    // to (and that speaks provsync); a farther one is reached through the peers that pull from it.
    const author = this.syncPeers.get(message.from.toString())
    // The queue asks again, when the pull's turn comes, whether the peer is still there and unblocked.
    if (differing.length > 0 && author !== undefined) {
      this.announcedPulls.offer(author.toString(), { peer: author, announcement: verdict.announcement })
    }
  }

  private session(peer: PeerId, direction: SyncDirection): Session {
    const id = peer.toString()
    const remoteKey = peerPublicKey(peer)
    const streams: Array<{ stream: Stream; framed: FramedStream }> = []
    const ctx: SessionContext = {
      state: this.init.state,
      networkId: this.networkId,
      trustHash: this.trustHash,
      remote: { id, key: remoteKey },
      limits: this.limits,
      offendingRefusals: this.offendingRefusals,
      stores: this.stores,
      mayPull: (store) => {
        const allowed = this.allowlist.get(store)
        return allowed === undefined || allowed.has(id) || allowed.has(toHex(remoteKey))
      },
      takeRequest: () => this.budgets.takeRequest(id),
      offend: (reason, detail) => this.offend(peer, reason, detail),
      claims: this.claims,
      openFetch: async (options) => {
        const stream = await this.components.connectionManager.openStream(peer, FETCH_PROTOCOL, options)
        // Room for the answers of the whole pipeline: they keep arriving while a group is applied.
        const framed = this.frame(stream, this.limits.pipelineDepth * 4 * this.limits.maxFrameBytes)
        streams.push({ stream, framed })
        await greet(framed, ctx, options)
        return framed
      },
      onRound: (store) => this.metrics.rounds.inc({ store }),
      onPulled: (store, tally) => this.countPulled(store, tally),
      log: (format, ...args) => this.log(`${direction} %p ${format}`, peer, ...args),
    }
    return {
      ctx,
      frame: (stream) => {
        const framed = this.frame(stream)
        streams.push({ stream, framed })
        return framed
      },
      finish: (report) => {
        for (const { stream, framed } of streams) {
          report.bytesIn += framed.bytesRead
          report.bytesOut += framed.bytesWritten
          this.openStreams.delete(stream)
          if (stream.status === 'open') stream.close().catch((err: Error) => stream.abort(err))
        }
        this.metrics.bytes.inc({ direction: 'in' }, report.bytesIn)
        this.metrics.bytes.inc({ direction: 'out' }, report.bytesOut)
      },
    }
  }

  private async runOutbound(peer: PeerId, reason: SyncReason, options: AbortOptions): Promise<SyncReport> {
    const started = performance.now()
    const report = emptyReport(peer, 'outbound', reason)
    this.safeDispatchEvent('sync:started', { detail: { peer, direction: 'outbound', reason } })
    const sessionDeadline = startDeadline(this.limits.sessionTimeoutMs, options.signal)
    const signal = sessionDeadline.signal
    let session: Session | undefined
    let stream: Stream | undefined
    try {
      session = this.session(peer, 'outbound')
      stream = await this.components.connectionManager.openStream(peer, RECONCILE_PROTOCOL, { signal })
      const framed = session.frame(stream)
      const remoteStores = await greet(framed, session.ctx, { signal })
      const stores = sharedStores(this.stores, remoteStores)
      const result = await initiateExchange(framed, session.ctx, stores, { signal })
      await stream.close({ signal })
      report.rounds = result.rounds
      fillTally(report, result.pulled)
      report.remoteApplied = result.pushed.applied
      this.lastSync.set(peer.toString(), Date.now())
      this.metrics.sessions.inc({ direction: 'outbound', outcome: 'ok' })
      return report
    } catch (err) {
      report.error = err as Error
      stream?.abort(err as Error)
      this.blame(peer, err)
      this.metrics.sessions.inc({ direction: 'outbound', outcome: 'error' })
      throw err
    } finally {
      sessionDeadline.clear()
      session?.finish(report)
      report.durationMs = performance.now() - started
      this.safeDispatchEvent('sync:finished', { detail: report })
    }
  }

  private async onInbound(
    kind: 'reconcile' | 'fetch',
    stream: Stream,
    connection: Connection,
  ): Promise<void> {
    const peer = connection.remotePeer
    const grant = this.budgets.openSession(peer.toString())
    if (!grant.ok) {
      stream.abort(new SyncError(grant.reason))
      if (grant.reason === 'too-many-sessions') this.offend(peer, 'too-many-sessions', `${kind} stream`)
      else connection.close().catch(() => {})
      return
    }
    const started = performance.now()
    const report = emptyReport(peer, 'inbound', 'remote')
    const sessionDeadline = startDeadline(this.limits.sessionTimeoutMs, this.stopController.signal)
    const signal = sessionDeadline.signal
    let session: Session | undefined
    try {
      session = this.session(peer, 'inbound')
      const framed = session.frame(stream)
      await admit(framed, session.ctx, { signal })
      if (kind === 'fetch') {
        await serveFetch(framed, session.ctx, { signal })
      } else {
        this.safeDispatchEvent('sync:started', { detail: { peer, direction: 'inbound', reason: 'remote' } })
        fillTally(report, await respondExchange(framed, session.ctx, { signal }))
        this.lastSync.set(peer.toString(), Date.now())
        this.metrics.sessions.inc({ direction: 'inbound', outcome: 'ok' })
      }
      await stream.close({ signal })
    } catch (err) {
      report.error = err as Error
      stream.abort(err as Error)
      this.blame(peer, err)
      if (kind === 'reconcile') this.metrics.sessions.inc({ direction: 'inbound', outcome: 'error' })
    } finally {
      sessionDeadline.clear()
      grant.release()
      this.openStreams.delete(stream)
      session?.finish(report)
      if (kind === 'reconcile') {
        report.durationMs = performance.now() - started
        this.safeDispatchEvent('sync:finished', { detail: report })
      }
    }
  }

  private frame(stream: Stream, maxBufferedBytes?: number): FramedStream {
    this.openStreams.add(stream)
    stream.maxWriteBufferLength = this.init.maxWriteBufferBytes ?? 4 * 1024 * 1024
    return framedStream(stream, {
      maxFrameBytes: this.limits.maxFrameBytes,
      maxSessionBytes: this.budgets.limits.maxBytesPerSession,
      ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }),
    })
  }

  private countPulled(store: StoreName, tally: PullTally): void {
    this.metrics.recordsPulled.inc({ store }, tally.pulled)
    this.metrics.recordsApplied.inc({ store }, tally.applied)
    for (const [reason, n] of Object.entries(tally.refusedByReason)) {
      this.metrics.recordsRefused.inc({ store, reason }, n)
    }
  }

  /** Turns a failed session into an offence when the failure is the remote's doing. */
  private blame(peer: PeerId, err: unknown): void {
    const reason = offenceFor(err)
    if (reason === undefined) {
      this.log('session with %p ended - %s', peer, (err as Error)?.message)
      return
    }
    if (err instanceof ProtocolViolationError && err.endOfStream) {
      // A peer that stops or is cut off mid-session ends its streams just before its connection
      // goes: only a stream ended on a connection that stays up is the peer's doing.
      setTimeout(() => {
        if (!this.started) return
        const open = this.components.connectionManager.getConnections(peer).some((c) => c.status === 'open')
        if (open) this.offend(peer, reason, err.message)
        else this.log('session with %p ended as the peer went away - %s', peer, err.message)
      }, PEER_GONE_GRACE_MS).unref?.()
      return
    }
    this.offend(peer, reason, (err as Error).message)
  }

  private offend(peer: PeerId, reason: OffenceReason, detail: string): void {
    const id = peer.toString()
    const outcome = this.budgets.offend(id, reason)
    this.metrics.offences.inc({ reason })
    this.log.error('offence by %p: %s (%s), %d recent', peer, reason, detail, outcome.recent)
    this.safeDispatchEvent('peer:offence', { detail: { peer, reason, detail, ...outcome } })
    if (outcome.blocked) {
      const untilMs = this.budgets.blockedUntil(id) ?? Date.now()
      this.safeDispatchEvent('peer:blocked', { detail: { peer, untilMs } })
      this.components.connectionManager.closeConnections(peer).catch(() => {})
    }
  }
}

function emptyReport(peer: PeerId, direction: SyncDirection, reason: SyncReport['reason']): SyncReport {
  return {
    peer,
    direction,
    reason,
    rounds: 0,
    bytesIn: 0,
    bytesOut: 0,
    pulled: 0,
    applied: 0,
    refused: 0,
    refusedByReason: {},
    applyMs: 0,
    remoteApplied: 0,
    durationMs: 0,
  }
}

function fillTally(report: SyncReport, tally: PullTally = emptyTally()): void {
  report.pulled = tally.pulled
  report.applied = tally.applied
  report.refused = tally.refused
  report.refusedByReason = { ...tally.refusedByReason }
  report.applyMs = tally.applyMs
}

const BUDGET_OFFENCES: Record<BudgetExceededError['budget'], OffenceReason> = {
  bytes: 'session-bytes',
  time: 'timeout',
  rate: 'rate-limited',
  sessions: 'too-many-sessions',
}

/** How long after a stream ended mid-session its connection may take to close, if the peer went away. */
const PEER_GONE_GRACE_MS = 500

/** The offence a session failure counts as, or undefined when the remote is not to blame. */
export function offenceFor(err: unknown): OffenceReason | undefined {
  if (err instanceof FrameTooLargeError) return 'oversized-frame'
  if (err instanceof MalformedFrameError) return 'malformed-frame'
  if (err instanceof ProtocolViolationError) return err.reason
  if (err instanceof NetworkMismatchError) return 'wrong-network'
  if (err instanceof BudgetExceededError) return BUDGET_OFFENCES[err.budget]
  return undefined
}

function peerRefKey(ref: PeerRef): string {
  if (ref instanceof Uint8Array) return toHex(ref)
  return ref.toString()
}

/**
 * The provsync libp2p service. Add it to `services` next to identify and gossipsub:
 * `services: { identify: identify(), pubsub: gossipsub(), provsync: provsync({ state, trust }) }`.
 */
export function provsync(init: ProvsyncServiceInit): (components: ProvsyncComponents) => ProvsyncService {
  return (components) => new Provsync(components, init)
}
