import type { AbortOptions } from '@libp2p/interface'
import type { ApplyOutcome } from '@provsync/crdt'
import { ProtocolViolationError, RefusedError } from '../errors.js'
import type { FramedStream } from '../framing.js'
import { acceptsRecord } from '../kinds.js'
import { isStoreName, type StoreName } from '../state.js'
import { bytesEqual, toHex } from '../trust.js'
import type { Message } from '../wire/codec.js'
import {
  addTally,
  emptyTally,
  endConversation,
  type ProtocolLimits,
  type PullTally,
  receive,
  type SessionContext,
  send,
  unexpected,
} from './context.js'

/** Bytes reserved in a frame for the envelope around repeated fields. */
const FRAME_OVERHEAD = 64
/** Worst-case protobuf cost of one repeated bytes field beyond its payload (tag + length). */
const FIELD_OVERHEAD = 6

/** Splits items into groups whose encoded size fits one frame and whose count stays under `maxCount`. */
function packBySize(items: readonly Uint8Array[], maxFrameBytes: number, maxCount: number): Uint8Array[][] {
  const budget = maxFrameBytes - FRAME_OVERHEAD
  const groups: Uint8Array[][] = []
  let current: Uint8Array[] = []
  let size = 0
  for (const item of items) {
    const cost = item.byteLength + FIELD_OVERHEAD
    if (current.length > 0 && (size + cost > budget || current.length >= maxCount)) {
      groups.push(current)
      current = []
      size = 0
    }
    current.push(item)
    size += cost
  }
  if (current.length > 0) groups.push(current)
  return groups
}

/** Items packed into frames for a reply flagged `last` on its final frame: at least one, maybe empty. */
export function replyGroups(items: readonly Uint8Array[], maxFrameBytes: number): Uint8Array[][] {
  const groups = packBySize(items, maxFrameBytes, Number.MAX_SAFE_INTEGER)
  return groups.length === 0 ? [[]] : groups
}

/** Whether one item can travel in a frame at all. */
function fitsInFrame(item: Uint8Array, maxFrameBytes: number): boolean {
  return item.byteLength + FIELD_OVERHEAD <= maxFrameBytes - FRAME_OVERHEAD
}

/**
 * Serves record fetches on an admitted stream until the remote ends it. Every request is checked
 * against the allowlist, the key bound and the rate budget before a record is read.
 */
export async function serveFetch(
  framed: FramedStream,
  ctx: SessionContext,
  options: AbortOptions = {},
): Promise<void> {
  while (true) {
    const message = await receive(framed, ctx, options)
    if (message === undefined) return
    if (message.type === 'end') {
      await send(framed, { type: 'end' }, ctx, options)
      return
    }
    if (message.type !== 'fetch') throw unexpected(message, 'fetch or end')
    if (!(await serveFetchRequest(framed, ctx, message, options))) return
  }
}

/**
 * Answers one fetch request, on a fetch stream or (protocol 3) on the session's own stream. Checked
 * against the allowlist, the key bound and the rate budget before a record is read; false when
 * the conversation ends (a refusal the remote earned), and a violation is thrown for what an
 * honest peer never asks.
 */
export async function serveFetchRequest(
  framed: FramedStream,
  ctx: SessionContext,
  message: Extract<Message, { type: 'fetch' }>,
  options: AbortOptions,
): Promise<boolean> {
  const { store, keys } = message
  if (!isStoreName(store)) {
    await refuse(framed, ctx, 'unknown-store', `no store named ${store}`, options)
    throw new ProtocolViolationError('unexpected-message', `fetch from unknown store ${store}`)
  }
  if (!ctx.mayPull(store)) {
    await refuse(framed, ctx, 'unauthorized', `not allowed to pull ${store}`, options, store)
    ctx.offend('unauthorized', `fetch of ${store}`)
    return false
  }
  if (keys.length > ctx.limits.maxKeysPerRequest) {
    await refuse(framed, ctx, 'too-many-keys', `at most ${ctx.limits.maxKeysPerRequest} keys`, options, store)
    throw new ProtocolViolationError('unexpected-message', `fetch of ${keys.length} keys`)
  }
  const verdict = ctx.takeRequest()
  if (verdict !== 'ok') {
    await refuse(framed, ctx, 'rate-limited', 'too many requests', options, store)
    if (verdict === 'offence') ctx.offend('rate-limited', 'fetch requests past a rate-limited refusal')
    return false
  }
  await answerFetch(framed, ctx, store, keys, options)
  return true
}

