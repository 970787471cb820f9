import type { AbortOptions } from '@libp2p/interface'
import {
  createReconciler,
  createResponder,
  type ReconcileOptions,
  type ReconcileResult,
  type ReconcileVersion,
  type Responder,
} from '@provsync/merkle'
import { ProtocolViolationError, RefusedError } from '../errors.js'
import type { FramedStream } from '../framing.js'
import { acceptsRecord, storesWithheldFrom } from '../kinds.js'
import { isStoreName, type StoreName } from '../state.js'
import type { Message } from '../wire/codec.js'
import {
  addTally,
  emptyTally,
  endConversation,
  type PullTally,
  receive,
  type SessionContext,
  send,
  unexpected,
} from './context.js'
import { pullMissing, replyGroups, serveFetchRequest } from './fetch.js'

export interface ExchangeResult {
  rounds: number
  /** What this side pulled and applied. */
  pulled: PullTally
  /** What the other side reported pulling from us. */
  pushed: { applied: number; refused: number }
  /** Stores the remote refused to reconcile with us (allowlist). */
  refusedStores: StoreName[]
}

/**
 * The initiator's side of one exchange. Per store, in order (revocations first): run merkle's
 * reconciler against the responder, offer the keys the responder lacks so it pulls them from us,
 * pull what we lack from it, and wait until its pull finished, so both sides converge in one exchange.
 */
export async function initiateExchange(
  framed: FramedStream,
  ctx: SessionContext,
  stores: readonly StoreName[],
  options: AbortOptions = {},
  version: ReconcileVersion = 1,
): Promise<ExchangeResult> {
  const result: ExchangeResult = {
    rounds: 0,
    pulled: emptyTally(),
    pushed: { applied: 0, refused: 0 },
    refusedStores: [],
  }
  for (const store of stores) {
    const differences = await reconcileUntilSure(framed, ctx, store, result, options, version)
    if (differences === undefined) {
      result.refusedStores.push(store)
      continue
    }
    const { localOnly, remoteOnly, differing } = differences
    const offer = ctx.mayPull(store) ? offerable(ctx, store, [...localOnly, ...differing]) : []
    const groups = replyGroups(offer, ctx.limits.maxFrameBytes)
    for (let i = 0; i < groups.length; i++) {
      await send(
        framed,
        { type: 'offer', store, keys: groups[i]!, last: i === groups.length - 1 },
        ctx,
        options,
      )
    }
    const wanted = [...remoteOnly, ...differing]
    addTally(result.pulled, await pullMissing(ctx, store, wanted, options))
    // The responder pulls our offer meanwhile; its pull may outlast ours by its whole length.
    const done = await receive(framed, ctx, { ...options, timeoutMs: Number.POSITIVE_INFINITY })
    if (done?.type !== 'pulled' || done.store !== store) throw unexpected(done, `pulled for ${store}`)
    result.pushed.applied += done.applied
    result.pushed.refused += done.refused
  }
  await endConversation(framed, ctx, options)
  return result
}

/**
 * The keys the remote may be offered: those of records of kinds it named. The others stay a
 * difference between the two trees that is never pulled: each session finds them again, at a cost
 * that grows with their number, not with the sessions run.
 */
export function offerable(ctx: SessionContext, store: StoreName, keys: Uint8Array[]): Uint8Array[] {
  if (!storesWithheldFrom(ctx.remoteKinds).includes(store)) return keys
  const kept: Uint8Array[] = []
  // Read in pages: an offer to an empty node lists every key of the store.
  for (let at = 0; at < keys.length; at += OFFER_CHECK_PAGE) {
    const page = keys.slice(at, at + OFFER_CHECK_PAGE)
    const records = ctx.state.getRecords(store, page)
    for (let i = 0; i < page.length; i++) {
      const record = records[i]
      if (record === undefined || acceptsRecord(ctx.remoteKinds, store, record)) kept.push(page[i]!)
    }
  }
  return kept
}

/** Keys whose records are read at once to filter an offer. */
const OFFER_CHECK_PAGE = 4096

/** The merkle protocol to speak to a remote whose welcome named `remoteVersion` (sync's). */
export const reconcileVersionFor = (remoteVersion: number): ReconcileVersion => (remoteVersion >= 2 ? 2 : 1)

