import type { AbortOptions } from '@libp2p/interface'
import type { ApplyOutcome } from '@provsync/crdt'
import type { Admission } from '../admission.js'
import type { PullClaims } from '../claims.js'
import { withDeadline } from '../deadline.js'
import { BudgetExceededError, type OffenceReason, ProtocolViolationError } from '../errors.js'
import type { FramedStream } from '../framing.js'
import type { StoreName, SyncedState } from '../state.js'
import { decodeMessage, encodeMessage, type Message } from '../wire/codec.js'

export interface ProtocolLimits {
  maxFrameBytes: number
  /** Keys asked for in one fetch request (a peer refuses more). */
  maxKeysPerRequest: number
  /**
   * Records handed to one `apply` call (one transaction): answers are grouped up to this, since a
   * transaction's fixed cost (tree and view updates, commit) is shared by every record in it.
   */
  maxApplyRecords: number
  /**
   * Fetch requests kept in flight so the transport keeps moving while records are applied. Their
   * keys must fit the remote's initial yamux window (256 KiB) while it is busy answering, or both
   * sides wait on each other's writes: 4 × 1024 keys is 156 KB.
   */
  pipelineDepth: number
  /** Keys one offer may ask the responder to pull, per store and session. */
  maxOfferKeys: number
  /** Time to answer one request or to get one frame written to a reader. */
  requestTimeoutMs: number
  /** Time to wait for the remote's next frame. */
  idleTimeoutMs: number
  /** Time one whole session may take, both pulls included. */
  sessionTimeoutMs: number
}

export const DEFAULT_PROTOCOL_LIMITS: ProtocolLimits = {
  maxFrameBytes: 64 * 1024 - 16,
  maxKeysPerRequest: 1024,
  maxApplyRecords: 4096,
  pipelineDepth: 4,
  maxOfferKeys: 4_000_000,
  requestTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  sessionTimeoutMs: 30 * 60_000,
}

export interface RemotePeer {
  /** The peer id as a string, for budgets, logs and metrics. */
  id: string
  /** The raw Ed25519 public key: the `from` of every record pulled from this peer. */
  key: Uint8Array
}

export interface PullTally {
  pulled: number
  applied: number
  refused: number
  refusedByReason: Record<string, number>
  /** Time spent inside `apply` (verification and the transaction), the rest being transfer. */
  applyMs: number
}

export const emptyTally = (): PullTally => ({
  pulled: 0,
  applied: 0,
  refused: 0,
  refusedByReason: {},
  applyMs: 0,
})

export function addTally(into: PullTally, from: PullTally): void {
  into.pulled += from.pulled
  into.applied += from.applied
  into.refused += from.refused
  into.applyMs += from.applyMs
  for (const [reason, n] of Object.entries(from.refusedByReason)) {
    into.refusedByReason[reason] = (into.refusedByReason[reason] ?? 0) + n
  }
}

/** What one side of a session needs from the node and the service around it. */
export interface SessionContext {
  state: SyncedState
  networkId: string
  trustHash: Uint8Array
  remote: RemotePeer
  limits: ProtocolLimits
  /** Refusal reasons from `apply` that a well-behaved peer never relays. */
  offendingRefusals: ReadonlySet<string>
  /** Closed network: our credential and the check of the remote's (undefined: open network). */
  admission?: Admission | undefined
  /** The stores this node syncs, named in its hello and welcome (see negotiate.ts). */
  stores?: readonly StoreName[]
  /** The record kinds beyond the first release's this node names in its hello and welcome (kinds.ts). */
  kinds?: readonly string[]
  /** The highest sync protocol version this node names (default `PROTOCOL_VERSION`). */
  protocolVersion?: number
  /**
   * The record kinds the remote named, once its hello or welcome is read (empty: a first-release
   * node, which is sent version-1 records only).
   */
  remoteKinds?: ReadonlySet<string>
  /** A store was refused to the remote because it may hold records of kinds the remote did not name. */
  onWithheld?(store: StoreName): void
  /** May the remote pull this store from us (the per-store allowlist)? */
  mayPull(store: StoreName): boolean
  /** Spends one request from the remote's rate budget: refused, or an offence if sent past a refusal. */
  takeRequest(): 'ok' | 'refused' | 'offence'
  offend(reason: OffenceReason, detail: string): void
  /** Opens a fetch stream to the remote, handshake done. */
  openFetch(options: AbortOptions): Promise<FramedStream>
  /**
   * Protocol 3: the session's own stream, on which records are fetched both ways (no fetch stream
   * is opened). Undefined in a session of protocol 1 or 2.
   */
  sessionStream?: FramedStream
  /** Records the node's sessions are pulling, so each is pulled once. */
  claims: PullClaims
  onRound(store: StoreName): void
  /** A pulled group was applied: its tally, and each record's outcome in the order they came. */
  onPulled(store: StoreName, tally: PullTally, outcomes: readonly ApplyOutcome[]): void
  log(format: string, ...args: unknown[]): void
}

function asTimeout(err: unknown, what: string, ms: number): unknown {
  if (err instanceof DOMException && err.name === 'TimeoutError') {
    return new BudgetExceededError('time', `${what} took longer than ${ms} ms`)
  }
  return err
}

export async function send(
  framed: FramedStream,
  message: Message,
  ctx: SessionContext,
  options: AbortOptions = {},
): Promise<void> {
  const ms = ctx.limits.requestTimeoutMs
  try {
    await withDeadline(ms, options, (signal) => framed.write(encodeMessage(message), { signal }))
  } catch (err) {
    throw asTimeout(err, `writing ${message.type}`, ms)
  }
}

/** The next message, undefined on a clean end; malformed bytes count as an offence. */
export async function receive(
  framed: FramedStream,
  ctx: SessionContext,
  options: AbortOptions & { timeoutMs?: number } = {},
): Promise<Message | undefined> {
  const ms = options.timeoutMs ?? ctx.limits.idleTimeoutMs
  let frame: Uint8Array | undefined
  try {
    frame = await withDeadline(ms, options, (signal) => framed.read({ signal }))
  } catch (err) {
    throw asTimeout(err, 'waiting for the next frame', ms)
  }
  if (frame === undefined) return undefined
  return decodeMessage(frame)
}

/** Closes a conversation explicitly: our `End`, then the remote's (a clean EOF also counts). */
export async function endConversation(
  framed: FramedStream,
  ctx: SessionContext,
  options: AbortOptions = {},
): Promise<void> {
  await send(framed, { type: 'end' }, ctx, options)
  const last = await receive(framed, ctx, { ...options, timeoutMs: ctx.limits.requestTimeoutMs })
  if (last !== undefined && last.type !== 'end') throw unexpected(last, 'end')
}

export function unexpected(message: Message | undefined, expected: string): ProtocolViolationError {
  return new ProtocolViolationError(
    'unexpected-message',
    `expected ${expected}, got ${message === undefined ? 'end of stream' : message.type}`,
    message === undefined,
  )
}
