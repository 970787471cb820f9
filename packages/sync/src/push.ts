import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { ApplyOutcome } from '@provsync/crdt'
import { createPullClaims } from './claims.js'
import { PUSH_PROTOCOL } from './constants.js'
import { ProtocolViolationError, SyncError } from './errors.js'
import { type FramedStream, framedStream } from './framing.js'
import { peerPublicKey } from './identity.js'
import { storesWithheldFrom } from './kinds.js'
import type { SyncLog } from './logging.js'
import { sharedStores } from './negotiate.js'
import type { SessionContext } from './protocol/context.js'
import { admit, greet } from './protocol/handshake.js'
import {
  decodePush,
  encodePush,
  PUSH_TYPE,
  pushHeaderCost,
  pushRecordCost,
  VALUE_PREFIX_BYTES,
} from './push-codec.js'
import { type ChangeFeed, createChangeFeed } from './push-feed.js'
import {
  createLazyAnnouncements,
  LAZY_IHAVE_INTERVAL_MS,
  type LazyEntry,
  lazilyAnnounced,
} from './push-lazy.js'
import { createPushLinks, type PushLinks } from './push-links.js'
import { isStoreName, type StoreName } from './state.js'
import { type PeerStreamsInit, peerContext } from './stream-init.js'
import { bytesEqual, toHex } from './trust.js'

export interface PushInit extends PeerStreamsInit {
  registrar: Registrar
  /** May `peer` (id, raw key) pull `store` from us? A store it may not pull is not pushed to it either. */
  mayPull(store: StoreName, id: string, key: Uint8Array): boolean
  /** Runs one conversation with a peer (the service's `conversation` option). */
  converse<T>(peer: PeerId, act: () => Promise<T>): Promise<T>
  /** Whether a peer may be talked to (not blocked, not revoked). */
  refused(peer: PeerId): boolean
  /** Quiet time after a change before its records are pushed (they are batched meanwhile). */
  delayMs: number
  /** How recently a push must have brought new records for announcements of push peers to be left alone. */
  lazyWindowMs: number
  /** How long a record a lazy neighbour's `ihave` named may take to come down the tree before we graft that link. */
  graftAfterMs: number
  /** Eager links kept when a node has more neighbours than that (push-links.ts, `MIN_EAGER`). */
  minEagerLinks: number
  /** Starts a session with `peer`: a lazy neighbour's `ihave` showed it holds what the tree did not bring. */
  repair(peer: PeerId): void
  log: SyncLog
}

/** Frames waiting for one peer's stream before further pushes to it are dropped (anti-entropy heals). */
const MAX_PENDING_FRAMES = 32
/** Bytes a push stream carries before it is replaced, well inside the receiver's per-session budget. */
const RECYCLE_FRACTION = 0.5

/** Where a record applied here came from: the peer, and whether a session pulled it (else a push). */
interface Origin {
  id: string
  pulled: boolean
}

interface OutLink {
  stream: Stream
  framed: FramedStream
  stores: readonly StoreName[]
  chain: Promise<void>
  pending: number
}

export interface PushStats {
  framesSent: number
  recordsSent: number
  recordsReceived: number
  recordsApplied: number
  duplicateFrames: number
  dropped: number
  prunes: number
  grafts: number
}

/** Push counters at zero (a node's start; a sum over nodes). */
export function emptyPushStats(): PushStats {
  return {
    framesSent: 0,
    recordsSent: 0,
    recordsReceived: 0,
    recordsApplied: 0,
    duplicateFrames: 0,
    dropped: 0,
    prunes: 0,
    grafts: 0,
  }
}

/**
 * Eager push of new records along a spanning tree (Plumtree), on `/provsync/push/1.0.0`. Each node
 * keeps one outbound stream per push neighbour: after the reconcile protocol's Hello/Welcome it
 * sends the records that became new here (written locally, pushed to us or pulled by a session) to
 * its eager neighbours, except the peer they came from. Pushed records go through crdt's `apply` exactly as pulled ones, tagged with the
 * pushing peer as `from`, under the same budgets and offences. Duplicates prune a link; a session
 * that brought records a lazy neighbour had grafts it back. Anti-entropy still heals what push missed.
 */
