import { type StreamingJob, streamingJob } from '@provsync/crdt'
import type { Authority } from '../authority.js'
import { copy, equalBytes, toHex } from '../bytes.js'
import { checkArtifact, checkOperatorRecord } from '../checks.js'
import { type Decoded, decodePrivate, decodeRecord, verifyItem } from '../codec/signed.js'
import type { AnyRecord, Artifact, Grant, ScopeEpoch, Withdrawal } from '../codec/types.js'
import { type ArtifactRefusal, ArtifactRefusedError, InvalidArgumentError } from '../errors.js'
import type { Context } from './context.js'
import type { ViewCause } from './history.js'
import { dropUnheldScopes, holds, recomputePublisher, recomputeUnder } from './maintenance.js'
import { addLeaf, addVersion, ensureTree, flushLeaves, writeTransaction } from './view.js'

/** What `apply` did with one record. `key` is the record hash (the tree key). */
export interface ApplyOutcome {
  readonly status: 'applied' | 'duplicate' | 'refused'
  readonly reason?: ArtifactRefusal
  readonly key?: Uint8Array
  readonly detail?: string
}

export interface ApplyOptions {
  /** The peer the records came from (this node's own key for local acts). */
  readonly from: Uint8Array
}

type OperatorRecord = Grant | Withdrawal | ScopeEpoch

function refused(reason: ArtifactRefusal, detail: string, key?: Uint8Array): ApplyOutcome {
  return key === undefined
    ? { status: 'refused', reason, detail }
    : { status: 'refused', reason, detail, key }
}

/**
 * Answers that do not change within a batch's checks (scope held, publisher allowed, minimum
 * epoch), computed once per distinct argument instead of once per record.
 */
function batchMemo(ctx: Context) {
  const nowMs = ctx.wallClock()
  const held = new Map<string, boolean>()
  const epochs = new Map<string, bigint>()
  const a = ctx.authority
  const authority = Object.create(a) as Authority
  // Answers by publisher, then by right and scope. A batch's records are mostly by one
  // publisher: its map is found by comparing keys with the last one (no hex string per record;
  // hexing each key was half of the checks' profile, a string id per record a part of the rest).
  const bySubject = new Map<string, Map<string, boolean>>()
  let lastKey: Uint8Array | undefined
  let lastAnswers = new Map<string, boolean>()
  const answersOf = (key: Uint8Array) => {
    if (lastKey === undefined || !equalBytes(lastKey, key)) {
      const hex = toHex((lastKey = key))
      let answers = bySubject.get(hex)
      if (answers === undefined) bySubject.set(hex, (answers = new Map()))
      lastAnswers = answers
    }
    return lastAnswers
  }
  authority.allows = (subject, right, scope, now, revocations) => {
    if (now !== nowMs) return a.allows(subject, right, scope, now, revocations)
    const answers = answersOf(subject)
    const id = right === 'publish' ? scope : `${right}\u0000${scope}`
    let ok = answers.get(id)
    if (ok === undefined) answers.set(id, (ok = a.allows(subject, right, scope, now, revocations)))
    return ok
  }
  authority.minEpoch = (scope) => {
    let min = epochs.get(scope)
    if (min === undefined) epochs.set(scope, (min = a.minEpoch(scope)))
    return min
  }
  const holdsScope = (scope: string) => {
    let ok = held.get(scope)
    if (ok === undefined) held.set(scope, (ok = holds(ctx, scope)))
    return ok
  }
  return { nowMs, authority, holds: holdsScope }
}

/**
 * A set of 32-byte record hashes keyed by their first four bytes (uniform: they are BLAKE3
 * outputs). Replaces a set of hex strings: hexing each hash was about a quarter of decodeAll's
 * profile (bench/apply-profile.ts).
 */
class HashSet {
  /** A bucket is the hash itself until a second hash shares its first four bytes (one array less per record). */
  private readonly buckets = new Map<number, Uint8Array | Uint8Array[]>()

