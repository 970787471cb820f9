import { setTimeout as sleep } from 'node:timers/promises'
import {
  type AbortOptions,
  type Connection,
  type PeerId,
  type Startable,
  type Stream,
  serviceCapabilities,
  serviceDependencies,
} from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { AntiEntropy } from './anti-entropy.js'
import { createPeerBudgets, type PeerBudgets } from './budget.js'
import { createPullClaims } from './claims.js'
import {
  DEFAULT_ANNOUNCE_DEBOUNCE_MS,
  DEFAULT_ANNOUNCE_MAX_WAIT_FACTOR,
  DEFAULT_ANNOUNCEMENT_PULLS,
  DEFAULT_ANTI_ENTROPY_INTERVAL_MS,
  DEFAULT_ANTI_ENTROPY_JITTER,
  DEFAULT_MAX_BUFFERED_BYTES_PER_PEER,
  DEFAULT_MAX_INBOUND_STREAMS,
  DEFAULT_MAX_OUTBOUND_STREAMS,
  DEFAULT_MAX_WRITE_BUFFER_BYTES,
  DEFAULT_OFFENDING_REFUSALS,
  DEFAULT_PUSH_DELAY_MS,
  DEFAULT_PUSH_LAZY_WINDOW_MS,
  DEFAULT_SYNC_ON_CONNECT,
  FETCH_PROTOCOL,
  headsTopic,
  MAX_FAILURES_KEPT,
  MAX_PEER_SERIES,
  MIN_STREAM_BUFFER_BYTES,
  RECONCILE_PROTOCOL,
} from './constants.js'
import {
  type OffenceReason,
  PeerBlockedError,
  PeerRevokedError,
  RefusedError,
  SyncError,
  SyncInitError,
} from './errors.js'
import { Heads } from './heads.js'
import { peerPublicKey } from './identity.js'
import type {
  PeerRef,
  PeerSyncStatus,
  ProvsyncComponents,
  ProvsyncEvents,
  ProvsyncService,
  ProvsyncServiceInit,
  SyncReason,
  SyncReport,
} from './index.js'
import { ACCEPTED_KINDS } from './kinds.js'
import { componentLog, type SyncLog } from './logging.js'
import { createSyncMetrics, type SyncMetrics } from './metrics.js'
import { OffenceAccounting } from './offences.js'
import { DEFAULT_PROTOCOL_LIMITS } from './protocol/context.js'
import { Push, type PushInit, type PushStats } from './push.js'
import { GRAFT_AFTER_FRACTION } from './push-lazy.js'
import { MIN_EAGER } from './push-links.js'
import { Sessions, type SessionsInit } from './sessions.js'
import { type StoreName, SYNC_ORDER, type SyncedState } from './state.js'
import type { PeerStreamsInit } from './stream-init.js'
import { TrustInForce, toHex } from './trust.js'
import { PROTOCOL_VERSION } from './wire/codec.js'

/** The provsync service: wires sessions, announcements, anti-entropy and offences into libp2p. */
export class Provsync extends TypedEventEmitter<ProvsyncEvents> implements ProvsyncService, Startable {
  readonly [Symbol.toStringTag] = '@provsync/sync'
  readonly [serviceCapabilities]: string[] = ['@provsync/sync']
  readonly [serviceDependencies]: string[] = ['@libp2p/identify', '@libp2p/pubsub']

  readonly networkId: string
  readonly topic: string
  readonly metrics: SyncMetrics
  private readonly log: SyncLog
  private readonly stores: readonly StoreName[]
  private readonly protocolVersion: number
  private readonly budgets: PeerBudgets
  private readonly allowlist: Map<StoreName, Set<string>>
  private readonly offenceAccounting: OffenceAccounting
  private readonly sessions: Sessions
  private readonly heads: Heads
  private readonly antiEntropy: AntiEntropy | undefined
  private readonly push: Push | undefined
  private readonly running = new Map<string, Promise<SyncReport>>()
  private readonly rerun = new Set<string>()
  private readonly lastSync = new Map<string, number>()
  private readonly syncPeers = new Map<string, PeerId>()
  private started = false
  private topologyId: string | undefined
  private unsubscribeState: (() => void) | undefined
  private readonly backoff = new Map<string, number>()
  private readonly failures = new Map<string, { atMs: number; reason: string }>()
  private stopController = new AbortController()
  private readonly trust: TrustInForce

