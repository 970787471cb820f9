import { ClockDriftError, compareTimestamps, type Timestamp } from '@provsync/hlc'
import { mergeAssertion, WorkingEntries, type WorkingEntry } from './assertions.js'
import { blake3, equalBytes, SIGNATURE_BYTES, toHex } from './bytes.js'
import {
  type CheckedRecord,
  coordinateBytesOf,
  decodeAssertion,
  decodeRevocation,
  decodeSupersession,
  MAX_RECORD_BYTES,
  type RecordType,
  recordHash,
  scanAssertion,
  signedPrefix,
  signerOf,
} from './codec/records.js'
import { type Context, isRevoked, type StoreName, type VerificationCounts } from './context.js'
import { historyWriter, recompute } from './durability.js'
import {
  BadSignatureError,
  FarFutureError,
  MalformedRecordError,
  OversizedFieldError,
  RecordRefusedError,
  type RefusalReason,
  RevokedSignerError,
  UntrustedOperatorError,
} from './errors.js'
import { appendEntries, type LedgerSource, type NewLedgerEntry } from './ledger.js'
import { ingestLog } from './log.js'
import { Scratch } from './persisted.js'
import { refreshSubject, storeRevocation } from './revocations.js'
import { storeSupersession } from './supersessions.js'
import { type BatchVerifier, streamingJob, type VerifyJob } from './verify-pool.js'

export interface ApplyOutcome {
  readonly status: 'applied' | 'duplicate' | 'superseded' | 'refused'
  readonly reason?: RefusalReason
  /** The record's tree key (content hash, or the assertion register key). */
  readonly key?: Uint8Array
  /** Human-readable detail of a refusal. */
  readonly detail?: string
}

export interface ApplyOptions {
  /** Public key of the peer the records came from (this node's own key for local acts). */
  readonly from: Uint8Array
  /** Groups the ledger entries of one operation; generated when absent. */
  readonly correlationId?: string
}

export interface IngestResult {
  readonly outcomes: ApplyOutcome[]
  /** The refusal error per record, for callers that throw it (local puts). */
  readonly errors: (RecordRefusedError | undefined)[]
  readonly changed: boolean
  readonly ledgerAppended: number
}

const TYPE_OF: Partial<Record<StoreName, RecordType>> = {
  supersessions: 'supersession',
  assertions: 'assertion',
  revocations: 'revocation',
}

function decodeFor(store: StoreName, bytes: Uint8Array, networkId: string): CheckedRecord {
  if (store === 'supersessions') return { type: 'supersession', record: decodeSupersession(bytes, networkId) }
  if (store === 'assertions') {
    // Read in place when it can be; anything else (non-ASCII text, or bytes the decoder refuses)
    // goes through the full decoder, which decodes it or throws the refusal it always threw.
    const head = scanAssertion(bytes, networkId) ?? decodeAssertion(bytes, networkId)
    return { type: 'assertion', record: head }
  }
  return { type: 'revocation', record: decodeRevocation(bytes, networkId) }
}

export interface Candidate {
  readonly index: number
  readonly bytes: Uint8Array
  /**
   * The record's item in the batch's verify job, or {@link HELD} for a byte-identical copy of a
   * record the store holds, whose signature is not verified again (see {@link heldCopy}).
   */
  slot: number
  /**
   * What applying the record needs, found once in precheck; {@link ingestPrepared} drops it once
   * the record is applied (see `release` there), so the fields are undefined afterwards.
   */
  decoded: CheckedRecord | undefined
  signer: Uint8Array | undefined
  /** Assertions only: the coordinate's id and its map key. */
  coordId?: Uint8Array | undefined
  readonly coordKey?: string
}

/** {@link Candidate.slot} of a record sent to no verifier: a copy of a record the store holds. */
export const HELD = -1

/** A candidate whose working fields are still set (before it is applied). */
type Unapplied = Candidate & { decoded: CheckedRecord; signer: Uint8Array }

/**
 * Checks everything but the signature, without touching the store: size, encoding, bounds,
 * network, HLC drift, trust in the operator, revoked signer.
 */
