import type { AbortOptions } from '@libp2p/interface'
import { createReconciler, type ReconcileResult, type Reconciler } from '@provsync/merkle'
import { RefusedError } from '../errors.js'
import type { FramedStream } from '../framing.js'
import type { StoreName } from '../state.js'
import { addTally, endConversation, receive, type SessionContext, send, unexpected } from './context.js'
import { pullMissing, replyGroups, serveFetchRequest } from './fetch.js'
import { type ExchangeResult, merkleOptions, offerable, violation } from './reconcile.js'

/**
 * The sync protocol whose sessions run on one stream (protocol 3): every store's reconciliation
 * is pipelined, and the records both sides pull travel on the session's own stream (no fetch
 * stream). Spoken when both the hello and the welcome name this version or a later one.
 */
export const SESSION_STREAM_VERSION = 3

/** One store's merkle session in flight: its reconciler and whether it is the retry after a collision. */
interface StoreRun {
  store: StoreName
  reconciler: Reconciler
  retry: boolean
}

/**
 * The initiator's side of a protocol 3 exchange, on `ctx.sessionStream`. Every store's merkle
 * requests go in flight at once, so stores that do not differ cost one shared round trip; then,
 * store by store in sync order, our pulls (fetch requests answered on this stream) and an offer of
 * what the responder lacks (whose fetches we answer until its `pulled`). Stores with nothing to
 * move cost nothing more. Revocations that differ are moved both ways before the other stores are
 * reconciled again: a revocation takes the revoked signer's records out of the tree, so what
 * either side holds of them is no longer a difference, and no record is pulled to be refused.
 */
export async function initiateSessionExchange(
  framed: FramedStream,
  ctx: SessionContext,
  stores: readonly StoreName[],
  options: AbortOptions = {},
): Promise<ExchangeResult> {
  const result: ExchangeResult = {
    rounds: 0,
    pulled: { pulled: 0, applied: 0, refused: 0, refusedByReason: {}, applyMs: 0 },
    pushed: { applied: 0, refused: 0 },
    refusedStores: [],
  }
  let differences = await reconcileAll(framed, ctx, stores, result, options)
  const first = stores.filter((store) => REORDERING_STORES.has(store) && differs(differences.get(store)))
  if (first.length > 0) {
    if (!(await transfer(framed, ctx, first, differences, result, options))) return result
    const rest = stores.filter((store) => !first.includes(store))
    differences = await reconcileAll(framed, ctx, rest, result, options)
    stores = rest
  }
  if (!(await transfer(framed, ctx, stores, differences, result, options))) return result
  await endConversation(framed, ctx, options)
  return result
}

/** Stores whose applies take records out of the others' trees: moved first when they differ. */
const REORDERING_STORES: ReadonlySet<StoreName> = new Set(['revocations'])

const differs = (d: ReconcileResult | undefined): boolean =>
  d !== undefined && d.localOnly.length + d.remoteOnly.length + d.differing.length > 0

/**
 * Moves the differences of `stores`, in order: our pull, then our offer and the responder's pull
 * of it. Stores refused to us are counted in `result.refusedStores`. False when we refused one of
 * the responder's fetches (allowlist, rate budget): the conversation is over.
 */
async function transfer(
  framed: FramedStream,
  ctx: SessionContext,
  stores: readonly StoreName[],
  differences: ReadonlyMap<StoreName, ReconcileResult>,
  result: ExchangeResult,
  options: AbortOptions,
): Promise<boolean> {
  for (const store of stores) {
    const found = differences.get(store)
    if (found === undefined) {
      result.refusedStores.push(store)
      continue
    }
    const wanted = [...found.remoteOnly, ...found.differing]
    if (wanted.length > 0) addTally(result.pulled, await pullMissing(ctx, store, wanted, options))
    if (!ctx.mayPull(store)) continue
    const offer = offerable(ctx, store, [...found.localOnly, ...found.differing])
    if (offer.length === 0) continue
    const groups = replyGroups(offer, ctx.limits.maxFrameBytes)
    for (let i = 0; i < groups.length; i++) {
      const last = i === groups.length - 1
      await send(framed, { type: 'offer', store, keys: groups[i]!, last }, ctx, options)
    }
    if (!(await serveUntilPulled(framed, ctx, store, result, options))) return false
  }
  return true
}