  constructor(
    private readonly components: ProvsyncComponents,
    private readonly init: ProvsyncServiceInit,
  ) {
    super()
    const { logger } = components
    this.log = componentLog(logger, 'provsync:sync')
    this.networkId = init.state.networkId
    this.topic = headsTopic(this.networkId)
    this.trust = new TrustInForce(init.trust)
    this.stores = init.stores ?? SYNC_ORDER
    this.protocolVersion = protocolVersionOf(init.protocolVersion)
    this.budgets = createPeerBudgets(init.budgets)
    this.allowlist = allowlistOf(init.allowlist)
    this.metrics = this.createMetrics()
    this.offenceAccounting = new OffenceAccounting({
      budgets: this.budgets,
      metrics: this.metrics,
      connectionManager: components.connectionManager,
      log: componentLog(logger, 'provsync:sync:offences'),
      running: () => this.started,
      onOffence: (peer, reason, detail, outcome) =>
        this.safeDispatchEvent('peer:offence', { detail: { peer, reason, detail, ...outcome } }),
      onBlocked: (peer, untilMs) => this.safeDispatchEvent('peer:blocked', { detail: { peer, untilMs } }),
    })
    this.push = this.createPush(this.trust)
    this.sessions = this.createSessions(this.trust)
    this.heads = this.createHeads(this.trust)
    this.antiEntropy = this.createAntiEntropy()
    // A single calculated gauge is what libp2p's metrics API serves; the labelled series stay in
    // the prom-client registry (createNode hands libp2p's metrics the same registry).
    components.metrics?.registerMetric('provsync_sessions_running', {
      help: 'Outbound sync sessions running now',
      calculate: () => this.running.size,
    })
  }

  private createMetrics(): SyncMetrics {
    return createSyncMetrics(this.init.registry, {
      // One series per connected peer, the most recently synced first, at most MAX_PEER_SERIES:
      // a peer that disconnects loses its series at the next scrape.
      lastSyncAgeSeconds: () => {
        const now = Date.now()
        const connected = [...this.lastSync].filter(([peer]) => this.syncPeers.has(peer))
        const recent = connected.sort(([, a], [, b]) => b - a).slice(0, MAX_PEER_SERIES)
        return new Map(recent.map(([peer, at]) => [peer, (now - at) / 1000]))
      },
      blockedCount: () =>
        [...this.syncPeers.values()].filter((p) => this.budgets.isBlocked(p.toString())).length,
      state: this.init.state,
      stores: this.stores,
    })
  }

  /**
   * What sessions and push share, joined with `own` (the fields only the one built has). The
   * trust hash stays a getter, read at each hello, so a rotation reaches the next one.
   */
  private peerStreamsInit<T extends object>(
    trust: TrustInForce,
    state: SyncedState,
    own: T,
  ): PeerStreamsInit & T {
    const { init, components } = this
    return {
      ...own,
      connectionManager: components.connectionManager,
      state,
      networkId: this.networkId,
      get trustHash() {
        return trust.hash
      },
      stores: this.stores,
      kinds: init.kinds ?? ACCEPTED_KINDS,
      protocolVersion: this.protocolVersion,
      limits: { ...DEFAULT_PROTOCOL_LIMITS, ...init.limits },
      budgets: this.budgets,
      offendingRefusals: new Set(init.offendingRefusals ?? DEFAULT_OFFENDING_REFUSALS),
      admission: init.admission,
      offences: this.offenceAccounting,
      maxWriteBufferBytes: init.maxWriteBufferBytes ?? DEFAULT_MAX_WRITE_BUFFER_BYTES,
      inboundStreamBufferBytes: this.inboundStreamBufferBytes(),
      mayPull: (store, id, key) => this.mayPull(store, id, key),
    }
  }

  private createSessions(trust: TrustInForce): Sessions {
    const { init, components } = this
    const push = this.push
    return new Sessions(
      this.peerStreamsInit<Omit<SessionsInit, keyof PeerStreamsInit>>(trust, init.state, {
        claims: createPullClaims(),
        metrics: this.metrics,
        log: {
          reconcile: componentLog(components.logger, 'provsync:sync:reconcile'),
          fetch: componentLog(components.logger, 'provsync:sync:fetch'),
        },
        onStarted: (detail) => this.safeDispatchEvent('sync:started', { detail }),
        onFinished: (detail) => {
          this.push?.noteSession(detail.peer, detail.applied, detail.reason)
          this.safeDispatchEvent('sync:finished', { detail })
        },
        onSynced: (peer) =>
          remember(this.lastSync, peer.toString(), Date.now(), this.budgets.limits.maxTrackedPeers),
        onFailure: (peer, err) => this.noteFailure(peer, err.message),
        // What a session pulled is pushed on to every eager neighbour but the peer it came from.
        ...(push === undefined
          ? {}
          : { onPulledOutcomes: (outcomes, from) => push.notePulled(outcomes, from) }),
        onWithheld: (peer) => this.requestSync(peer, 'reverse'),
      }),
    )
  }

