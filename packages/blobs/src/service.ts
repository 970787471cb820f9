import {
  type AbortOptions,
  type Connection,
  type Logger,
  type PeerId,
  type Startable,
  type Stream,
  serviceCapabilities,
} from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  createPeerBudgets,
  NotAdmittedError,
  type OffenceReason,
  type PeerBudgets,
  trustBundleHash,
} from '@provsync/sync/stream'
import { TypedEventEmitter } from 'main-event'
import { ByteRate } from './byte-rate.js'
import type { BlobSource } from './chunker.js'
import {
  BLOB_PROTOCOL,
  DEFAULT_BYTES_PER_PEER_PER_SECOND,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CHUNKS_PER_REQUEST,
  DEFAULT_MAX_STREAMS_PER_PEER,
  DEFAULT_PIPELINE_DEPTH,
  DEFAULT_POOLED_STREAM_IDLE_MS,
  DEFAULT_POOLED_STREAMS_PER_PEER,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './constants.js'
import { BlobError, BlobProtocolError, BlobRefusedError } from './errors.js'
import { type Manifest, toHex } from './ids.js'
import type {
  BlobComponents,
  BlobLimits,
  BlobOffenceEvent,
  BlobService,
  BlobServiceEvents,
  BlobServiceInit,
  PeerRef,
  ServiceFetchOptions,
  ServiceReadOptions,
} from './index.js'
import { type BlobMetrics, createBlobMetrics } from './metrics.js'
import { maxManifestBytes, requestChunks, requestManifest } from './protocol/client.js'
import { Conversation } from './protocol/conversation.js'
import { type BlobFramedStream, blobFramedStream } from './protocol/framed.js'
import { admit, BlobTrustMismatchError, greet, type NetworkIdentity } from './protocol/handshake.js'
import { type ServeContext, serveStream } from './protocol/server.js'
import { referencePolicy } from './references.js'
import type { BlobOffenceReason, ChunkSource, DeliveredChunk } from './source.js'
import type { BlobStore, PutOptions, PutResult } from './store.js'
import { type PooledStream, StreamPool } from './stream-pool.js'

/** yamux's largest stream window, plus room for one frame in transit. */
const MAX_MUXER_WINDOW_BYTES = 16 * 1024 * 1024 + 128 * 1024

/** Blob offences as sync's per-peer budgets count them (blocking is shared logic). */
const BUDGET_REASON: Record<BlobOffenceReason, OffenceReason> = {
  'bad-manifest': 'invalid-record',
  'bad-chunk': 'invalid-record',
  'unrequested-chunk': 'unrequested-record',
  truncated: 'invalid-record',
  'oversized-chunk': 'oversized-frame',
  'malformed-frame': 'malformed-frame',
  'unexpected-message': 'unexpected-message',
  timeout: 'timeout',
  unauthorized: 'unauthorized',
  'rate-limited': 'rate-limited',
  'too-many-streams': 'too-many-sessions',
  'wrong-network': 'wrong-network',
}

/** Offences a BlobProtocolError names; any other failure (a reset, a refusal) blames no one. */
const BLAMED = new Set<string>(Object.keys(BUDGET_REASON))

export class Blobs
  extends TypedEventEmitter<BlobServiceEvents>
  implements BlobService, Startable, ChunkSource
{
  readonly [Symbol.toStringTag] = '@provsync/blobs'
  readonly [serviceCapabilities]: string[] = ['@provsync/blobs']
  readonly store: BlobStore
  readonly metrics: BlobMetrics
  readonly limits: BlobLimits
  private readonly log: Logger
  /** The hash of the trust bundle in force: read by every hello, moved by `setTrust`. */
  private trust: Uint8Array
  private readonly budgets: PeerBudgets
  private readonly rate: ByteRate
  private readonly providers = new Map<string, Set<string>>()
  private readonly counts = new Map<string, Record<string, number>>()
  private readonly openStreams = new Set<Stream>()
  private readonly mayFetch: (peer: PeerId, id: Uint8Array) => boolean | Promise<boolean>
  private stopController = new AbortController()
  private readonly pool: StreamPool

  constructor(
    private readonly components: BlobComponents,
    private readonly init: BlobServiceInit,
  ) {
    super()
    this.store = init.store
    this.mayFetch = init.mayFetch ?? defaultPolicy(init)
    this.log = components.logger.forComponent('provsync:blobs')
    this.trust = trustBundleHash(init.trust)
    this.limits = {
      maxChunksPerRequest: init.limits?.maxChunksPerRequest ?? DEFAULT_MAX_CHUNKS_PER_REQUEST,
      pipelineDepth: init.limits?.pipelineDepth ?? DEFAULT_PIPELINE_DEPTH,
      bytesPerPeerPerSecond: init.limits?.bytesPerPeerPerSecond ?? DEFAULT_BYTES_PER_PEER_PER_SECOND,
      maxStreamsPerPeer: init.limits?.maxStreamsPerPeer ?? DEFAULT_MAX_STREAMS_PER_PEER,
      requestTimeoutMs: init.limits?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: init.limits?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    }
    this.budgets = createPeerBudgets({ ...init.budgets, maxSessionsPerPeer: this.limits.maxStreamsPerPeer })
    this.rate = new ByteRate(this.limits.bytesPerPeerPerSecond)
    // Idle streams wait at most a quarter of the idle deadline (a server with ours closes them
    // after the whole of it), and at most 5 s.
    this.pool = new StreamPool(
      DEFAULT_POOLED_STREAMS_PER_PEER,
      Math.min(DEFAULT_POOLED_STREAM_IDLE_MS, this.limits.idleTimeoutMs / 4),
      (stream) => this.closeStream(stream),
    )
    this.metrics = createBlobMetrics(init.registry, this.store)
    this.store.attach(this, {
      stored: (n) => this.metrics.storedBytes.inc(n),
      fetched: (n) => this.metrics.fetchedBytes.inc(n),
      evicted: (n) => this.metrics.evictedBytes.inc(n),
      corrupt: (n) => this.metrics.corruptBytes.inc(n),
      fetchSeconds: (s) => this.metrics.fetchSeconds.observe(s),
    })
  }

  async start(): Promise<void> {
    this.stopController = new AbortController()
    await this.components.registrar.handle(
      BLOB_PROTOCOL,
      (stream, connection) => this.onInbound(stream, connection),
      {
        maxInboundStreams: this.init.maxInboundStreams ?? 32,
        maxOutboundStreams: this.init.maxOutboundStreams ?? 64,
      },
    )
  }

  async stop(): Promise<void> {
    this.stopController.abort(new BlobError('blob service stopped'))
    this.pool.clear()
    for (const stream of this.openStreams) stream.abort(new BlobError('blob service stopped'))
    await this.components.registrar.unhandle(BLOB_PROTOCOL)
    this.store.attach(undefined, undefined)
  }

  put(source: BlobSource, options?: PutOptions): Promise<PutResult> {
    return this.store.put(source, options)
  }

  manifest(id: Uint8Array, options: ServiceFetchOptions = {}): Promise<Manifest> {
    return this.store.manifest(id, { ...options, from: peerStrings(options.from) })
  }

  range(
    id: Uint8Array,
    firstChunk: number,
    count: number,
    options: ServiceFetchOptions = {},
  ): Promise<Uint8Array[]> {
    return this.store.range(id, firstChunk, count, { ...options, from: peerStrings(options.from) })
  }

  read(id: Uint8Array, options: ServiceReadOptions = {}): AsyncGenerator<Uint8Array> {
    return this.store.read(id, { ...options, from: peerStrings(options.from) })
  }

  addProvider(id: Uint8Array, peer: PeerRef): void {
    const key = toHex(id)
    let set = this.providers.get(key)
    if (set === undefined) this.providers.set(key, (set = new Set()))
    set.add(peer.toString())
  }

  setTrust(operatorKeys: readonly Uint8Array[]): boolean {
    // sync's hash of the same keys, so the blob hello and sync's hello always name the same bundle.
    const next = trustBundleHash(operatorKeys)
    if (Buffer.from(next).equals(this.trust)) return false
    this.trust = next
    this.pool.clear() // pooled streams said hello under the previous bundle
    this.log('trust bundle of %d operator key(s) in force', operatorKeys.length)
    return true
  }

  trustHash(): Uint8Array {
    return this.trust
  }

  isBlocked(peer: PeerRef): boolean {
    return this.budgets.isBlocked(peer.toString())
  }

  offences(peer?: PeerRef): Record<string, number> {
    const key = peer === undefined ? '*' : peer.toString()
    return { ...(this.counts.get(key) ?? {}) }
  }

  // ChunkSource: how the store reaches peers.

  candidates(id: Uint8Array, hints: readonly string[]): string[] {
    const connected = this.components.connectionManager.getConnections().map((c) => c.remotePeer.toString())
    const provenance = this.init.references?.provenance(id) ?? []
    const ordered = [...hints, ...provenance, ...(this.providers.get(toHex(id)) ?? []), ...connected]
    const self = this.components.peerId.toString()
    return [...new Set(ordered)].filter((p) => p !== self && !this.budgets.isBlocked(p))
  }

  async fetchManifest(peer: string, id: Uint8Array, options: AbortOptions = {}): Promise<Uint8Array> {
    const lease = await this.open(peer, options)
    let ok = false
    try {
      const conv = this.conversation(lease, peer, options)
      const manifest = await requestManifest(conv, id, maxManifestBytes(this.store.maxBlobBytes))
      ok = true
      return manifest
    } catch (err) {
      throw this.failed(peer, err)
    } finally {
      // The read's first window then asks on this stream (it passed its hello already).
      this.release(peer, lease, ok)
    }
  }

  async *fetchChunks(
    peer: string,
    manifest: Manifest,
    indices: readonly number[],
    options: AbortOptions = {},
  ): AsyncGenerator<DeliveredChunk> {
    const ask = (lease: PooledStream) =>
      requestChunks(
        this.conversation(lease, peer, options),
        manifest,
        indices,
        this.limits.maxChunksPerRequest,
        this.limits.pipelineDepth,
      )
    const reused = this.pool.take(peer)
    if (reused !== undefined) {
      const answer = ask(reused)
      const first = await this.firstOnReused(peer, reused, answer, options)
      if (first !== undefined) {
        yield* this.drive(peer, reused, answer, first, indices.length)
        return
      }
    }
    const lease = await this.open(peer, options)
    yield* this.drive(peer, lease, ask(lease), undefined, indices.length)
  }

  /**
   * The first chunk a pooled stream answers with, or undefined when the stream turned out gone
   * (the remote closed or reset it while it waited: not an offence; the caller asks on a fresh
   * stream). An offence or a refusal on it is the peer's answer and is thrown.
   */
  private async firstOnReused(
    peer: string,
    lease: PooledStream,
    answer: AsyncGenerator<DeliveredChunk>,
    options: AbortOptions,
  ): Promise<DeliveredChunk | undefined> {
    try {
      const first = await answer.next()
      if (!first.done) return first.value
    } catch (err) {
      const answered = err instanceof BlobProtocolError || err instanceof BlobRefusedError
      if (answered || options.signal?.aborted === true) {
        this.release(peer, lease, false)
        throw this.failed(peer, err)
      }
    }
    this.release(peer, lease, false)
    return undefined
  }

  /**
   * Yields a conversation's chunks; then the stream goes back to the pool if the conversation
   * ended cleanly. A reader that stops once it has every chunk leaves the last `done` unread: it
   * is awaited in the background before the stream is pooled. Anything else resets the stream.
   */
  private async *drive(
    peer: string,
    lease: PooledStream,
    answer: AsyncGenerator<DeliveredChunk>,
    first: DeliveredChunk | undefined,
    expected: number,
  ): AsyncGenerator<DeliveredChunk> {
    let yielded = 0
    let ok = false
    let failed = false
    try {
      if (first !== undefined) {
        yielded++
        yield first
      }
      while (true) {
        const next = await answer.next()
        if (next.done) break
        yielded++
        yield next.value
      }
      ok = true
    } catch (err) {
      failed = true
      throw this.failed(peer, err)
    } finally {
      if (!ok) void answer.return(undefined).catch(() => {})
      if (ok || failed || yielded < expected) this.release(peer, lease, ok)
      else this.drainThenPool(peer, lease)
    }
  }

  /** Awaits the `done` that ends a fully delivered request, then pools the stream (no blame either way). */
  private drainThenPool(peer: string, lease: PooledStream): void {
    const conv = new Conversation(lease.framed, peer, this.limits)
    conv.receiveOrEnd(this.limits.requestTimeoutMs).then(
      (m) => this.release(peer, lease, m?.type === 'done'),
      () => this.release(peer, lease, false),
    )
  }

  blame(peer: string, reason: BlobOffenceReason, detail: string): void {
    if (reason === 'bad-chunk' || reason === 'bad-manifest' || reason === 'unrequested-chunk') {
      this.metrics.verificationFailures.inc({ peer, reason })
    }
    this.offend(peer, reason, detail)
  }

  private offend(peer: string, reason: BlobOffenceReason, detail: string): void {
    this.metrics.offences.inc({ reason })
    for (const key of [peer, '*']) {
      const counts = this.counts.get(key) ?? {}
      counts[reason] = (counts[reason] ?? 0) + 1
      this.counts.set(key, counts)
    }
    const outcome = this.budgets.offend(peer, BUDGET_REASON[reason])
    this.log('offence by %s: %s (%s)', peer, reason, detail)
    const event: BlobOffenceEvent = { peer, reason, detail, blocked: outcome.blocked }
    this.safeDispatchEvent('blob:offence', { detail: event })
    if (outcome.blocked) {
      for (const c of this.components.connectionManager.getConnections(peerIdFromString(peer))) {
        c.close().catch(() => {})
      }
    }
  }

  /** Blames the peer for a protocol offence it committed; returns the error for the caller to throw. */
  private failed(peer: string, err: unknown): unknown {
    if (err instanceof BlobProtocolError && BLAMED.has(err.reason)) {
      this.blame(peer, err.reason as BlobOffenceReason, err.message)
    }
    return err
  }

  /** Opens a blob stream to `peer` and says hello. */
  private async open(peer: string, options: AbortOptions): Promise<PooledStream> {
    // Closed network: a non-member is never asked (the request would tell it which blob we want).
    const admitted = this.admitted(peerIdFromString(peer))
    if (admitted !== undefined && !(await admitted())) throw new NotAdmittedError(peer)
    const stream = await this.components.connectionManager.openStream(
      peerIdFromString(peer),
      BLOB_PROTOCOL,
      options,
    )
    // While the reader is busy (hashing, writing) the framed reader pauses the stream, but yamux
    // keeps accepting up to its window (16 MiB at most) into the stream's read buffer, whose default
    // limit (4 MiB) would then abort a healthy fetch. Flow control bounds it; let the buffer hold it.
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, MAX_MUXER_WINDOW_BYTES)
    const lease = { stream, framed: this.frame(stream) }
    try {
      await greet(this.conversation(lease, peer, options), this.identity())
    } catch (err) {
      this.release(peer, lease, false)
      throw this.failed(peer, err)
    }
    return lease
  }

  /** One conversation over a stream: the stream outlives it when pooled, the reader's signal does not. */
  private conversation(lease: PooledStream, peer: string, options: AbortOptions): Conversation {
    return new Conversation(lease.framed, peer, this.limits, options.signal)
  }

  /** After a conversation: the stream back to the pool when it ended cleanly, reset otherwise. */
  private release(peer: string, lease: PooledStream, ok: boolean): void {
    if (ok && !this.budgets.isBlocked(peer)) {
      this.pool.give(peer, lease)
      return
    }
    // A conversation cut short (a lie found, a failure, the reader gone) is reset, not drained.
    this.openStreams.delete(lease.stream)
    if (lease.stream.status === 'open') lease.stream.abort(new BlobError('blob conversation ended early'))
  }

  /** Closes a stream the pool lets go of. */
  private closeStream(stream: Stream): void {
    this.openStreams.delete(stream)
    if (stream.status === 'open') stream.close().catch((err: Error) => stream.abort(err))
  }

  private frame(stream: Stream): BlobFramedStream {
    this.openStreams.add(stream)
    stream.maxWriteBufferLength = this.init.maxWriteBufferBytes ?? 4 * 1024 * 1024
    // Room for the answers of the whole pipeline, so the sender is held only by muxer flow control.
    return blobFramedStream(stream, 2 * 1024 * 1024)
  }

  private async onInbound(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const grant = this.budgets.openSession(peer)
    if (!grant.ok) {
      this.metrics.refusals.inc({ reason: grant.reason === 'blocked' ? 'blocked' : 'busy' })
      stream.abort(new BlobError(grant.reason))
      if (grant.reason === 'too-many-sessions') this.offend(peer, 'too-many-streams', 'one stream too many')
      else connection.close().catch(() => {})
      return
    }
    const conv = new Conversation(this.frame(stream), peer, this.limits, this.stopController.signal)
    try {
      await admit(conv, this.identity(), this.admitted(connection.remotePeer))
      await serveStream(conv, this.serveContext(connection.remotePeer))
      await stream.close()
    } catch (err) {
      if (err instanceof NotAdmittedError) this.metrics.refusals.inc({ reason: 'not-admitted' })
      if (err instanceof BlobTrustMismatchError) this.metrics.refusals.inc({ reason: 'trust-mismatch' })
      stream.abort(err as Error)
      this.failed(peer, err)
    } finally {
      grant.release()
      this.openStreams.delete(stream)
    }
  }

  /** What this stream's hello names: the network and the trust bundle in force now. */
  private identity(): NetworkIdentity {
    return { networkId: this.init.networkId, trustHash: this.trust }
  }

  /** Closed network: the check of a peer's membership (undefined: open network, everyone). */
  private admitted(remote: PeerId): (() => Promise<boolean>) | undefined {
    const { admission } = this.init
    if (admission === undefined) return undefined
    const key = remote.type === 'Ed25519' ? remote.publicKey.raw : undefined
    return async () => key !== undefined && (await admission.admit(key, undefined))
  }

  private serveContext(remote: PeerId): ServeContext {
    const peer = remote.toString()
    const mayFetch = this.mayFetch
    return {
      store: this.store,
      maxChunksPerRequest: this.limits.maxChunksPerRequest,
      mayFetch: async (id) => mayFetch(remote, id),
      throttle: (bytes) => sleep(this.rate.delayFor(peer, bytes), this.stopController.signal),
      offend: (reason, detail) => this.offend(peer, reason, detail),
      refused: (reason) => this.metrics.refusals.inc({ reason }),
      served: (bytes) => this.metrics.servedBytes.inc(bytes),
    }
  }
}

/** With references, the reference policy; without, blobs marked shareable (the store's flag). */
function defaultPolicy(init: BlobServiceInit): (peer: PeerId, id: Uint8Array) => boolean {
  if (init.references !== undefined) return referencePolicy(init.references, init.mayHoldScope)
  return (_peer, id) => init.store.isShareable(id)
}

function peerStrings(peers: readonly PeerRef[] | undefined): string[] {
  return (peers ?? []).map((p) => p.toString())
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