function precheck(ctx: Context, store: StoreName, bytes: unknown, index: number): Candidate {
  if (!(bytes instanceof Uint8Array)) throw new MalformedRecordError('record must be a Uint8Array')
  if (bytes.length > MAX_RECORD_BYTES) throw new OversizedFieldError('record', bytes.length, MAX_RECORD_BYTES)
  const decoded = decodeFor(store, bytes, ctx.networkId)
  const signer = signerOf(decoded)
  try {
    ctx.clock.check(decoded.record.hlc)
  } catch (error) {
    if (error instanceof ClockDriftError) throw new FarFutureError(error.driftMs, error.maxDriftMs)
    throw error
  }
  if (decoded.type === 'revocation' && !ctx.trust.has(toHex(signer)))
    throw new UntrustedOperatorError(toHex(signer))
  if (signerIsRevoked(ctx, decoded.type, signer)) throw new RevokedSignerError(toHex(signer))
  // One shape for every candidate (coordId and coordKey present, undefined when not an assertion).
  if (decoded.type !== 'assertion')
    return { index, bytes, slot: 0, decoded, signer, coordId: undefined, coordKey: undefined }
  const coordId = blake3(coordinateBytesOf(bytes))
  return { index, bytes, slot: 0, decoded, signer, coordId, coordKey: toHex(coordId) }
}

/**
 * Whether `bytes` are exactly a record the store holds under the key they would be stored at
 * (an assertion's register, a supersession's or revocation's content hash). Every stored record
 * was verified when it was applied (or signed here), and a signature's verdict depends on the
 * bytes, the store's type and its network alone, so an identical copy verifies as that record did:
 * its signature need not be verified again. Everything else about it (checks, revoked signer, the
 * merge and its outcome) runs as for any record. Cost, measured: see the README, Session 13.
 */
function heldCopy(ctx: Context, c: Candidate & { decoded: CheckedRecord }): boolean {
  const { decoded, bytes } = c
  // The merge hashes the register key again (1.2 µs): handing it over would change
  // assertions.ts, a pure core whose mutation run the new tests would make a near-full one.
  const stored =
    decoded.type === 'assertion'
      ? ctx.dbs.asRecords.get(blake3(decoded.record.asserter, coordinateBytesOf(bytes)))
      : (decoded.type === 'supersession' ? ctx.dbs.supRecords : ctx.dbs.rvRecords).get(recordHash(bytes))
  // A copy (only when the key is held): lmdb-js's getBinaryFast gave a buffer that threw
  // "offset is out of bounds" on reading here (lmdb 3.5.6, in this package's environment).
  return stored !== undefined && equalBytes(stored, bytes)
}

/**
 * Revocations answer to the trust bundle alone: an operator's authority is its place in the
 * bundle, so a revocation naming an operator key does not silence that operator's revocations
 * (otherwise two operators revoking each other would leave replicas disagreeing on who is revoked,
 * depending on the order they saw the records in).
 */
function signerIsRevoked(ctx: Context, type: RecordType, signer: Uint8Array): boolean {
  return type !== 'revocation' && isRevoked(ctx, signer)
}

function refusal(error: RecordRefusedError): ApplyOutcome {
  return { status: 'refused', reason: error.reason, detail: error.message }
}

/** A batch decoded and checked, its signatures being verified on the pool. */
export interface PreparedBatch {
  readonly store: StoreName
  readonly count: number
  readonly candidates: readonly Candidate[]
  readonly job: VerifyJob
  /** The refusals found before verification, by record index. */
  readonly refusals: ReadonlyMap<number, RecordRefusedError>
}

/**
 * Decodes and checks every record of a batch (everything but the signature, see {@link precheck})
 * and starts verifying the signatures of those that pass on `verifier`'s workers, in chunks that
 * start while later records are still being checked. Touches no store. With `copy`, each record
 * is copied first, so a caller that changes its bytes afterwards changes nothing here.
 */