  private inboundStreamBufferBytes(): number {
    const perPeer = this.init.maxBufferedBytesPerPeer ?? DEFAULT_MAX_BUFFERED_BYTES_PER_PEER
    return Math.max(
      MIN_STREAM_BUFFER_BYTES,
      Math.floor(perPeer / (2 * this.budgets.limits.maxSessionsPerPeer)),
    )
  }

  private mayPull(store: StoreName, id: string, key: Uint8Array): boolean {
    const allowed = this.allowlist.get(store)
    return allowed === undefined || allowed.has(id) || allowed.has(toHex(key))
  }

  private createHeads(trust: TrustInForce): Heads {
    const { init, components } = this
    const debounceMs =
      (init.announce === false ? undefined : init.announce?.debounceMs) ?? DEFAULT_ANNOUNCE_DEBOUNCE_MS
    return new Heads({
      pubsub: components.pubsub,
      state: init.state,
      networkId: this.networkId,
      get trustHash() {
        return trust.hash
      },
      stores: this.stores,
      topic: this.topic,
      metrics: this.metrics,
      log: componentLog(components.logger, 'provsync:sync:announce'),
      announce:
        init.announce === false
          ? false
          : {
              debounceMs,
              maxWaitMs: init.announce?.maxWaitMs ?? debounceMs * DEFAULT_ANNOUNCE_MAX_WAIT_FACTOR,
            },
      concurrency: init.announcementPulls ?? DEFAULT_ANNOUNCEMENT_PULLS,
      directPeer: (id) => this.syncPeers.get(id),
      covered: (id) => this.push?.covers(id) ?? false,
      ...(init.push === undefined || init.push === false
        ? {}
        : { coveredRecheckMs: init.push.lazyWindowMs ?? DEFAULT_PUSH_LAZY_WINDOW_MS }),
      mayPull: (id) => this.started && this.syncPeers.has(id) && !this.budgets.isBlocked(id),
      pull: (peer) => this.syncWith(peer, { reason: 'announcement', signal: this.stopController.signal }),
      offend: (peer, detail) => this.offenceAccounting.offend(peer, 'invalid-announcement', detail),
      onAnnounced: (detail) => this.safeDispatchEvent('heads:announced', { detail }),
      onReceived: (peer, announcement, differing) =>
        this.safeDispatchEvent('heads:received', { detail: { peer, announcement, differing } }),
    })
  }

  private createPush(trust: TrustInForce): Push | undefined {
    const { init, components } = this
    if (init.push === undefined || init.push === false) return undefined
    return new Push(
      this.peerStreamsInit<Omit<PushInit, keyof PeerStreamsInit>>(trust, init.state, {
        registrar: components.registrar,
        converse: (peer, act) => this.converse(peer, act),
        refused: (peer) => this.isRefused(peer),
        delayMs: init.push.delayMs ?? DEFAULT_PUSH_DELAY_MS,
        lazyWindowMs: init.push.lazyWindowMs ?? DEFAULT_PUSH_LAZY_WINDOW_MS,
        graftAfterMs: (init.push.lazyWindowMs ?? DEFAULT_PUSH_LAZY_WINDOW_MS) * GRAFT_AFTER_FRACTION,
        minEagerLinks: init.push.minEagerLinks ?? MIN_EAGER,
        repair: (peer) => this.requestSync(peer, 'anti-entropy'),
        log: componentLog(components.logger, 'provsync:sync:push'),
      }),
    )
  }

  private createAntiEntropy(): AntiEntropy | undefined {
    const { antiEntropy } = this.init
    if (antiEntropy === false) return undefined
    return new AntiEntropy({
      intervalMs: antiEntropy?.intervalMs ?? DEFAULT_ANTI_ENTROPY_INTERVAL_MS,
      jitter: antiEntropy?.jitter ?? DEFAULT_ANTI_ENTROPY_JITTER,
      peers: () =>
        [...this.syncPeers.entries()]
          .filter(([id]) => !this.budgets.isBlocked(id))
          .map(([id, peer]) => ({ peer, lastSyncMs: this.lastSync.get(id) })),
      request: (peer) => this.requestSync(peer, 'anti-entropy'),
      covered: (peer) => this.push?.covers(peer.toString()) ?? false,
      log: componentLog(this.components.logger, 'provsync:sync:anti-entropy'),
    })
  }