  /** Adds `hash`; false when it was already there. */
  add(hash: Uint8Array): boolean {
    const key = (hash[0]! | (hash[1]! << 8) | (hash[2]! << 16) | (hash[3]! << 24)) >>> 0
    const bucket = this.buckets.get(key)
    if (bucket === undefined) {
      this.buckets.set(key, hash)
      return true
    }
    if (bucket instanceof Uint8Array) {
      if (equalBytes(bucket, hash)) return false
      this.buckets.set(key, [bucket, hash])
      return true
    }
    if (bucket.some((h) => equalBytes(h, hash))) return false
    bucket.push(hash)
    return true
  }
}

/**
 * Size of the first chunk of signatures handed to the verification pool as a batch is decoded
 * (chunks double after it). crdt's default is 64: a 1,000-artifact batch then starts 5 chunks, and
 * starting one (packing, posting to the worker) was 7.6% of applyBatch (bench/apply-profile.ts).
 * 256 starts 3. Measured against 64 alternating (2026-12-06, load 9.5-11.3, README "First
 * verification chunk"): higher apply rate and ratio in all 5 pairs, by margins within the spread.
 */
const FIRST_VERIFY_CHUNK = 256

/** Signatures being verified on the workers while the main thread decodes and checks. */
interface EarlyJob {
  readonly job: StreamingJob
  /** Record index → index in the job, -1 for a record not in it (an array: two Map operations per record fewer). */
  readonly index: Int32Array
  /** Records pushed so far. */
  pushed: number
}

/**
 * Decodes every record; refusals and duplicates are settled here. Artifacts of a scope this node
 * holds already go to the verifier as they are decoded, so verification overlaps the rest.
 */
function decodeAll(ctx: Context, records: readonly Uint8Array[], out: ApplyOutcome[], early: EarlyJob) {
  const memo = batchMemo(ctx)
  const seen = new HashSet()
  const decoded = records.map((bytes, i) => {
    try {
      // The decoder is strict (every field bounded and checked, flags and order canonical), so
      // what it accepts re-encodes identically (a property test asserts it); no second encode.
      // One private copy (the caller may reuse its arrays), every field a view of it.
      const d = decodePrivate(bytes, ctx.networkId, ctx.tag)
      if (!seen.add(d.hash) || ctx.dbs.records.get(d.hash) !== undefined) {
        out[i] = { status: 'duplicate', key: d.hash }
        return undefined
      }
      if (d.record.kind === 'artifact' && memo.holds(d.record.scope)) {
        early.index[i] = early.pushed++
        early.job.push(verifyItem(d.bytes, ctx.networkId))
      }
      return d
    } catch (error) {
      if (!(error instanceof ArtifactRefusedError)) throw error
      out[i] = refused(error.reason, error.detail)
      return undefined
    }
  })
  early.job.flush()
  return decoded
}

/**
 * Starts verifying the signatures of `indices` not already in the early job and returns a lookup
 * of each one's result (it blocks until that result is known, verifying on this thread meanwhile).
 */
function signatures(
  ctx: Context,
  decoded: (Decoded | undefined)[],
  indices: number[],
  early?: EarlyJob,
): (i: number) => boolean {
  const late = early === undefined ? indices : indices.filter((i) => early.index[i]! < 0)
  const job = ctx.verifier.start(late.map((i) => verifyItem(decoded[i]!.bytes, ctx.networkId)))
  const lateIndex = new Map(late.map((i, k) => [i, k]))
  return (i) => {
    const e = early === undefined ? -1 : early.index[i]!
    return e >= 0 ? early!.job.result(e) : job.result(lateIndex.get(i)!)
  }
}

function badSignature(decoded: (Decoded | undefined)[], i: number): ApplyOutcome {
  return refused('bad-signature', 'the signature does not verify', decoded[i]!.hash)
}