export function prepare(
  ctx: Context,
  verifier: BatchVerifier,
  store: StoreName,
  records: readonly Uint8Array[],
  options: { copy?: boolean } = {},
): PreparedBatch {
  const type = TYPE_OF[store]!
  const candidates: Candidate[] = []
  const refusals = new Map<number, RecordRefusedError>()
  // The workers also hash each record they verify (BLAKE3 of body ‖ signature, its content
  // address): the applying thread, the limit on two cores, takes the hash instead of computing it.
  const job = streamingJob(verifier, undefined, { digests: true })
  // The domain prefix by record version (1 or 2), looked up once per batch instead of per record.
  const prefixes: (Uint8Array | undefined)[] = []
  const inputs = options.copy === true ? copyAll(records) : records
  let pushed = 0
  inputs.forEach((bytes, index) => {
    let candidate: Candidate
    try {
      candidate = precheck(ctx, store, bytes, index)
    } catch (error) {
      if (!(error instanceof RecordRefusedError)) throw error
      refusals.set(index, error)
      return
    }
    candidates.push(candidate)
    const counts = ctx.verification
    if (lookUp(counts)) {
      if (heldCopy(ctx, candidate as Unapplied)) {
        candidate.slot = HELD
        counts.skipped++
        counts.missesSinceHit = 0
        return
      }
      counts.missesSinceHit++
    }
    candidate.slot = pushed++
    counts.verified++
    const signed = candidate.bytes
    const version = signed[1]!
    job.push({
      publicKey: candidate.signer!,
      signature: signed.subarray(signed.length - SIGNATURE_BYTES),
      // The domain prefix, packed before the body by the pool instead of a message copied per record.
      prefix: (prefixes[version] ??= signedPrefix(type, ctx.networkId, signed)),
      message: signed.subarray(0, signed.length - SIGNATURE_BYTES),
    })
  })
  job.flush()
  return { store, count: records.length, candidates, job, refusals }
}

/**
 * After this many lookups in a row found no held copy, only one record in {@link COLD_SAMPLE} is
 * looked up until one is found again. A lookup that misses costs the applying thread about 2.3 µs
 * (`duplicate-probe.ts --dup=0 --threads=1`: 5.9-7.2 µs of checks per record against 2.4-3.6
 * without lookups), a verification skipped saves 40-55 µs: a stream of new records (a first sync,
 * the crdt suite) then pays about 0.1 µs, and copies that come back are found again within about
 * `COLD_SAMPLE / share of copies` records.
 */
export const COLD_AFTER = 4096
export const COLD_SAMPLE = 32

/** Whether to look up this record's held copy (never with `verifyHeldCopies`). */
function lookUp(counts: VerificationCounts): boolean {
  if (counts.verifyHeldCopies) return false
  if (counts.missesSinceHit < COLD_AFTER) return true
  return ++counts.sampled % COLD_SAMPLE === 0
}

/** Whether a candidate's signature failed (waiting for its verification); a held copy's never does. */
export function signatureFails(job: VerifyJob, c: Candidate): boolean {
  return c.slot !== HELD && !job.result(c.slot)
}

/**
 * Copies of a batch's records in one new buffer (anything not a Uint8Array stays as it is, for
 * the checks to refuse): one allocation instead of one per record, and lmdb-js, which looks up
 * and caches the address of a value's ArrayBuffer on the first put from it, does that once per
 * batch instead of once per record.
 */
function copyAll(records: readonly Uint8Array[]): readonly Uint8Array[] {
  let total = 0
  for (const input of records) if (input instanceof Uint8Array) total += input.length
  const buffer = new Uint8Array(total)
  let offset = 0
  return records.map((input) => {
    if (!(input instanceof Uint8Array)) return input
    buffer.set(input, offset)
    offset += input.length
    return buffer.subarray(offset - input.length, offset)
  })
}

/**
 * Verifies and applies one batch; see {@link NodeState.apply}. The signatures are verified by
 * worker threads (and this thread) while this thread applies, inside one write transaction, the
 * records whose verification already finished, in order. Verification starts on the first records
 * while later ones are still being checked, and a coordinate's view is derived right after the
 * last record touching it, so this thread's own work overlaps the workers'. The commit runs on
 * lmdb-js's write thread; see the README on durability.
 */
export async function ingest(
  ctx: Context,
  verifier: BatchVerifier,
  store: StoreName,
  records: readonly Uint8Array[],
  options: ApplyOptions & { source: LedgerSource },
): Promise<IngestResult> {
  return ingestPrepared(ctx, prepare(ctx, verifier, store, records), options)
}

/**
 * Applies a batch {@link prepare} checked: the records that passed, each once its signature
 * verified (a record whose signature does not verify is refused as `bad-signature`).
 */