export class Push {
  readonly links: PushLinks
  readonly stats: PushStats = emptyPushStats()
  private readonly peers = new Map<string, PeerId>()
  private readonly outbound = new Map<string, Promise<OutLink | undefined>>()
  private readonly inbound = new Map<string, FramedStream>()
  /** Tree keys (hex) applied lately and the peer (id) they came from, pushed or pulled. */
  private origins = new Map<string, Origin>()
  private previousOrigins = new Map<string, Origin>()
  /**
   * Tree keys (hex) a push brought lately, and its pusher: a duplicate proves another eager path
   * only if a push brought the record first (not a session, whose pulls race pushes). Two
   * generations, turned every `lazyWindowMs`.
   */
  private pushedBy = new Map<string, string>()
  private previousPushedBy = new Map<string, string>()
  private pushedByTurnedMs = 0
  /** Push neighbours' ids by raw public key (hex): a pull's `from` names its peer by key. */
  private readonly idByKey = new Map<string, string>()
  private feed: ChangeFeed | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  /** What goes to lazy neighbours as `ihave`, one neighbour per turn (push-lazy.ts). */
  private readonly lazyAnnouncements = createLazyAnnouncements()
  private lazyTimer: ReturnType<typeof setTimeout> | undefined
  /** Checks of a lazy neighbour's `ihave`, due `graftAfterMs` after it came. */
  private readonly repairs = new Set<ReturnType<typeof setTimeout>>()
  private flushing: Promise<void> = Promise.resolve()
  private unsubscribe: (() => void) | undefined
  private topologyId: string | undefined
  /** When a push last arrived (new records or not): the tree still reaches this node. */
  private lastPushMs = Number.NEGATIVE_INFINITY
  private stopController = new AbortController()
  private running = false

  constructor(private readonly init: PushInit) {
    // A push in flight when a prune crossed it arrives within a few hundred ms even under load;
    // without this grace such pushes re-eagered pruned links (a 32-node run: 1.71 pushed records
    // received per record per node, against 1.23 without the rule; sync README, Session 17).
    this.links = createPushLinks({ minEager: init.minEagerLinks, graceMs: init.lazyWindowMs / 4 })
  }

  async start(handlerOptions: { maxInboundStreams: number; maxOutboundStreams: number }): Promise<void> {
    const { registrar, state, stores } = this.init
    this.stopController = new AbortController()
    this.running = true
    await registrar.handle(
      PUSH_PROTOCOL,
      (stream, connection) =>
        this.init.converse(connection.remotePeer, () => this.onInbound(stream, connection)),
      handlerOptions,
    )
    this.feed = createChangeFeed(state, stores)
    this.unsubscribe = state.onChange(() => this.schedule())
    this.topologyId = await registrar.register(PUSH_PROTOCOL, {
      onConnect: (peer) => {
        this.peers.set(peer.toString(), peer)
        this.idByKey.set(toHex(peerPublicKey(peer)), peer.toString())
        this.links.add(peer.toString())
      },
      onDisconnect: (peer) => {
        // A tree link went down: the tree may be cut, so every link is eager again until
        // duplicates prune it back to a tree (Plumtree repairs by graft on a missed message;
        // records carry no ids to miss, so the repair is this re-flood).
        const id = peer.toString()
        const grafts = this.links.isEager(id) ? this.links.reset() : []
        this.forget(id)
        for (const lazy of grafts) this.control(lazy, 'graft')
      },
    })
  }

  async stop(): Promise<void> {
    this.running = false
    this.stopController.abort(new SyncError('sync service stopped'))
    if (this.timer !== undefined) clearTimeout(this.timer)
    if (this.lazyTimer !== undefined) clearTimeout(this.lazyTimer)
    for (const repair of this.repairs) clearTimeout(repair)
    this.repairs.clear()
    this.unsubscribe?.()
    if (this.topologyId !== undefined) this.init.registrar.unregister(this.topologyId)
    await this.flushing.catch(() => {})
    for (const id of [...this.peers.keys()]) this.forget(id)
    this.feed?.close()
    await this.init.registrar.unhandle(PUSH_PROTOCOL)
  }

  /**
   * Whether `id`'s announcements need no pull: it is a push neighbour and pushes keep arriving, so
   * the tree reaches us. With no push for `lazyWindowMs` announcements pull again, and a session
   * that brings records then grafts its peer. A pull while pushes arrive would mostly race them
   * for records in flight (measured: 55 % of pushed records arrived as duplicates that way).
   */
  covers(id: string): boolean {
    return this.links.has(id) && this.reached()
  }