async function answerFetch(
  framed: FramedStream,
  ctx: SessionContext,
  store: StoreName,
  keys: Uint8Array[],
  options: AbortOptions,
): Promise<void> {
  const found: Uint8Array[] = []
  let missing = 0
  for (const record of ctx.state.getRecords(store, keys)) {
    // A record of a kind the remote did not name is withheld: answered as missing, never sent.
    if (
      record !== undefined &&
      fitsInFrame(record, ctx.limits.maxFrameBytes) &&
      acceptsRecord(ctx.remoteKinds, store, record)
    )
      found.push(record)
    else missing++
  }
  const groups = replyGroups(found, ctx.limits.maxFrameBytes)
  for (let i = 0; i < groups.length; i++) {
    const last = i === groups.length - 1
    await send(
      framed,
      { type: 'records', records: groups[i]!, last, missing: last ? missing : 0 },
      ctx,
      options,
    )
  }
}

async function refuse(
  framed: FramedStream,
  ctx: SessionContext,
  code: 'unknown-store' | 'unauthorized' | 'too-many-keys' | 'rate-limited',
  message: string,
  options: AbortOptions,
  store?: string,
): Promise<void> {
  const refusal =
    store === undefined
      ? { type: 'refusal' as const, code, message }
      : { type: 'refusal' as const, code, message, store }
  await send(framed, refusal, ctx, options).catch(() => {})
}

const MAX_CLAIM_ROUNDS = 4

/**
 * Pulls the `keys` of `store` the remote has and we lack, each once across this node's sessions:
 * keys no other session is pulling are fetched from this remote (on a fetch stream opened only if
 * there are any); keys another session is pulling are awaited, and pulled here if that session
 * failed or did not bring their records (a peer that withheld or sent invalid ones). The tally
 * counts what this session pulled itself.
 */
export async function pullMissing(
  ctx: SessionContext,
  store: StoreName,
  keys: readonly Uint8Array[],
  options: AbortOptions = {},
): Promise<PullTally> {
  const tally = emptyTally()
  let wanted = keys
  // A key can pass from session to session if each one's peer withholds it or sends it refused
  // (a revoked signer's record); after a few the rest waits for the next exchange.
  for (let round = 0; wanted.length > 0 && round < MAX_CLAIM_ROUNDS; round++) {
    const claim = ctx.claims.claim(store, wanted)
    const delivered: Uint8Array[] = []
    try {
      if (claim.mine.length > 0) {
        // Protocol 3 asks on the session's own stream, which goes on after the pull.
        const shared = ctx.sessionStream
        const framed = shared ?? (await ctx.openFetch(options))
        const pull = { delivered, end: shared === undefined }
        addTally(tally, await pullRecords(framed, ctx, store, claim.mine, options, pull))
      }
      claim.release(delivered)
    } catch (err) {
      claim.release(undefined)
      throw err
    }
    const missing: Uint8Array[] = []
    for (const group of claim.elsewhere) missing.push(...(await untilSettled(group.missing, options.signal)))
    wanted = missing
  }
  return tally
}

function untilSettled<T>(settled: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return settled
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    settled.then((value) => {
      signal.removeEventListener('abort', onAbort)
      resolve(value)
    })
  })
}

/**
 * Pulls `keys` of `store` over an admitted fetch stream. Keeps `pipelineDepth` requests in flight,
 * so the remote serves the next answers while this side applies, and hands answers to `apply` in
 * groups of up to `maxApplyRecords` (one transaction each; the first ones smaller, see
 * `groupLimit`), tagged with the remote as `from`.
 * The keys of the records that arrived and were not refused are pushed to `pull.delivered`; the
 * conversation is ended after the pull unless `pull.end` is false (protocol 3's session stream).
 */
