import type { AbortOptions, Connection, PeerId, Stream } from '@libp2p/interface'
import type { ApplyOutcome } from '@provsync/crdt'
import type { PullClaims } from './claims.js'
import { FETCH_PROTOCOL, RECONCILE_PROTOCOL } from './constants.js'
import { startDeadline } from './deadline.js'
import { asError, SyncError } from './errors.js'
import { type FramedStream, framedStream } from './framing.js'
import { peerPublicKey } from './identity.js'
import type { SyncDirection, SyncReason, SyncReport, SyncStarted } from './index.js'
import type { SyncLog } from './logging.js'
import type { SyncMetrics } from './metrics.js'
import { sharedStores } from './negotiate.js'
import { offenceFor } from './offences.js'
import { emptyTally, type PullTally, type SessionContext } from './protocol/context.js'
import { serveFetch } from './protocol/fetch.js'
import { admit, greet } from './protocol/handshake.js'
import {
  type ExchangeResult,
  initiateExchange,
  reconcileVersionFor,
  respondExchange,
} from './protocol/reconcile.js'
import { initiateSessionExchange, SESSION_STREAM_VERSION } from './protocol/session-exchange.js'
import type { StoreName } from './state.js'
import { type PeerStreamsInit, peerContext } from './stream-init.js'

export interface SessionsInit extends PeerStreamsInit {
  claims: PullClaims
  metrics: SyncMetrics
  /** Logs of reconciliation sessions (`provsync:sync:reconcile`) and fetch streams (`:fetch`). */
  log: { reconcile: SyncLog; fetch: SyncLog }
  onStarted(detail: SyncStarted): void
  onFinished(report: SyncReport): void
  /** A session with `peer` completed: the time of its last successful exchange. */
  onSynced(peer: PeerId): void
  /** An outbound session failed and the remote is not to blame (unreachable, refused us, gone). */
  onFailure(peer: PeerId, err: Error): void
  /** A session applied a group it pulled from the peer with key `from`: each record's outcome. */
  onPulledOutcomes?(outcomes: readonly ApplyOutcome[], from: Uint8Array): void
  /**
   * An inbound session refused `peer` stores where we may hold record kinds it does not accept
   * (kinds.ts): reconcile them with it from our side, offering only what it accepts.
   */
  onWithheld?(peer: PeerId): void
}

/** One session's context and the streams it opened, closed and measured together. */
interface Session {
  ctx: SessionContext
  /** Stores refused to the remote for the record kinds it accepts. */
  withheld: Set<StoreName>
  frame(stream: Stream, maxBufferedBytes?: number): FramedStream
  finish(report: SyncReport): void
}

/**
 * Runs sessions: an outbound exchange we start, and the inbound reconcile and fetch streams a
 * peer opens. Each one is budgeted per peer and bounded in time; failures go to offence accounting.
 */
export class Sessions {
  private readonly openStreams = new Set<Stream>()

  constructor(private readonly init: SessionsInit) {}

  /** Aborts every stream still open (the service stops). */
  abortAll(reason: Error): void {
    for (const stream of this.openStreams) stream.abort(reason)
  }

  async runOutbound(peer: PeerId, reason: SyncReason, options: AbortOptions): Promise<SyncReport> {
    const { init } = this
    const started = performance.now()
    const report = emptyReport(peer, 'outbound', reason)
    init.onStarted({ peer, direction: 'outbound', reason })
    const sessionDeadline = startDeadline(init.limits.sessionTimeoutMs, options.signal)
    const signal = sessionDeadline.signal
    let session: Session | undefined
    let stream: Stream | undefined
    try {
      session = this.session(peer, 'outbound')
      stream = await init.connectionManager.openStream(peer, RECONCILE_PROTOCOL, { signal })
      // Protocol 3 pulls on this stream: room for the answers of the whole pipeline, as a fetch stream.
      const framed = session.frame(stream, this.pipelineBufferBytes())
      const welcome = await greet(framed, session.ctx, { signal })
      const stores = sharedStores(init.stores, welcome.stores)
      let result: ExchangeResult
      if (welcome.version >= SESSION_STREAM_VERSION) {
        session.ctx.sessionStream = framed
        result = await initiateSessionExchange(framed, session.ctx, stores, { signal })
      } else {
        const version = reconcileVersionFor(welcome.version)
        result = await initiateExchange(framed, session.ctx, stores, { signal }, version)
      }
      await stream.close({ signal })
      report.rounds = result.rounds
      fillTally(report, result.pulled)
      report.remoteApplied = result.pushed.applied
      init.onSynced(peer)
      init.metrics.sessions.inc({ direction: 'outbound', outcome: 'ok' })
      return report
    } catch (err) {
      report.error = asError(err)
      stream?.abort(report.error)
      init.offences.blame(peer, err)
      if (offenceFor(err) === undefined && options.signal?.aborted !== true)
        init.onFailure(peer, report.error)
      init.metrics.sessions.inc({ direction: 'outbound', outcome: 'error' })
      throw err
    } finally {
      sessionDeadline.clear()
      session?.finish(report)
      report.durationMs = performance.now() - started
      init.onFinished(report)
    }
  }