  private reached(): boolean {
    return Date.now() - this.lastPushMs < this.init.lazyWindowMs
  }

  /**
   * Outcomes of a session's pull from the peer with key `from`: those records are pushed on like
   * any new ones (as Plumtree forwards what a graft brought), except back to that peer.
   */
  notePulled(outcomes: readonly ApplyOutcome[], from: Uint8Array): void {
    const key = toHex(from)
    const source = this.idByKey.get(key) ?? key
    for (const outcome of outcomes) {
      if (outcome.status === 'applied' && outcome.key !== undefined)
        this.origins.set(toHex(outcome.key), { id: source, pulled: true })
    }
  }

  /**
   * A session with `peer` applied `applied` records: a lazy push neighbour had what the tree did
   * not bring, and is grafted when the tree has stopped reaching us (no push for `lazyWindowMs`)
   * or the session was an anti-entropy round (run with a push neighbour only when pushes stopped,
   * or after 10 intervals: a gap that old is no record in flight). Otherwise the records were
   * most likely in flight, and a graft would only add a cycle that duplicates prune again.
   */
  noteSession(peer: PeerId, applied: number, reason: string): void {
    const id = peer.toString()
    if (applied === 0 || !this.links.has(id)) return
    if (this.reached() && reason !== 'anti-entropy') return
    if (!this.links.missed(id)) return
    this.stats.grafts++
    this.control(id, 'graft')
  }

  private forget(id: string): void {
    const peer = this.peers.get(id)
    if (peer !== undefined) this.idByKey.delete(toHex(peerPublicKey(peer)))
    this.peers.delete(id)
    this.links.remove(id)
    this.inbound.delete(id)
    const out = this.outbound.get(id)
    this.outbound.delete(id)
    out?.then((link) => link?.stream.abort(new SyncError('push neighbour gone'))).catch(() => {})
  }

  /**
   * A prune from a neighbour means the tree reaches it without us, for records that pass through
   * us; but our own writes start here, and a node every neighbour pruned sent them to nobody (the
   * simulation's trace saw 1 to 4 of 32 nodes so at any moment, one of them holding its last writes
   * for 3.5 s). Such a node grafts lazy links back at once, up to `MIN_EAGER` (push-links.ts).
   */
  private keepEnoughEager(pruner: string): void {
    for (const next of this.links.keepEnough(pruner)) {
      this.stats.grafts++
      this.control(next, 'graft')
    }
  }

  /** Sends a prune or graft to `id` on the stream it pushes to us on (if it has one open). */
  private control(id: string, type: 'prune' | 'graft'): void {
    const framed = this.inbound.get(id)
    framed
      ?.write(encodePush({ type }))
      .catch((err: Error) => this.init.log('%s to %s failed - %s', type, id, err.message))
  }