  async start(): Promise<void> {
    this.stopController = new AbortController()
    const handlerOptions = {
      maxInboundStreams: this.init.maxInboundStreams ?? DEFAULT_MAX_INBOUND_STREAMS,
      maxOutboundStreams: this.init.maxOutboundStreams ?? DEFAULT_MAX_OUTBOUND_STREAMS,
    }
    for (const [protocol, kind] of [
      [RECONCILE_PROTOCOL, 'reconcile'],
      [FETCH_PROTOCOL, 'fetch'],
    ] as const) {
      await this.components.registrar.handle(
        protocol,
        (stream, connection) =>
          this.converse(connection.remotePeer, () => this.onInbound(kind, stream, connection)),
        handlerOptions,
      )
    }
    await this.push?.start(handlerOptions)
    this.components.events.addEventListener('peer:connect', this.onPeerConnect)
    this.unsubscribeState = this.init.state.onChange((store) => {
      if (store === 'revocations') this.closeRevoked()
    })
    this.started = true
  }

  async afterStart(): Promise<void> {
    this.topologyId = await this.components.registrar.register(RECONCILE_PROTOCOL, {
      onConnect: (peer) => {
        this.syncPeers.set(peer.toString(), peer)
        // One side initiates on connect, so a fresh pair runs one exchange, not two.
        const onConnect = this.init.syncOnConnect ?? DEFAULT_SYNC_ON_CONNECT
        if (onConnect && this.components.peerId.toString() < peer.toString())
          this.requestSync(peer, 'connect')
      },
      onDisconnect: (peer) => {
        this.syncPeers.delete(peer.toString())
        this.heads.drop(peer.toString())
      },
    })
    this.heads.start()
    if (this.started) this.antiEntropy?.start()
  }

  async stop(): Promise<void> {
    this.started = false
    const stopped = new SyncError('sync service stopped')
    this.stopController.abort(stopped)
    this.antiEntropy?.stop()
    this.heads.stop()
    if (this.topologyId !== undefined) this.components.registrar.unregister(this.topologyId)
    this.components.events.removeEventListener('peer:connect', this.onPeerConnect)
    this.unsubscribeState?.()
    this.sessions.abortAll(stopped)
    await Promise.allSettled([...this.running.values()])
    await this.push?.stop()
    await this.components.registrar.unhandle(RECONCILE_PROTOCOL)
    await this.components.registrar.unhandle(FETCH_PROTOCOL)
  }

  isBlocked(peer: PeerId): boolean {
    return this.budgets.isBlocked(peer.toString())
  }

  setTrust(operatorKeys: readonly Uint8Array[]): boolean {
    const changed = this.trust.set(operatorKeys)
    if (changed) this.log('trust bundle of %d operator key(s) in force', operatorKeys.length)
    return changed
  }

  trustHash(): Uint8Array {
    return this.trust.hash
  }

  unblock(peer: PeerId): void {
    this.budgets.unblock(peer.toString())
  }

  /** Whether this node applied a revocation of the peer's key (and no reinstatement since). */
  isRevoked(peer: PeerId): boolean {
    const revocations = this.init.state.revocations
    if (revocations === undefined) return false
    try {
      return revocations.isRevoked(peerPublicKey(peer))
    } catch {
      return false // not an Ed25519 peer: it cannot be an asserter, nor revoked
    }
  }

  isRefused(peer: PeerId): boolean {
    return this.isBlocked(peer) || this.isRevoked(peer)
  }

  noteFailure(peer: PeerId, reason: string): void {
    const atMs = Date.now()
    remember(this.failures, peer.toString(), { atMs, reason }, MAX_FAILURES_KEPT)
    this.log.warn('failed to reach or sync with %p - %s', peer, reason)
    this.safeDispatchEvent('peer:failure', { detail: { peer, atMs, reason } })
  }

  pushStats(): PushStats | undefined {
    return this.push === undefined ? undefined : { ...this.push.stats }
  }

  pushLinks(): { eager: string[]; lazy: string[] } | undefined {
    return this.push === undefined
      ? undefined
      : { eager: this.push.links.eager(), lazy: this.push.links.lazy() }
  }

  offences(peer?: PeerId): Record<OffenceReason, number> {
    return this.budgets.offences(peer?.toString())
  }

  peers(): PeerSyncStatus[] {
    const ids = new Set([...this.syncPeers.keys(), ...this.lastSync.keys(), ...this.failures.keys()])
    return [...ids].sort().map((peer) => {
      const status: PeerSyncStatus = { peer, offences: this.budgets.offences(peer) }
      const last = this.lastSync.get(peer)
      if (last !== undefined) status.lastSyncMs = last
      const blocked = this.budgets.blockedUntil(peer)
      if (blocked !== undefined) status.blockedUntilMs = blocked
      const failure = this.failures.get(peer)
      if (failure !== undefined) status.lastFailure = { ...failure }
      return status
    })
  }