/**
 * Runs every store's merkle session at once: a request of each store is in flight, and the
 * responder answers in the order they were sent, so the answers are matched to the runs first in,
 * first out. A store the responder refuses (allowlist) is left out of the map. A run that saw a
 * fingerprint collision is run again with a new salt; a second collision is a lying tree.
 */
async function reconcileAll(
  framed: FramedStream,
  ctx: SessionContext,
  stores: readonly StoreName[],
  result: ExchangeResult,
  options: AbortOptions,
): Promise<Map<StoreName, ReconcileResult>> {
  const differences = new Map<StoreName, ReconcileResult>()
  const inFlight: StoreRun[] = []
  const runs: StoreRun[] = []
  const advance = async (run: StoreRun): Promise<void> => {
    const request = run.reconciler.next()
    if (request !== undefined) {
      await send(framed, { type: 'reconcile', store: run.store, payload: request }, ctx, options)
      inFlight.push(run)
      return
    }
    const outcome = run.reconciler.result()
    if (outcome.collision !== true) differences.set(run.store, outcome)
    else if (run.retry) throw violation('lying-tree', `${run.store}: fingerprint collisions in two sessions`)
    else {
      ctx.log('fingerprint collision reconciling %s: a second session with a new salt', run.store)
      await advance(start(run.store, true))
    }
  }
  const start = (store: StoreName, retry: boolean): StoreRun => {
    const reconciler = createReconciler(ctx.state.tree(store), { ...merkleOptions(ctx), version: 2 })
    const run = { store, reconciler, retry }
    runs.push(run)
    return run
  }
  try {
    for (const store of stores) await advance(start(store, false))
    for (let run = inFlight.shift(); run !== undefined; run = inFlight.shift()) {
      if (await answered(framed, ctx, run, options)) {
        result.rounds++
        ctx.onRound(run.store)
        await advance(run)
      }
    }
    return differences
  } finally {
    // Each reconciler reads one tree snapshot until it completes: an abandoned one is closed.
    for (const run of runs) run.reconciler.close()
  }
}

/** Reads the answer to `run`'s request into its reconciler; false when the store is refused to us. */
async function answered(
  framed: FramedStream,
  ctx: SessionContext,
  run: StoreRun,
  options: AbortOptions,
): Promise<boolean> {
  const { store } = run
  const answer = await receive(framed, ctx, { ...options, timeoutMs: ctx.limits.requestTimeoutMs })
  if (answer?.type === 'refusal') {
    if (answer.code === 'unauthorized' && answer.store === store) {
      run.reconciler.close()
      return false
    }
    throw new RefusedError(answer.code, answer.message, answer.store)
  }
  if (answer?.type !== 'reconcile' || answer.store !== store)
    throw unexpected(answer, `reconcile of ${store}`)
  try {
    run.reconciler.receive(answer.payload)
  } catch (err) {
    throw violation('lying-tree', `${store}: reconciliation answer rejected: ${(err as Error).message}`, err)
  }
  return true
}

/**
 * Answers the responder's fetches of what we offered it for `store`, on this stream, until its
 * `pulled`. Its pull may wait for another of its sessions, so the wait is the session's deadline.
 * False when we refused a fetch and the conversation ends.
 */
async function serveUntilPulled(
  framed: FramedStream,
  ctx: SessionContext,
  store: StoreName,
  result: ExchangeResult,
  options: AbortOptions,
): Promise<boolean> {
  while (true) {
    const message = await receive(framed, ctx, { ...options, timeoutMs: Number.POSITIVE_INFINITY })
    if (message?.type === 'fetch') {
      if (!(await serveFetchRequest(framed, ctx, message, options))) return false
      continue
    }
    if (message?.type !== 'pulled' || message.store !== store)
      throw unexpected(message, `pulled for ${store}`)
    result.pushed.applied += message.applied
    result.pushed.refused += message.refused
    return true
  }
}