/**
 * Protocol 2 compares salted fingerprints: a session that saw a collision may have missed a
 * difference, so it is run again at once with a new salt. An honest peer collides twice in a row
 * with odds near 2^-64; a peer that keeps claiming collisions is lying about its tree.
 */
async function reconcileUntilSure(
  ...session: Parameters<typeof reconcileStore>
): Promise<ReconcileResult | undefined> {
  const [, ctx, store] = session
  const first = await reconcileStore(...session)
  if (first?.collision !== true) return first
  ctx.log('fingerprint collision reconciling %s: a second session with a new salt', store)
  const second = await reconcileStore(...session)
  if (second?.collision === true)
    throw violation('lying-tree', `${store}: fingerprint collisions in two sessions`)
  return second
}

/**
 * Runs merkle's reconciler for one store against the responder; undefined when the responder
 * refuses the store (allowlist). The reconciler reads one tree snapshot (an LMDB read
 * transaction) until it completes, so an abandoned one is closed, or the file grows while pinned.
 */
async function reconcileStore(
  framed: FramedStream,
  ctx: SessionContext,
  store: StoreName,
  result: ExchangeResult,
  options: AbortOptions,
  version: ReconcileVersion,
): Promise<ReconcileResult | undefined> {
  const reconciler = createReconciler(ctx.state.tree(store), { ...merkleOptions(ctx), version })
  try {
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      await send(framed, { type: 'reconcile', store, payload: request }, ctx, options)
      const answer = await receive(framed, ctx, { ...options, timeoutMs: ctx.limits.requestTimeoutMs })
      if (answer?.type === 'refusal') {
        if (answer.code === 'unauthorized' && answer.store === store) return undefined
        throw new RefusedError(answer.code, answer.message, answer.store)
      }
      if (answer?.type !== 'reconcile' || answer.store !== store)
        throw unexpected(answer, `reconcile of ${store}`)
      try {
        reconciler.receive(answer.payload)
      } catch (err) {
        throw violation(
          'lying-tree',
          `${store}: reconciliation answer rejected: ${(err as Error).message}`,
          err,
        )
      }
      result.rounds++
      ctx.onRound(store)
    }
    return reconciler.result()
  } finally {
    reconciler.close()
  }
}

/**
 * The responder's side: answers reconciliation requests for the stores the remote may pull, and
 * pulls whatever the initiator offers before reporting back.
 */
export async function respondExchange(
  framed: FramedStream,
  ctx: SessionContext,
  options: AbortOptions = {},
): Promise<PullTally> {
  // Each responder reads one tree snapshot until it has sent everything; a session that ends
  // early (an error, a remote that goes away) must release the ones still open.
  const responders = new Map<StoreName, Responder>()
  try {
    return await serveExchange(framed, ctx, responders, options)
  } finally {
    for (const responder of responders.values()) responder.close()
  }
}

async function serveExchange(
  framed: FramedStream,
  ctx: SessionContext,
  responders: Map<StoreName, Responder>,
  options: AbortOptions,
): Promise<PullTally> {
  const offers = new Map<StoreName, Uint8Array[]>()
  const tally = emptyTally()
  let awaitingInitiatorPull = false
  // Protocol 3: the initiator's pulls come on this stream too, after its reconciliation.
  const sessionStream = ctx.sessionStream !== undefined
  while (true) {
    // After an offer (protocol 3: once a store is reconciled) the initiator pulls, and may wait for
    // another of its sessions' pulls of the same keys first: the wait is the session's deadline.
    const patient = awaitingInitiatorPull || (sessionStream && someDone(responders))
    const timeoutMs = patient ? Number.POSITIVE_INFINITY : ctx.limits.idleTimeoutMs
    const message = await receive(framed, ctx, { ...options, timeoutMs })
    awaitingInitiatorPull = false
    if (message === undefined) return tally
    if (message.type === 'fetch' && sessionStream) {
      if (!(await serveFetchRequest(framed, ctx, message, options))) return tally
      continue
    }
    if (message.type === 'end') {
      await send(framed, { type: 'end' }, ctx, options)
      return tally
    }
    if (message.type === 'reconcile') {
      if (!(await answerReconcile(framed, ctx, responders, message, options))) return tally
      continue
    }
    if (message.type === 'offer') {
      const { store } = message
      if (!isStoreName(store)) throw violation('unexpected-message', `offer of unknown store ${store}`)
      const keys = offers.get(store) ?? []
      keys.push(...message.keys)
      if (keys.length > ctx.limits.maxOfferKeys)
        throw violation('session-bytes', `offer of more than ${ctx.limits.maxOfferKeys} keys`)
      offers.set(store, keys)
      if (!message.last) continue
      offers.delete(store)
      const pulled = await pullMissing(ctx, store, keys, options)
      addTally(tally, pulled)
      await send(
        framed,
        { type: 'pulled', store, applied: pulled.applied, refused: pulled.refused },
        ctx,
        options,
      )
      awaitingInitiatorPull = true
      continue
    }
    throw unexpected(message, 'reconcile, offer or end')
  }
}