  private schedule(): void {
    if (!this.running || this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.flushing = this.flushing
        .then(() => this.flush())
        .catch((err: Error) => this.init.log.error('push failed - %e', err))
    }, this.init.delayMs)
  }

  /**
   * Sends what changed in each store since the last flush to the eager neighbours: whole records
   * written here or pushed to us, `ihave` for those a session pulled; never back to their source.
   */
  private async flush(): Promise<void> {
    const origins = new Map([...this.previousOrigins, ...this.origins])
    this.previousOrigins = this.origins
    this.origins = new Map()
    for (const store of this.init.stores) {
      const keys = this.feed?.take(store) ?? []
      if (keys.length === 0) continue
      const sources = keys.map((key) => origins.get(toHex(key)))
      const records = this.init.state.getRecords(store, keys)
      const prefixes = leafPrefixes(keys, sources, this.init.state.tree(store))
      this.lazyAnnouncements.add(store, lazyEntries(keys, sources, prefixes))
      for (const id of this.links.eager()) {
        const peer = this.peers.get(id)
        if (peer === undefined || this.init.refused(peer)) continue
        if (!this.init.mayPull(store, id, peerPublicKey(peer))) continue
        const whole: Uint8Array[] = []
        const entries: Array<{ key: Uint8Array; prefix: Uint8Array }> = []
        records.forEach((record, i) => {
          const source = sources[i]
          if (record === undefined || source?.id === id) return
          if (source?.pulled !== true) whole.push(record)
          else if (prefixes[i] !== undefined) entries.push({ key: keys[i]!, prefix: prefixes[i] })
        })
        this.send(peer, store, packPush(store, whole, this.init.limits.maxFrameBytes))
        this.send(peer, store, packIhave(store, entries, this.init.limits.maxFrameBytes))
      }
    }
    this.scheduleLazy()
  }

  private scheduleLazy(): void {
    if (!this.running || this.lazyTimer !== undefined || !this.lazyAnnouncements.pending) return
    this.lazyTimer = setTimeout(() => {
      this.lazyTimer = undefined
      this.sendLazy()
      this.scheduleLazy()
    }, LAZY_IHAVE_INTERVAL_MS)
  }

  /** What flushes sent lately, as `ihave` to the next lazy neighbour in turn (Plumtree's lazy push). */
  private sendLazy(): void {
    const next = this.lazyAnnouncements.take(this.links.lazy())
    const peer = next === undefined ? undefined : this.peers.get(next.peer)
    if (next === undefined || peer === undefined || this.init.refused(peer)) return
    for (const [store, entries] of next.stores) {
      if (!this.init.mayPull(store, next.peer, peerPublicKey(peer))) continue
      this.send(peer, store, packIhave(store, entries, this.init.limits.maxFrameBytes))
    }
  }

  private send(peer: PeerId, store: StoreName, frames: ReadonlyArray<Uint8Array & { count: number }>): void {
    if (frames.length === 0) return
    const id = peer.toString()
    let out = this.outbound.get(id)
    if (out === undefined) {
      out = this.open(peer)
      this.outbound.set(id, out)
    }
    for (const frame of frames) {
      out.then((link) => {
        if (link === undefined || !link.stores.includes(store)) return
        if (link.pending >= MAX_PENDING_FRAMES) {
          this.stats.dropped++
          return
        }
        link.pending++
        link.chain = link.chain
          .then(() => link.framed.write(frame, { signal: this.stopController.signal }))
          .then(() => {
            this.stats.framesSent++
            if (frame[0] === PUSH_TYPE) this.stats.recordsSent += frame.count
            this.recycleIfFull(id, link)
          })
          .catch((err: Error) => this.closeOut(id, link, err))
          .finally(() => {
            link.pending--
          })
      })
    }
  }

  /** A neighbour's `iwant` after our `ihave`: the records it lacks, pushed whole. */
  private answerIwant(peer: PeerId, store: string, keys: Uint8Array[]): void {
    const id = peer.toString()
    if (!isStoreName(store) || !this.init.stores.includes(store))
      throw new ProtocolViolationError('unexpected-message', `iwant of store ${store}, which we do not sync`)
    if (keys.length > this.init.limits.maxKeysPerRequest)
      throw new ProtocolViolationError('unexpected-message', `iwant of ${keys.length} keys`)
    if (this.init.budgets.takeRequest(id) !== 'ok' || !this.init.mayPull(store, id, peerPublicKey(peer)))
      return
    const records = this.init.state.getRecords(store, keys).filter((r): r is Uint8Array => r !== undefined)
    this.send(peer, store, packPush(store, records, this.init.limits.maxFrameBytes))
  }

  /**
   * A neighbour's `ihave`: asks with `iwant` for the records whose leaf we lack or hold at another
   * value. From an eager neighbour (records a session of its pulled) at once; from a lazy one
   * (Plumtree's lazy push, push-lazy.ts) only for what the tree has still not brought
   * `graftAfterMs` later, and the link is grafted first: the tree does not reach us through it.
   */
  private async answerIhave(
    peer: PeerId,
    framed: FramedStream,
    store: string,
    entries: ReadonlyArray<{ key: Uint8Array; prefix: Uint8Array }>,
  ): Promise<void> {
    if (!isStoreName(store) || !this.init.stores.includes(store))
      throw new ProtocolViolationError('unexpected-message', `ihave of store ${store}, which we do not sync`)
    if (this.init.budgets.takeRequest(peer.toString()) !== 'ok') return
    const id = peer.toString()
    if (this.links.isEager(id)) return this.iwant(framed, store, this.lacking(store, entries))
    if (this.lacking(store, entries).length === 0) return
    const repair = setTimeout(() => {
      this.repairs.delete(repair)
      const wanted = this.lacking(store, entries)
      if (!this.running || wanted.length === 0) return
      if (this.links.missed(id)) {
        this.stats.grafts++
        this.control(id, 'graft')
        // The records this neighbour holds that were not sampled for ihave: one session brings them.
        this.init.repair(peer)
      }
      this.iwant(framed, store, wanted).catch((err: Error) =>
        this.init.log('iwant to %p failed - %s', peer, err.message),
      )
    }, this.init.graftAfterMs)
    this.repairs.add(repair)
  }

  /** The keys of `entries` whose leaf we lack or hold at another value. */
  private lacking(
    store: StoreName,
    entries: ReadonlyArray<{ key: Uint8Array; prefix: Uint8Array }>,
  ): Uint8Array[] {
    const tree = this.init.state.tree(store)
    return entries
      .filter(({ key, prefix }) => {
        const value = tree.get(key)
        return value === undefined || !bytesEqual(value.subarray(0, VALUE_PREFIX_BYTES), prefix)
      })
      .map(({ key }) => key)
  }

  private async iwant(framed: FramedStream, store: StoreName, wanted: readonly Uint8Array[]): Promise<void> {
    for (let i = 0; i < wanted.length; i += this.init.limits.maxKeysPerRequest) {
      const keys = wanted.slice(i, i + this.init.limits.maxKeysPerRequest)
      await framed.write(encodePush({ type: 'iwant', store, keys }), { signal: this.stopController.signal })
    }
  }

  /** Opens the outbound push stream to `peer`: the handshake, then a loop reading its prunes and grafts. */
  private async open(peer: PeerId): Promise<OutLink | undefined> {
    const { init } = this
    const id = peer.toString()
    let stream: Stream | undefined
    try {
      const signal = this.stopController.signal
      stream = await init.connectionManager.openStream(peer, PUSH_PROTOCOL, { signal })
      const framed = this.frame(stream)
      const welcome = await greet(framed, this.context(peer), { signal })
      // A store where we may hold record kinds the peer did not name is not pushed to it at all
      // (pushes are packed before the link is up): it gets those stores' records by pulling.
      const withheld = storesWithheldFrom(welcome.kinds)
      const stores = sharedStores(init.stores, welcome.stores).filter((store) => !withheld.includes(store))
      const link: OutLink = { stream, framed, stores, chain: Promise.resolve(), pending: 0 }
      this.readControl(peer, link).catch(() => {})
      return link
    } catch (err) {
      stream?.abort(err as Error)
      if (this.outbound.get(id) !== undefined) this.outbound.delete(id)
      if (this.running) init.offences.blame(peer, err)
      init.log('push stream to %p failed - %s', peer, (err as Error).message)
      return undefined
    }
  }

  private async readControl(peer: PeerId, link: OutLink): Promise<void> {
    const id = peer.toString()
    try {
      while (true) {
        const frame = await link.framed.read({ signal: this.stopController.signal })
        if (frame === undefined) return this.closeOut(id, link)
        const message = decodePush(frame)
        if (message.type === 'iwant') {
          this.answerIwant(peer, message.store, message.keys)
          continue
        }
        if (message.type === 'push' || message.type === 'ihave')
          throw new ProtocolViolationError('unexpected-message', `${message.type} on our own push stream`)
        if (message.type === 'prune' ? this.links.pruned(id) : this.links.grafted(id))
          this.init.log('%p sent %s', peer, message.type)
        if (message.type === 'prune') this.keepEnoughEager(id)
      }
    } catch (err) {
      if (this.running) this.init.offences.blame(peer, err)
      this.closeOut(id, link, err as Error)
    }
  }

  private closeOut(id: string, link: OutLink, err?: Error): void {
    const current = this.outbound.get(id)
    // Only this link's entry is removed: the next push opens a fresh stream.
    current?.then((l) => {
      if (l === link && this.outbound.get(id) === current) this.outbound.delete(id)
    })
    if (err === undefined) link.stream.close().catch(() => {})
    else link.stream.abort(err)
  }

  private recycleIfFull(id: string, link: OutLink): void {
    const used = link.framed.bytesRead + link.framed.bytesWritten
    if (used < this.init.budgets.limits.maxBytesPerSession * RECYCLE_FRACTION) return
    if (link.pending > 1) return
    this.closeOut(id, link)
  }

  private frame(stream: Stream): FramedStream {
    stream.maxWriteBufferLength = this.init.maxWriteBufferBytes
    return framedStream(stream, {
      maxFrameBytes: this.init.limits.maxFrameBytes,
      maxSessionBytes: this.init.budgets.limits.maxBytesPerSession,
    })
  }

  /** A peer's push stream: its records, verified and applied as pulled ones, until it ends it. */
  private async onInbound(stream: Stream, connection: Connection): Promise<void> {
    const { init } = this
    const peer = connection.remotePeer
    const id = peer.toString()
    const grant = init.budgets.openSession(id)
    if (!grant.ok) {
      stream.abort(new SyncError(grant.reason))
      if (grant.reason === 'too-many-sessions') init.offences.offend(peer, 'too-many-sessions', 'push stream')
      return
    }
    let framed: FramedStream | undefined
    try {
      stream.maxReadBufferLength = init.inboundStreamBufferBytes
      framed = this.frame(stream)
      stream.maxWriteBufferLength = Math.min(init.maxWriteBufferBytes, init.inboundStreamBufferBytes)
      await admit(framed, this.context(peer), { signal: this.stopController.signal })
      this.inbound.set(id, framed)
      while (true) {
        const frame = await framed.read({ signal: this.stopController.signal })
        if (frame === undefined) break
        const message = decodePush(frame)
        if (message.type === 'push') await this.receive(peer, framed, message.store, message.records)
        else if (message.type === 'ihave')
          await this.answerIhave(peer, framed, message.store, message.entries)
        else throw new ProtocolViolationError('unexpected-message', `${message.type} on a push stream`)
      }
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
      if (this.running) init.offences.blame(peer, err)
    } finally {
      grant.release()
      if (this.inbound.get(id) === framed) this.inbound.delete(id)
    }
  }

  /** Applies one pushed batch as a pull's: verified, tagged with the pusher, judged the same way. */
  private async receive(
    peer: PeerId,
    framed: FramedStream,
    store: string,
    records: Uint8Array[],
  ): Promise<void> {
    const { init } = this
    const id = peer.toString()
    if (!isStoreName(store) || !init.stores.includes(store))
      throw new ProtocolViolationError('unexpected-message', `push of store ${store}, which we do not sync`)
    const verdict = init.budgets.takeRequest(id)
    if (verdict !== 'ok') {
      // Too much from this peer: the batch is dropped (anti-entropy heals) and the peer told to stop.
      if (verdict === 'offence')
        init.offences.offend(peer, 'rate-limited', 'push frames past a rate-limited refusal')
      if (this.links.duplicate(id)) await framed.write(encodePush({ type: 'prune' }))
      return
    }
    this.stats.recordsReceived += records.length
    this.lastPushMs = Date.now()
    const outcomes = await init.state.apply(store, records, { from: peerPublicKey(peer) })
    const { applied, offending, firstPushedBy } = this.judge(id, outcomes)
    this.stats.recordsApplied += applied
    if (offending > 0)
      init.offences.offend(peer, 'invalid-record', `${store}: ${offending} invalid pushed records`)
    if (applied > 0) {
      // A grafting neighbour's graft goes on the stream it pushes to us on, and is lost when it
      // has none open: the link stayed lazy here and eager there, so its pushes came but ours
      // did not go (a 32-node trace, sync README Session 17: a node lacked the last write for
      // 2.6 s after every other node had it). As in Plumtree, a new record from it mends that.
      this.links.pushedNew(id)
      return
    }
    this.stats.duplicateFrames++
    // Pruned only when another eager neighbour pushed these records first: the tree reaches us
    // without this link. Never below `MIN_EAGER` eager links, so a race does not cut a node off;
    // a neighbour that pushes duplicates on a link lazy here is told so again.
    if (firstPushedBy === undefined || !this.links.isEager(firstPushedBy)) return
    if (this.links.redundant(id) || !this.links.isEager(id)) {
      this.stats.prunes++
      await framed.write(encodePush({ type: 'prune' }), { signal: this.stopController.signal })
    }
  }

  /** Counts a pushed batch's outcomes; notes who pushed what first; finds who pushed a duplicate first. */
  private judge(
    id: string,
    outcomes: readonly ApplyOutcome[],
  ): { applied: number; offending: number; firstPushedBy: string | undefined } {
    const now = Date.now()
    if (now - this.pushedByTurnedMs > this.init.lazyWindowMs) {
      this.previousPushedBy = this.pushedBy
      this.pushedBy = new Map()
      this.pushedByTurnedMs = now
    }
    let applied = 0
    let offending = 0
    let firstPushedBy: string | undefined
    for (const outcome of outcomes) {
      const key = outcome.key === undefined ? undefined : toHex(outcome.key)
      if (outcome.status === 'applied') {
        applied++
        if (key === undefined) continue
        this.origins.set(key, { id, pulled: false })
        this.pushedBy.set(key, id)
      } else if (outcome.status === 'refused') {
        if (this.init.offendingRefusals.has(outcome.reason ?? 'unknown')) offending++
      } else if (key !== undefined && firstPushedBy === undefined) {
        const first = this.pushedBy.get(key) ?? this.previousPushedBy.get(key)
        if (first !== id) firstPushedBy = first
      }
    }
    return { applied, offending, firstPushedBy }
  }

  /** What the shared handshake needs of a session context; push never fetches, claims or reconciles. */
  private context(peer: PeerId): SessionContext {
    const { init } = this
    return {
      ...peerContext(init, peer, peerPublicKey(peer)),
      openFetch: () => Promise.reject(new SyncError('a push stream does not fetch')),
      claims: createPullClaims(),
      onRound: () => {},
      onPulled: () => {},
      log: (format, ...args) => init.log(`push %p ${format}`, peer, ...args),
    }
  }
}