export async function pullRecords(
  framed: FramedStream,
  ctx: SessionContext,
  store: StoreName,
  keys: readonly Uint8Array[],
  options: AbortOptions = {},
  pull: { delivered?: Uint8Array[]; end?: boolean } = {},
): Promise<PullTally> {
  const delivered = pull.delivered ?? []
  const tally = emptyTally()
  const batches = packBySize(keys, ctx.limits.maxFrameBytes, ctx.limits.maxKeysPerRequest)
  let requested = 0
  let answered = 0
  const applying: Promise<PullTally>[] = []
  const applyTimer = busyTimer()
  let held: (() => Promise<PullTally>) | undefined
  let groupsStarted = 0
  const applyHeld = async (group: () => Promise<PullTally>): Promise<void> => {
    const applied = applyTimer.time(group)
    // Awaited below; until then a failure must not count as an unhandled rejection.
    applied.catch(() => {})
    applying.push(applied)
    if (applying.length > 1) addTally(tally, await applying.shift()!)
  }
  const fillPipeline = async (): Promise<void> => {
    while (requested < batches.length && requested - answered < ctx.limits.pipelineDepth) {
      await send(framed, { type: 'fetch', store, keys: batches[requested++]! }, ctx, options)
    }
  }
  try {
    while (answered < batches.length) {
      const records: Uint8Array[] = []
      const asked: Uint8Array[] = []
      const limit = groupLimit(groupsStarted++, ctx.limits)
      do {
        await fillPipeline()
        const batch = batches[answered]!
        const answer = await readAnswer(framed, ctx, batch.length, options)
        answered++
        if (answer.length === 0 && batch.length > 0) {
          throw new ProtocolViolationError(
            'lying-tree',
            `peer holds none of the ${batch.length} keys it announced`,
          )
        }
        for (const record of answer) records.push(record)
        for (const key of batch) asked.push(key)
      } while (answered < batches.length && records.length + batches[answered]!.length <= limit)
      // Requests for the next group go out before this one is applied, so the transfer overlaps it.
      await fillPipeline()
      // This group's signatures start verifying on crdt's pool now, and the group before it is
      // applied meanwhile: the workers verify one group while this thread applies and flushes the
      // other (apply holds this thread until its commit is flushed). Groups apply in arrival order.
      const previous = held
      held = startGroup(ctx, store, records, asked, delivered)
      if (previous !== undefined) await applyHeld(previous)
    }
  } catch (error) {
    // A group already received and verifying is applied, as if it had not waited for the next.
    if (held !== undefined) await applyHeld(held).catch(() => {})
    held = undefined
    throw error
  }
  if (held !== undefined) await applyHeld(held)
  for (const group of applying.splice(0)) addTally(tally, await group)
  tally.applyMs = applyTimer.elapsedMs()
  if (pull.end !== false) await endConversation(framed, ctx, options)
  return tally
}

/**
 * Records the next apply group of a pull may take (whole answers, at least one). The first
 * groups are smaller (one answer, then doubling up to maxApplyRecords), so the pool starts
 * verifying after one answer rather than after a whole group's worth of transfer.
 */
export function groupLimit(
  index: number,
  limits: Pick<ProtocolLimits, 'maxKeysPerRequest' | 'maxApplyRecords'>,
): number {
  return Math.min(limits.maxKeysPerRequest * 2 ** Math.min(index, 30), limits.maxApplyRecords)
}

/**
 * Wall time during which at least one timed operation was running (overlaps count once). The
 * clock starts before the operation is called: an apply runs synchronously up to its commit, which
 * a timer started on its returned promise missed (`full_sync_apply_share` read 0.08-0.19 while
 * the calling thread was in apply most of the time, session 15's profile).
 */