/** Verifies the signatures of `indices` (early results where started); marks the bad ones. */
function verifyAll(
  ctx: Context,
  decoded: (Decoded | undefined)[],
  indices: number[],
  out: ApplyOutcome[],
): number[] {
  const ok = signatures(ctx, decoded, indices)
  return indices.filter((i) => {
    if (ok(i)) return true
    out[i] = badSignature(decoded, i)
    return false
  })
}

function checkAll(ctx: Context, decoded: (Decoded | undefined)[], out: ApplyOutcome[], early: EarlyJob) {
  const operator: number[] = []
  const artifacts: number[] = []
  decoded.forEach((d, i) => {
    if (d === undefined) return
    if (d.record.kind === 'artifact') {
      artifacts.push(i)
      return
    }
    const check = checkOperatorRecord(d.record, ctx.authority)
    if (check.ok) operator.push(i)
    else out[i] = refused(check.reason, check.detail, d.hash)
  })
  const verifiedOperator = verifyAll(ctx, decoded, operator, out)
  // Operator records of this batch count for its artifacts (a grant and the first artifact it allows).
  for (const i of verifiedOperator) ctx.authority.add(decoded[i] as Decoded<OperatorRecord>)
  const memo = batchMemo(ctx)
  const checkCtx = {
    authority: memo.authority,
    revocations: ctx.revocations,
    holds: memo.holds,
    nowMs: memo.nowMs,
    refuseExpiredFamilies: ctx.refuseExpiredFamilies,
  }
  const passed = artifacts.filter((i) => {
    const check = checkArtifact(decoded[i]!.record as Artifact, checkCtx)
    if (!check.ok) out[i] = refused(check.reason, check.detail, decoded[i]!.hash)
    return check.ok
  })
  return { operator: verifiedOperator, artifacts: passed, verified: signatures(ctx, decoded, passed, early) }
}

function applyOperator(
  ctx: Context,
  d: Decoded<OperatorRecord>,
  cause: { type: 'operator'; record: string },
) {
  ctx.dbs.records.putSync(d.hash, d.bytes)
  ctx.dbs.operators.putSync(d.hash, new Uint8Array(0))
  ctx.operatorTree.update([{ key: d.hash, valueHash: d.hash }])
  const r = d.record
  if (r.kind === 'scope-epoch') recomputeUnder(ctx, r.scope, cause)
  else if (r.right === 'publish') recomputePublisher(ctx, r.subject, cause)
}

/**
 * Applies a batch atomically: every record decoded, checked and verified first, then one write
 * transaction stores the accepted ones with their trees, views and history. Never throws for
 * bad records (they are `refused` outcomes, counted by reason).
 */
export async function applyBatch(
  ctx: Context,
  records: readonly Uint8Array[],
  options: ApplyOptions,
): Promise<ApplyOutcome[]> {
  if (!Array.isArray(records) || records.length > ctx.maxBatch) {
    throw new InvalidArgumentError('records', `expected an array of at most ${ctx.maxBatch} records`)
  }
  if (!(options?.from instanceof Uint8Array) || options.from.length !== 32) {
    throw new InvalidArgumentError('from', 'expected a 32-byte key')
  }
  const out: ApplyOutcome[] = new Array(records.length)
  const early: EarlyJob = {
    job: streamingJob(ctx.verifier, FIRST_VERIFY_CHUNK),
    index: new Int32Array(records.length).fill(-1),
    pushed: 0,
  }
  const decoded = decodeAll(ctx, records, out, early)
  const { operator, artifacts, verified } = checkAll(ctx, decoded, out, early)
  const ready = openTrees(ctx, decoded, artifacts, verified, out)
  commit(ctx, decoded, operator, ready, verified, out, toHex(options.from))
  count(ctx, out)
  return out
}

/**
 * Opens the trees of scopes new to this store (outside the write transaction, as lmdb needs),
 * for artifacts whose signature verifies, in record order: what fails here is refused exactly as
 * when every signature was awaited first. Artifacts of scopes with a tree are verified later, in
 * the write transaction, so their verification overlaps the writes of the ones before them.
 */