export async function ingestPrepared(
  ctx: Context,
  batch: PreparedBatch,
  options: ApplyOptions & { source: LedgerSource },
): Promise<IngestResult> {
  const { store, count } = batch
  const outcomes: ApplyOutcome[] = new Array(count)
  const errors: (RecordRefusedError | undefined)[] = new Array(count).fill(undefined)
  const refuse = (index: number, error: RecordRefusedError) => {
    outcomes[index] = refusal(error)
    errors[index] = error
    if (ingestLog.enabled) {
      ingestLog(
        'refused %s record %d of %d (%s): %s - %s',
        store,
        index,
        count,
        options.source.type,
        error.reason,
        error.message,
      )
    }
  }
  for (const [index, error] of batch.refusals) refuse(index, error)
  const { changed, ledgerEntries } = await commit(
    ctx,
    store,
    batch.candidates,
    batch.job,
    options,
    outcomes,
    refuse,
  )
  return { outcomes, errors, changed, ledgerAppended: ledgerEntries }
}

/**
 * The encodings this thread puts inside its write transactions (history and coordinate entries):
 * one buffer, since lmdb-js copies each value before its synchronous put returns.
 */
const scratch = new Scratch()
/** The component of a settled coordinate entry until the entry is encoded (see `recompute`). */
const componentScratch = new Scratch()

/**
 * What a settled coordinate's map slot holds for the rest of its batch. Frozen, with a frozen
 * evidence list: a merge into it (a record touching the coordinate after its last touch, which
 * `lastTouches` rules out) throws instead of writing an empty entry.
 */
const SETTLED: WorkingEntry = Object.freeze({
  coordId: new Uint8Array(32),
  entry: Object.freeze({ coordinate: new Uint8Array(0), evidence: Object.freeze([]) as never }),
})

/**
 * Drops what a candidate held for applying its record once it is applied: the handle keeps the
 * candidate (index and bytes, for observers) until the batch returns, and without this every
 * decoded head, signer view and coordinate id of the batch lived until then, so each scavenge
 * during a batch copied (and the second promoted) the whole batch's working set.
 */
function release(c: Candidate): void {
  c.decoded = undefined
  c.signer = undefined
  c.coordId = undefined
}

/** For each coordinate, the position of the last candidate that touches it. */
function lastTouches(candidates: readonly Candidate[]): Map<string, number> {
  const last = new Map<string, number>()
  candidates.forEach((c, i) => {
    if (c.coordKey !== undefined) last.set(c.coordKey, i)
  })
  return last
}