/** Records packed into push frames that fit `maxFrameBytes`; each frame knows its record count. */
export function packPush(
  store: StoreName,
  records: readonly Uint8Array[],
  maxFrameBytes: number,
): Array<Uint8Array & { count: number }> {
  return pack(records, pushRecordCost, store, maxFrameBytes, (items) =>
    encodePush({ type: 'push', store, records: items }),
  )
}

/** `ihave` entries packed into frames that fit `maxFrameBytes`. */
export function packIhave(
  store: StoreName,
  entries: ReadonlyArray<{ key: Uint8Array; prefix: Uint8Array }>,
  maxFrameBytes: number,
): Array<Uint8Array & { count: number }> {
  return pack(
    entries,
    (e) => pushRecordCost(e.key) + VALUE_PREFIX_BYTES,
    store,
    maxFrameBytes,
    (items) => encodePush({ type: 'ihave', store, entries: items }),
  )
}

function pack<T>(
  items: readonly T[],
  costOf: (item: T) => number,
  store: StoreName,
  maxFrameBytes: number,
  encode: (items: T[]) => Uint8Array,
): Array<Uint8Array & { count: number }> {
  const frames: Array<Uint8Array & { count: number }> = []
  let current: T[] = []
  let size = 0
  const emit = (): void => {
    frames.push(Object.assign(encode(current), { count: current.length }))
    current = []
    size = 0
  }
  for (const item of items) {
    const cost = costOf(item)
    // An item that cannot fit a frame on its own is left to the pull path (which skips it too).
    if (pushHeaderCost(store, 1) + cost > maxFrameBytes) continue
    if (current.length > 0 && pushHeaderCost(store, current.length + 1) + size + cost > maxFrameBytes) emit()
    current.push(item)
    size += cost
  }
  if (current.length > 0) emit()
  return frames
}