  async onInbound(
    kind: 'reconcile' | 'fetch',
    stream: Stream,
    connection: Connection,
    parent: AbortSignal,
  ): Promise<void> {
    const { init } = this
    const peer = connection.remotePeer
    const grant = init.budgets.openSession(peer.toString())
    if (!grant.ok) {
      stream.abort(new SyncError(grant.reason))
      if (grant.reason === 'too-many-sessions')
        init.offences.offend(peer, 'too-many-sessions', `${kind} stream`)
      else connection.close().catch(() => {})
      return
    }
    const started = performance.now()
    const report = emptyReport(peer, 'inbound', 'remote')
    const sessionDeadline = startDeadline(init.limits.sessionTimeoutMs, parent)
    const signal = sessionDeadline.signal
    let session: Session | undefined
    try {
      session = this.session(peer, 'inbound', kind)
      // What the peer can make us hold on a stream it opened: its share of the per-peer bound.
      stream.maxReadBufferLength = init.inboundStreamBufferBytes
      // The default bound also holds this side's writes back before they reach the stream's
      // write limit (its share of the per-peer bound): a protocol 3 responder answers fetches here.
      const framed = session.frame(stream)
      stream.maxWriteBufferLength = Math.min(init.maxWriteBufferBytes, init.inboundStreamBufferBytes)
      const version = await admit(framed, session.ctx, { signal })
      if (kind === 'reconcile' && version >= SESSION_STREAM_VERSION) session.ctx.sessionStream = framed
      if (kind === 'fetch') {
        await serveFetch(framed, session.ctx, { signal })
      } else {
        init.onStarted({ peer, direction: 'inbound', reason: 'remote' })
        fillTally(report, await respondExchange(framed, session.ctx, { signal }))
        init.onSynced(peer)
        init.metrics.sessions.inc({ direction: 'inbound', outcome: 'ok' })
        if (session.withheld.size > 0) init.onWithheld?.(peer)
      }
      await stream.close({ signal })
    } catch (err) {
      report.error = asError(err)
      stream.abort(report.error)
      init.offences.blame(peer, err)
      if (kind === 'reconcile') init.metrics.sessions.inc({ direction: 'inbound', outcome: 'error' })
    } finally {
      sessionDeadline.clear()
      grant.release()
      this.openStreams.delete(stream)
      session?.finish(report)
      if (kind === 'reconcile') {
        report.durationMs = performance.now() - started
        init.onFinished(report)
      }
    }
  }

  private session(
    peer: PeerId,
    direction: SyncDirection,
    kind: 'reconcile' | 'fetch' = 'reconcile',
  ): Session {
    const { init } = this
    const remoteKey = peerPublicKey(peer)
    const streams: Array<{ stream: Stream; framed: FramedStream }> = []
    const log = init.log[kind]
    const withheld = new Set<StoreName>()
    const ctx: SessionContext = {
      ...peerContext(init, peer, remoteKey),
      claims: init.claims,
      openFetch: async (options) => {
        const stream = await init.connectionManager.openStream(peer, FETCH_PROTOCOL, options)
        // Room for the answers of the whole pipeline: they keep arriving while a group is applied.
        const framed = this.frame(stream, this.pipelineBufferBytes())
        streams.push({ stream, framed })
        await greet(framed, ctx, options)
        return framed
      },
      onRound: (store) => init.metrics.rounds.inc({ store }),
      onPulled: (store, tally, outcomes) => {
        this.countPulled(store, tally)
        init.onPulledOutcomes?.(outcomes, remoteKey)
      },
      onWithheld: (store) => withheld.add(store),
      log: (format, ...args) => log(`${direction} %p ${format}`, peer, ...args),
    }
    return {
      ctx,
      withheld,
      frame: (stream, maxBufferedBytes) => {
        const framed = this.frame(stream, maxBufferedBytes)
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
        init.metrics.bytes.inc({ direction: 'in' }, report.bytesIn)
        init.metrics.bytes.inc({ direction: 'out' }, report.bytesOut)
      },
    }
  }

  /** Unread bytes a stream holds for a pull: the answers of the whole pipeline, up to 4 frames each. */
  private pipelineBufferBytes(): number {
    return this.init.limits.pipelineDepth * 4 * this.init.limits.maxFrameBytes
  }

  private frame(stream: Stream, maxBufferedBytes?: number): FramedStream {
    this.openStreams.add(stream)
    stream.maxWriteBufferLength = this.init.maxWriteBufferBytes
    return framedStream(stream, {
      maxFrameBytes: this.init.limits.maxFrameBytes,
      maxSessionBytes: this.init.budgets.limits.maxBytesPerSession,
      ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }),
    })
  }

  private countPulled(store: StoreName, tally: PullTally): void {
    const { metrics } = this.init
    metrics.recordsPulled.inc({ store }, tally.pulled)
    metrics.recordsApplied.inc({ store }, tally.applied)
    for (const [reason, n] of Object.entries(tally.refusedByReason)) {
      metrics.recordsRefused.inc({ store, reason }, n)
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