function busyTimer() {
  let pending = 0
  let since = 0
  let elapsed = 0
  return {
    /** `operation` is async: a failure rejects its promise, never throws. */
    time<T>(operation: () => Promise<T>): Promise<T> {
      if (pending++ === 0) since = performance.now()
      return operation().finally(() => {
        if (--pending === 0) elapsed += performance.now() - since
      })
    },
    elapsedMs: () => elapsed,
  }
}

/**
 * Starts one group of pulled records: checks them and starts verifying their signatures on the
 * state's pool at once (when the state offers verifyRecords), and returns the step that applies
 * them in one transaction and judges the outcomes.
 */
function startGroup(
  ctx: SessionContext,
  store: StoreName,
  records: Uint8Array[],
  asked: readonly Uint8Array[],
  delivered: Uint8Array[],
): () => Promise<PullTally> {
  const { state } = ctx
  const from = { from: ctx.remote.key }
  if (store === 'invalidations' || state.verifyRecords === undefined || state.applyVerified === undefined) {
    return async () =>
      judge(ctx, store, records.length, await state.apply(store, records, from), asked, delivered)
  }
  const verified = state.verifyRecords(store, records)
  return async () =>
    judge(ctx, store, records.length, await state.applyVerified!(verified, from), asked, delivered)
}

/** Counts a group's outcomes and blames the peer for invalid or unrequested records. */
function judge(
  ctx: SessionContext,
  store: StoreName,
  pulled: number,
  outcomes: readonly ApplyOutcome[],
  asked: readonly Uint8Array[],
  delivered: Uint8Array[],
): PullTally {
  const tally = emptyTally()
  tally.pulled = pulled
  const wasAsked = askedLookup(asked)
  let offending = 0
  for (const outcome of outcomes) {
    if (outcome.status === 'applied') tally.applied++
    if (outcome.status === 'refused') {
      tally.refused++
      const reason = outcome.reason ?? 'unknown'
      tally.refusedByReason[reason] = (tally.refusedByReason[reason] ?? 0) + 1
      if (ctx.offendingRefusals.has(reason)) offending++
    } else if (outcome.key !== undefined) {
      if (wasAsked(outcome.key)) delivered.push(outcome.key)
      else ctx.offend('unrequested-record', `${store}: record ${toHex(outcome.key)} was not asked for`)
    }
  }
  ctx.onPulled(store, tally, outcomes)
  if (offending > 0) ctx.offend('invalid-record', `${store}: ${offending} invalid records`)
  return tally
}

/**
 * Whether a key is one of `asked`, for keys looked up in the order of the records that answered
 * them. An honest peer answers in the order asked (skipping what it lacks), so each lookup walks
 * forward from the last match comparing bytes; from the first key not found ahead (records out of
 * order, or not asked for) on, a set of every asked key answers, built once. Measured (session 15, sync
 * --quick): the hex set per group and a hex string per outcome were 2-3 % of a full sync's
 * calling-thread time.
 */
export function askedLookup(asked: readonly Uint8Array[]): (key: Uint8Array) => boolean {
  let next = 0
  let all: Set<string> | undefined
  return (key) => {
    if (all === undefined) {
      for (let i = next; i < asked.length; i++) {
        if (bytesEqual(asked[i]!, key)) {
          next = i + 1
          return true
        }
      }
      // Out of order once: the set from now on, so no peer makes a group cost a walk per record.
      all = new Set(asked.map(toHex))
    }
    return all.has(toHex(key))
  }
}

async function readAnswer(
  framed: FramedStream,
  ctx: SessionContext,
  asked: number,
  options: AbortOptions,
): Promise<Uint8Array[]> {
  const records: Uint8Array[] = []
  while (true) {
    const message = await receive(framed, ctx, options)
    if (message?.type === 'refusal') throw new RefusedError(message.code, message.message, message.store)
    if (message?.type !== 'records') throw unexpected(message, 'records')
    records.push(...message.records)
    if (records.length > asked) {
      throw new ProtocolViolationError(
        'unrequested-record',
        `peer sent ${records.length} records for ${asked} keys`,
      )
    }
    if (message.last) return records
  }
}