/**
 * The leaf value prefixes a flush announces (`ihave`): of the records a session pulled (to eager
 * neighbours) and of those sampled for lazy ones, each read from the tree once per flush, not once
 * per neighbour (a tree read walks the tree from its root in LMDB; the per-neighbour reads were
 * a tenth to a fifth of a flush's time in profiles of the 32-node simulation, sync README,
 * "Session 14"). Undefined where none is needed or the record left the tree.
 */
function leafPrefixes(
  keys: readonly Uint8Array[],
  sources: ReadonlyArray<Origin | undefined>,
  tree: { get(key: Uint8Array): Uint8Array | undefined },
): Array<Uint8Array | undefined> {
  return keys.map((key, i) => {
    if (sources[i]?.pulled !== true && !lazilyAnnounced(key)) return undefined
    return tree.get(key)?.subarray(0, VALUE_PREFIX_BYTES)
  })
}

/** `ihave` entries of a flush's sampled records (those still in the tree), with the neighbour each came from. */
function lazyEntries(
  keys: readonly Uint8Array[],
  sources: ReadonlyArray<Origin | undefined>,
  prefixes: ReadonlyArray<Uint8Array | undefined>,
): LazyEntry[] {
  const entries: LazyEntry[] = []
  keys.forEach((key, i) => {
    const prefix = prefixes[i]
    if (lazilyAnnounced(key) && prefix !== undefined) entries.push({ key, prefix, source: sources[i]?.id })
  })
  return entries
}