  async syncWith(peer: PeerId, options: AbortOptions & { reason?: SyncReason } = {}): Promise<SyncReport> {
    const id = peer.toString()
    const blockedUntil = this.budgets.blockedUntil(id)
    if (blockedUntil !== undefined) throw new PeerBlockedError(id, blockedUntil)
    if (this.isRevoked(peer)) throw new PeerRevokedError(id)
    const running = this.running.get(id)
    if (running !== undefined) {
      // A session is under way; run one more afterwards so changes made meanwhile are not missed.
      await running.catch(() => {})
      return this.syncWith(peer, options)
    }
    const session = this.converse(peer, () => this.backOffThenRun(peer, options.reason ?? 'manual', options))
    this.running.set(id, session)
    try {
      return await session
    } finally {
      this.running.delete(id)
    }
  }

  /**
   * Runs a session, first waiting out a back-off the peer asked for: after a `rate-limited`
   * refusal we hold off twice the refusal window we would give a peer, so an honest node is never
   * the one that keeps sending past a refusal.
   */
  private async backOffThenRun(peer: PeerId, reason: SyncReason, options: AbortOptions): Promise<SyncReport> {
    const id = peer.toString()
    const waitMs = (this.backoff.get(id) ?? 0) - Date.now()
    if (waitMs > 0)
      await sleep(waitMs, undefined, options.signal === undefined ? {} : { signal: options.signal })
    this.backoff.delete(id)
    try {
      return await this.sessions.runOutbound(peer, reason, options)
    } catch (err) {
      if (err instanceof RefusedError && err.code === 'rate-limited') {
        const backoffMs = 2 * this.budgets.limits.rateLimitBackoffMs
        this.log('%p refused us as rate-limited: backing off %d ms', peer, backoffMs)
        remember(this.backoff, id, Date.now() + backoffMs, this.budgets.limits.maxTrackedPeers)
      }
      throw err
    }
  }

  async announce(options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this.heads.announce()
  }

  /** Runs one conversation with `peer` through `init.conversation`, when there is one. */
  private converse<T>(peer: PeerId, act: () => Promise<T>): Promise<T> {
    return this.init.conversation === undefined ? act() : this.init.conversation(peer, act)
  }

  private async onInbound(
    kind: 'reconcile' | 'fetch',
    stream: Stream,
    connection: Connection,
  ): Promise<void> {
    if (this.isRevoked(connection.remotePeer)) {
      stream.abort(new PeerRevokedError(connection.remotePeer.toString()))
      await connection.close().catch(() => {})
      return
    }
    return this.sessions.onInbound(kind, stream, connection, this.stopController.signal)
  }

  private requestSync(peer: PeerId, reason: SyncReason): void {
    if (!this.started || this.isRefused(peer)) return
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

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail
    if (this.isRefused(peer)) this.components.connectionManager.closeConnections(peer).catch(() => {})
  }

  /** After a revocation: closes the connections of every peer whose key is now revoked. */
  private closeRevoked(): void {
    for (const connection of this.components.connectionManager.getConnections()) {
      const peer = connection.remotePeer
      if (!this.isRevoked(peer)) continue
      this.log.warn('closing the connections of revoked peer %p', peer)
      this.components.connectionManager.closeConnections(peer).catch(() => {})
    }
  }
}

function allowlistOf(allowlist: ProvsyncServiceInit['allowlist']): Map<StoreName, Set<string>> {
  return new Map(
    Object.entries(allowlist ?? {}).map(([store, peers]) => [
      store as StoreName,
      new Set((peers ?? []).map(peerRefKey)),
    ]),
  )
}

/** Sets `key` as the newest entry of `map`, forgetting the oldest past `max`. */
function remember<T>(map: Map<string, T>, key: string, value: T, max: number): void {
  map.delete(key)
  map.set(key, value)
  for (const oldest of map.keys()) {
    if (map.size <= max) break
    map.delete(oldest)
  }
}

function peerRefKey(ref: PeerRef): string {
  if (ref instanceof Uint8Array) return toHex(ref)
  return ref.toString()
}

/** The init's `protocolVersion`, checked: 2 (the previous release's sessions) up to this release's. */
function protocolVersionOf(version: number | undefined): number {
  if (version === undefined) return PROTOCOL_VERSION
  if (!Number.isInteger(version) || version < 2 || version > PROTOCOL_VERSION)
    throw new SyncInitError('protocolVersion', version, `an integer from 2 to ${PROTOCOL_VERSION}`)
  return version
}