async function commit(
  ctx: Context,
  store: StoreName,
  candidates: readonly Candidate[],
  job: VerifyJob,
  options: ApplyOptions & { source: LedgerSource },
  outcomes: ApplyOutcome[],
  refuse: (index: number, error: RecordRefusedError) => void,
): Promise<{ changed: boolean; ledgerEntries: number }> {
  if (candidates.length === 0) return { changed: false, ledgerEntries: 0 }
  const isLocal = options.source.type === 'local'
  // Made only for a batch that writes ledger entries (revocations): a UUID per call was about
  // 20 µs of an `apply` of one record (`bench/call-probe.ts`, session 15).
  let correlationId = options.correlationId
  const lastTouch = lastTouches(candidates)
  let latest: Timestamp | undefined
  const subjects: Uint8Array[] = []
  const write = () => {
    const changes: { key: Uint8Array; valueHash: Uint8Array }[] = []
    const working = new WorkingEntries(ctx)
    const history = historyWriter(ctx, scratch)
    const from = isLocal ? undefined : options.from
    const ledger: NewLedgerEntry[] = []
    // One cause and one options object for the batch: recompute reads them and keeps neither
    // (the history entry is encoded and put at once).
    const cause: { type: 'local' | 'pull'; from: Uint8Array | undefined; record?: Uint8Array } = {
      type: isLocal ? 'local' : 'pull',
      from,
    }
    // A settled entry is read no more in this batch (no later record touches its coordinate), so
    // its new component may live in a reused buffer until the entry is encoded: a component is
    // more than 64 bytes, which V8 allocates outside its heap (encodeComponent was 3 % of this
    // thread's non-verifying time in apply, in a profile at load 12).
    const settling: { working?: WorkingEntry['entry']; scratch: Scratch; componentScratch: Scratch } = {
      scratch,
      componentScratch,
    }
    // A coordinate's view is derived once, after the last record of the batch that touches it.
    const settle = (coordKey: string) => {
      // Left in the map (no later record of the batch touches it): deleting 1,000 entries one
      // by one shrank and rehashed the map, 0.14 KB allocated per record in the heap profile.
      const touched = working.byId.get(coordKey)
      if (touched === undefined) return
      // Entries only read (duplicates, superseded records) need no write.
      if (touched.record !== undefined) {
        cause.record = touched.record
        settling.working = touched.entry
        recompute(ctx, touched.coordId, cause, history, settling)
      }
      // The map keeps the key (no delete, above) but no longer the entry, its evidence and their
      // views, so a scavenge later in the batch does not copy them.
      working.byId.set(coordKey, SETTLED)
    }
    const apply = (c: Unapplied): void => {
      if (signatureFails(job, c)) {
        refuse(c.index, new BadSignatureError())
        return
      }
      const hash = (c.slot === HELD ? undefined : job.digest?.(c.slot)) ?? recordHash(c.bytes)
      // Checked again inside the transaction: a revocation may have landed during verification.
      if (signerIsRevoked(ctx, c.decoded.type, c.signer)) {
        refuse(c.index, new RevokedSignerError(toHex(c.signer)))
        return
      }
      let status: 'applied' | 'duplicate' | 'superseded'
      let key = hash
      const d = c.decoded
      if (d.type === 'assertion') {
        // The candidate carries the coordinate's id and map key (found once in precheck).
        const known = c as Candidate & { coordId: Uint8Array; coordKey: string }
        const merged = mergeAssertion(ctx, working, d.record, c.bytes, hash, options.from, known)
        status = merged.status
        key = merged.key
        if (merged.change !== undefined) changes.push(merged.change)
      } else if (d.type === 'supersession') {
        status = storeSupersession(ctx, d.record, c.bytes, hash)
        if (status === 'applied') changes.push({ key: hash, valueHash: hash })
      } else {
        status = storeRevocation(ctx, d.record, c.bytes, hash)
        if (status === 'applied') {
          changes.push({ key: hash, valueHash: hash })
          subjects.push(d.record.subject)
          ledger.push({
            id: hash,
            kind: d.record.action,
            subjectKind: d.record.subjectKind,
            subject: d.record.subject,
            reason: d.record.reason,
            actor: toHex(d.record.operator),
            source: options.source,
            correlationId: (correlationId ??= crypto.randomUUID()),
            hlc: d.record.hlc,
            record: c.bytes,
          })
        }
      }
      outcomes[c.index] = { status, key }
      if (status === 'applied' && (latest === undefined || compareTimestamps(d.record.hlc, latest) > 0)) {
        latest = d.record.hlc
      }
    }
    candidates.forEach((c, i) => {
      apply(c as Unapplied)
      if (c.coordKey !== undefined && lastTouch.get(c.coordKey) === i) settle(c.coordKey)
      release(c)
    })
    // The asserter index entries of the new registers: one per asserter for the batch.
    working.finish()
    history.finish()
    // One update for the batch: its upper levels are rewritten once.
    if (changes.length > 0) ctx.trees[store].update(changes)
    // appendEntries opens a reverse cursor for the last ledger key even for no entries (about
    // 30 µs per call, `bench/call-probe.ts`), and only revocations write any.
    const ledgerEntries = ledger.length === 0 ? 0 : appendEntries(ctx, ledger).length
    return { changed: changes.length > 0, ledgerEntries }
  }
  // Every batch commits synchronously on this thread. lmdb-js's asynchronous commit (a child
  // transaction on its write thread) that fails on a full disk rejects with a bare "Commit failed"
  // and also rejects a second promise no caller holds, which ends the process; later batches then
  // alternate between success and failure and close() never resolves (lmdb 3.5.6, measured on a
  // full tmpfs). A synchronous commit throws the cause (EIO) here and leaves nothing behind.
  const result = ctx.write(write)
  for (const subject of subjects) refreshSubject(ctx, subject)
  if (latest !== undefined) {
    try {
      ctx.clock.update(latest)
    } catch {
      // The drift guard passed moments ago; a clock that cannot move that far yet keeps its time.
    }
  }
  return result
}