function openTrees(
  ctx: Context,
  decoded: (Decoded | undefined)[],
  artifacts: number[],
  verified: (i: number) => boolean,
  out: ApplyOutcome[],
): number[] {
  return artifacts.filter((i) => {
    const scope = (decoded[i]!.record as Artifact).scope
    if (ctx.trees.has(scope)) return true
    if (!verified(i)) {
      out[i] = badSignature(decoded, i)
      return false
    }
    try {
      ensureTree(ctx, scope)
      return true
    } catch (error) {
      if (!(error instanceof ArtifactRefusedError)) throw error
      out[i] = refused(error.reason, error.detail, decoded[i]!.hash)
      return false
    }
  })
}

/**
 * One write transaction: the operator records, then each artifact as soon as its signature is
 * known. Measured (bench/apply-profile.ts): the commit took about a third of the main thread's
 * time while the verification workers sat idle; interleaving lets the workers verify the next
 * signatures while this thread writes. Sets the outcome of every record applied (if the
 * transaction throws, `apply` throws and the outcomes are never seen).
 */
function commit(
  ctx: Context,
  decoded: (Decoded | undefined)[],
  operator: number[],
  artifacts: number[],
  verified: (i: number) => boolean,
  out: ApplyOutcome[],
  from: string,
): void {
  writeTransaction(
    ctx,
    () => {
      for (const i of operator) {
        const d = decoded[i] as Decoded<OperatorRecord>
        applyOperator(ctx, d, { type: 'operator', record: toHex(d.hash) })
        out[i] = { status: 'applied', key: d.hash }
      }
      if (operator.length > 0) dropUnheldScopes(ctx)
      // The Merkle leaves first, while the workers still verify: written after the last
      // artifact, the leaf updates (10-12 % of applyBatch) ran with the workers idle. A leaf whose
      // signature then fails is taken out again in this transaction (a lying peer's cost, not
      // an honest one's).
      for (const i of artifacts) addLeaf(ctx, (decoded[i]!.record as Artifact).scope, decoded[i]!.hash)
      flushLeaves(ctx)
      const cause: ViewCause = { type: 'apply', from }
      for (const i of artifacts) {
        const d = decoded[i] as Decoded<Artifact>
        if (!verified(i)) {
          out[i] = badSignature(decoded, i)
          ctx.trees.get(d.record.scope)!.update([{ key: d.hash, valueHash: null }])
          continue
        }
        addVersion(ctx, d, cause)
        out[i] = { status: 'applied', key: d.hash }
        // Written: the decoded record (its object, field views and slab) is garbage from here on
        // instead of at the end of the batch. A scavenge within a batch copies every decoded
        // record still referenced, and promotes it; measured in bench/apply-threads.ts
        // (--trace-gc-nvp, README "Session 11").
        decoded[i] = undefined
      }
    },
    // Nothing was applied: forget what this batch taught the in-memory authority.
    () => reloadAuthority(ctx),
  )
}

function count(ctx: Context, out: ApplyOutcome[]): void {
  for (const o of out) {
    if (o.status === 'applied') ctx.counters.applied++
    else if (o.status === 'duplicate') ctx.counters.duplicate++
    else ctx.counters.refused[o.reason!]++
  }
}

/** Rebuilds the in-memory authority from the stored operator records (it counts the trusted ones). */
export function reloadAuthority(ctx: Context): void {
  ctx.authority.clear()
  for (const key of Array.from(ctx.dbs.operators.getKeys(), (k) => copy(k))) {
    const bytes = ctx.dbs.records.get(key)
    if (bytes === undefined) continue
    const d = decodeRecord(bytes, ctx.networkId, ctx.tag, false) as Decoded<AnyRecord>
    if (d.record.kind !== 'artifact') ctx.authority.add(d as Decoded<OperatorRecord>)
  }
  ctx.publisherStatus.clear()
}