function someDone(responders: ReadonlyMap<StoreName, Responder>): boolean {
  for (const responder of responders.values()) if (responder.done) return true
  return false
}

/**
 * Answers one reconciliation request; false when the session ends (the remote ran out of
 * requests). A store the remote may not pull is refused, and that is no offence: the initiator
 * cannot know our allowlist, so an honest peer asks for every store it syncs.
 */
export async function answerReconcile(
  framed: FramedStream,
  ctx: SessionContext,
  responders: Map<StoreName, Responder>,
  message: Extract<Message, { type: 'reconcile' }>,
  options: AbortOptions,
): Promise<boolean> {
  const { store, payload } = message
  if (!isStoreName(store)) throw violation('unexpected-message', `reconcile of unknown store ${store}`)
  if (!ctx.mayPull(store)) {
    ctx.log('refused reconcile of %s: not on its allowlist', store)
    await send(
      framed,
      { type: 'refusal', code: 'unauthorized', message: `may not pull ${store}`, store },
      ctx,
      options,
    )
    return true
  }
  if (storesWithheldFrom(ctx.remoteKinds, ctx.kinds).includes(store)) {
    // Its pull of our records of kinds it did not name would find none of them, which the first
    // release blames as a lying tree; refused by name it skips the store without blame, and we
    // reconcile the store with it as initiator, offering only what it accepts.
    ctx.log('refused reconcile of %s: it may hold record kinds the remote does not accept', store)
    await send(
      framed,
      { type: 'refusal', code: 'unauthorized', message: `${store}: reconciled from this side`, store },
      ctx,
      options,
    )
    ctx.onWithheld?.(store)
    return true
  }
  const verdict = ctx.takeRequest()
  if (verdict !== 'ok') {
    if (verdict === 'offence') ctx.offend('rate-limited', 'reconcile requests past a rate-limited refusal')
    await send(framed, { type: 'refusal', code: 'rate-limited', message: 'too many requests' }, ctx, options)
    return false
  }
  let responder = responders.get(store)
  // A finished session's store may be asked again: protocol 2's second session after a collision.
  if (responder === undefined || responder.done) {
    responder = createResponder(ctx.state.tree(store), merkleOptions(ctx))
    responders.set(store, responder)
  }
  let answer: Uint8Array
  try {
    answer = responder.respond(payload)
  } catch (err) {
    throw violation(
      'malformed-frame',
      `${store}: reconciliation request rejected: ${(err as Error).message}`,
      err,
    )
  }
  await send(framed, { type: 'reconcile', store, payload: answer }, ctx, options)
  return true
}

export function violation(
  reason: ProtocolViolationError['reason'],
  message: string,
  cause?: unknown,
): ProtocolViolationError {
  const err = new ProtocolViolationError(reason, message)
  if (cause !== undefined) err.cause = cause
  return err
}

/** Room for the envelope around merkle's opaque frame (store name, field tags, lengths). */
const ENVELOPE_BYTES = 256

/** Merkle frames sized to fit one of ours, so a long answer arrives as several frames, never an oversized one. */
export function merkleOptions(ctx: SessionContext): ReconcileOptions {
  return { maxFrameBytes: ctx.limits.maxFrameBytes - ENVELOPE_BYTES }
}
