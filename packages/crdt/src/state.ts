import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  createClock,
  decodeTimestamp,
  encodeTimestamp,
  type HighWaterMarkStore,
  type HybridLogicalClock,
  type Timestamp,
} from '@provsync/hlc'
import { type MerkleTree, openMerkleTree } from '@provsync/merkle'
import type { Database } from 'lmdb'
import { copyBytes, equalBytes, toHex } from './bytes.js'
import type { Coordinate } from './codec/coordinate.js'
import {
  type Assertion,
  encodeRevocation,
  encodeSupersession,
  recordHash,
  type SubjectKind,
  type Supersession,
  type SupersessionKind,
  signRevocation,
  signSupersession,
} from './codec/records.js'
import { type Context, isRevoked, RevokedKeys, STORE_NAMES, type StoreName } from './context.js'
import { type Databases, migrate, openDatabases, openEnvironment, VIEW_COUNT } from './db.js'
import {
  coordinateHistory,
  decodeHistory,
  type HistoryEntry,
  lastKey,
  publicEntry,
  readCoordinateEntry,
} from './durability.js'
import {
  InvalidArgumentError,
  type RecordRefusedError,
  type RefusalReason,
  StateClosedError,
} from './errors.js'
import { createEvidenceApi } from './evidence-api.js'
import type { GateDecision, GateOptions, GatePolicy } from './gate.js'
import {
  type ApplyOptions,
  type ApplyOutcome,
  type IngestResult,
  ingest,
  ingestPrepared,
  type PreparedBatch,
  prepare,
  signatureFails,
} from './ingest.js'
import {
  createInvalidationApi,
  type InvalidationApi,
  ingestInvalidations,
  networkedEntriesOutOfLine,
} from './invalidations.js'
import { coordinateId, isPublicKey, nodeIdFor } from './keys.js'
import {
  applyEntry,
  applyPending,
  type LedgerEntry,
  type LedgerSource,
  loadRules,
  readEntry,
  reconcileSubjects,
} from './ledger.js'
import { createLedgerApi, type LedgerApi } from './ledger-api.js'
import { warnLog } from './log.js'
import { placeAtOpen, type RecordRange, type StoredRecord, storedRecords } from './membership.js'
import { type ApplyPath, type ObservedBatch, Observers, type StateObserver } from './observers.js'
import { decodeCoordinateEntry } from './persisted.js'
import { pollReaders, type ReaderHealth, ReaderWatch } from './reader-health.js'
import { loadRevoked, revocationsOf, type StoredRevocation } from './revocations.js'
import { generateSeed, type Signer, signerFromSeed } from './signing.js'
import { createSupersessionQueries, type SupersessionQueries } from './supersessions.js'
import { replaceTrust } from './trust-rotation.js'
import { acquireSharedVerifier, type BatchVerifier } from './verify-pool.js'
import type { AssertionEvidence, Component, LocalEvidence } from './view.js'
import { guardWrites, type WriteGuard, type WriteHealth, writeGuardOptions } from './write-health.js'

export interface NodeStateOptions {
  /** Data directory; one LMDB environment lives in it. */
  readonly dataDir: string
  /** Records of another network id never verify here. */
  readonly networkId: string
  /**
   * This node's Ed25519 key: a 32-byte seed (or 64-byte seed ‖ public key, as libp2p keeps it).
   * Default: a key created on first open and kept in the database's metadata.
   */
  readonly seed?: Uint8Array
  /** Operator keys whose revocations this node obeys (the trust bundle). */
  readonly trust?: readonly Uint8Array[]
  /** HLC drift guard for incoming records; default 60 s. */
  readonly maxDriftMs?: number
  /** Wall clock for the HLC (tests). */
  readonly wallClock?: () => number
  /** Worker threads for signature verification; default one per core beyond the first (max 3). */
  readonly verifyThreads?: number
  /**
   * Skip the fsync at each commit: for simulations and tests only. A process crash loses
   * nothing, but a machine crash may lose the last commits or corrupt the database.
   */
  readonly noSync?: boolean
  /**
   * Verify the signature of every record handed in, also of a byte-identical copy of a record the
   * store holds (verified when it was applied); default false: such a copy is not verified again.
   */
  readonly verifyHeldCopies?: boolean
  /** Most records one `apply` call accepts; default 10,000. */
  readonly maxBatch?: number
  /**
   * Fault injection for crash tests. `afterLedgerAppend` runs after a ledger entry is committed
   * and before its effects are applied; a test process can kill itself there.
   */
  readonly faults?: { readonly afterLedgerAppend?: () => void }
  /** While writes are suspended (disk full, I/O error), how often a probe write is tried; default 5,000 ms. */
  readonly writeProbeMs?: number
  /** After a full disk, the free bytes the probe waits for before it tries; default 64 MiB. */
  readonly writeResumeFreeBytes?: number
}

export interface AdvanceResult {
  /** 'superseded' when local evidence already holds this run or a higher one. */
  readonly status: 'applied' | 'superseded'
  readonly local: LocalEvidence
  readonly component: Component | undefined
  /** Tree key of this node's own signed assertion. */
  readonly key: Uint8Array
}

/** What one commit stored: see `NodeState.onApplied`. */
export interface AppliedBatch {
  readonly store: StoreName
  /** The peer key the records came from (this node's own key for local acts). */
  readonly from: Uint8Array
  readonly records: ReadonlyArray<{ readonly key: Uint8Array; readonly bytes: Uint8Array }>
}

export interface ViewEntry {
  readonly coordinate: Coordinate
  readonly component: Component
}

export interface RevokeRequest {
  readonly subject: Uint8Array
  readonly subjectKind: SubjectKind
  readonly reason: string
  readonly correlationId?: string
}

export interface NodeState {
  readonly networkId: string
  readonly publicKey: Uint8Array
  readonly clock: HybridLogicalClock
  tree(store: StoreName): MerkleTree
  getRecords(store: StoreName, keys: Uint8Array[]): Array<Uint8Array | undefined>
  /**
   * Verifies every record (encoding, bounds, network, HLC drift, trust, revoked signer,
   * signature), then applies the valid ones in one transaction with their tree updates and view
   * changes. Outcomes are per record, in order.
   */
  apply(store: StoreName, records: Uint8Array[], options: ApplyOptions): Promise<ApplyOutcome[]>
  /**
   * The first half of {@link apply}, for a caller that pipelines: copies the records, decodes and
   * checks each one (encoding, canonical form, bounds, network, HLC drift, trust, revoked signer)
   * and starts verifying their signatures on the shared verify pool, then returns at once with a
   * handle for {@link applyVerified}. Touches no store. Not for the `invalidations` store.
   */
  verifyRecords(store: VerifiableStore, records: readonly Uint8Array[]): VerifiedRecords
  /**
   * The second half of {@link apply}: applies records {@link verifyRecords} checked and verified
   * (waiting for, or helping with, verifications still running), with the same outcomes, the same
   * provenance (`from`) and the same transaction as `apply`. A handle is used once, by the state
   * that made it; any other value is refused with InvalidArgumentError before anything is written.
   */
  applyVerified(verified: VerifiedRecords, options: ApplyOptions): Promise<ApplyOutcome[]>
  /**
   * What {@link applyVerified} would refuse of a handle before writing anything: the records its
   * checks refused (with their reason) and those whose signature does not verify (`bad-signature`),
   * by index, in order. Waits for (and helps with) the verifications still running; writes nothing
   * and leaves the handle to applyVerified (which checks a revoked signer again in its transaction).
   * Lets a caller that must refuse a whole batch on a bad signature (a bundle import) decide before
   * its first write without verifying twice.
   */
  refusalsOf(verified: VerifiedRecords): { readonly index: number; readonly reason: RefusalReason }[]
  onChange(listener: (store: StoreName) => void): () => void
  /**
   * Called after each commit with the records it stored (outcome `applied`) and the key they came
   * from: `apply` and `put` calls, and this node's own assertions. Lets an embedder index what
   * records reference (evidence blob ids) and where each came from.
   */
  onApplied(listener: (batch: AppliedBatch) => void): () => void
  /**
   * Watches every batch this state applies, by whatever path (`apply`, `applyVerified`, and the
   * state's own writes: `supersessions.put`/`supersede`, `revocations.revoke`/`reinstate`, the
   * `invalidations` API, `advanceVerified`'s assertion): `applying` before its commit, then
   * `applied` with its source, store, every record handed in and every outcome, refused ones
   * included, once per batch. Returns the function that stops watching. The documented way to
   * watch the store: replacing `apply` or `applyVerified` on a state misses any new path into it.
   */
  observe(observer: StateObserver): () => void

  /**
   * Records this node's own verification of `run` and signs an assertion peers can pull; with
   * `evidence` (a blob id) the assertion is a version-2 record that carries it.
   */
  advanceVerified(
    coordinate: Coordinate,
    run: bigint,
    options?: { method?: string; evidence?: Uint8Array },
  ): AdvanceResult
  readonly assertions: {
    get(asserter: Uint8Array, coordinate: Coordinate): Assertion | undefined
    evidence(coordinate: Coordinate): AssertionEvidence[]
  }
  readonly supersessions: SupersessionQueries & {
    /** Verifies and stores a signed supersession; throws the refusal as a typed error. */
    put(record: Uint8Array | Supersession): Promise<ApplyOutcome>
    /** Signs a supersession with this node's key and stores it. */
    supersede(fields: {
      target: Uint8Array
      kind: SupersessionKind
      reason: string
      replacement?: Uint8Array
    }): Promise<Supersession>
  }
  /**
   * Every stored record of a store in tree-key order, with its tree key, leaf value and whether
   * it belongs in the tree (a revoked signer's records stay stored but leave the tree), so an
   * audit can find records missing from the tree. Pages with `start` (inclusive) and `limit`.
   */
  records(store: StoreName, range?: RecordRange): Iterable<StoredRecord>
  readonly view: {
    get(coordinate: Coordinate): Component | undefined
    local(coordinate: Coordinate): LocalEvidence | undefined
    entries(): Iterable<ViewEntry>
    /** How many coordinates have a component (what `entries()` yields), kept in the metadata. */
    count(): number
  }
  readonly history: {
    since(seq?: number, limit?: number): HistoryEntry[]
    latestSeq(): number
    /** One coordinate's entries after sequence number `since`, oldest first; reads an index. */
    byCoordinate(coordinate: Coordinate, options?: { since?: number; limit?: number }): HistoryEntry[]
  }
  gate(coordinate: Coordinate, run: bigint, policy?: GatePolicy, options?: GateOptions): GateDecision
  readonly revocations: {
    /** Signs with `operator` (which must be in the trust bundle) and applies it here. */
    revoke(request: RevokeRequest, operator: Signer): Promise<LedgerEntry>
    reinstate(request: RevokeRequest, operator: Signer): Promise<LedgerEntry>
    isRevoked(key: Uint8Array): boolean
    records(subject: Uint8Array): StoredRevocation[]
  }
  readonly ledger: LedgerApi
  /** Networked invalidation: operator-signed invalidations and lifts (the `invalidations` store). */
  readonly invalidations: InvalidationApi
  /**
   * Whether the state takes writes. After a failed write (disk full, I/O error, map full) it
   * refuses new records with WritesSuspendedError, keeps answering reads and the gate, and
   * resumes by itself once a periodic probe write commits.
   */
  writeHealth(): WriteHealth
  /**
   * Signatures this state sent for verification since it opened (`verified`), and those it did
   * not verify because the record was a byte-identical copy of one the store holds (`skipped`).
   */
  verifyCounts(): { readonly verified: number; readonly skipped: number }
  /**
   * The environment's read snapshots: the oldest one's lag in transactions and how long the checks
   * have seen it held (`reader-health.ts`). Reads LMDB's reader table: per scrape, not per write.
   */
  readerHealth(): ReaderHealth
  /** Fires when writes stop or resume. */
  onWriteHealth(listener: (health: WriteHealth) => void): () => void
  /**
   * Copies the LMDB environment into the directory `target` (created if missing) as of one read
   * transaction: stores, trees, view, history and ledger of one instant. Opening a state on the
   * copy restores it (the ledger replays at open). Resolves with the size of the copy's data file.
   */
  backup(target: string): Promise<{ readonly bytes: number }>
  /**
   * Replaces the operator keys whose revocations and invalidations this node obeys (a trust-bundle
   * rotation): the same re-derivation a restart with `keys` as `trust` does at open (trust-rotation.ts).
   * Resolves false when `keys` are the set in force.
   */
  setTrust(keys: readonly Uint8Array[]): Promise<boolean>
  close(): Promise<void>
}

/** The stores whose records {@link NodeState.verifyRecords} takes. */
export type VerifiableStore = Exclude<StoreName, 'invalidations'>

/**
 * A batch being verified for {@link NodeState.applyVerified}: an opaque handle (the checked
 * records and their verification stay inside the state that made it, never in this object).
 */
export interface VerifiedRecords {
  readonly store: VerifiableStore
  /** How many records were handed in (refused ones included: they keep their index). */
  readonly count: number
}

/** A clock high-water mark kept in the node's metadata database. */
export function lmdbHighWaterMarkStore(meta: Database<unknown, string>, key = 'hlc'): HighWaterMarkStore {
  return {
    load() {
      const bytes = meta.get(key) as Uint8Array | undefined
      return bytes === undefined ? undefined : decodeTimestamp(bytes)
    },
    save(ts: Timestamp) {
      meta.putSync(key, encodeTimestamp(ts))
    },
  }
}

const DEFAULT_MAX_BATCH = 10_000

/** The same options under the name the sync layer imports. */
export type OpenNodeStateOptions = NodeStateOptions

export async function openNodeState(options: NodeStateOptions): Promise<NodeState> {
  if (typeof options.networkId !== 'string' || options.networkId.length === 0) {
    throw new InvalidArgumentError('networkId', 'must be a non-empty string')
  }
  const env = openEnvironment(options.dataDir, { noSync: options.noSync === true })
  let dbs: Databases
  try {
    dbs = openDatabases(env)
    migrate(dbs)
    const storedNetwork = dbs.meta.get('networkId') as string | undefined
    if (storedNetwork !== undefined && storedNetwork !== options.networkId) {
      throw new InvalidArgumentError(
        'networkId',
        `the database belongs to network ${JSON.stringify(storedNetwork)}`,
      )
    }
    if (storedNetwork === undefined) dbs.meta.putSync('networkId', options.networkId)
  } catch (error) {
    await env.close()
    throw error
  }
  let seed = options.seed
  if (seed === undefined) {
    seed = dbs.meta.get('identitySeed') as Uint8Array | undefined
    if (seed === undefined) {
      seed = generateSeed()
      dbs.meta.putSync('identitySeed', seed)
    }
  }
  const signer = signerFromSeed(seed)
  const clock = createClock({
    nodeId: nodeIdFor(signer.publicKey),
    store: lmdbHighWaterMarkStore(dbs.meta),
    ...(options.maxDriftMs === undefined ? {} : { maxDriftMs: options.maxDriftMs }),
    ...(options.wallClock === undefined ? {} : { wallClock: options.wallClock }),
  })
  const trees = Object.fromEntries(
    STORE_NAMES.map((name) => [name, openMerkleTree(env, { name, keysAreHashes: true })]),
  ) as Record<StoreName, MerkleTree>
  const trust = new Set(
    (options.trust ?? []).map((key) => {
      if (!isPublicKey(key)) throw new InvalidArgumentError('trust', 'every key must be 32 bytes')
      return toHex(key)
    }),
  )
  // The recovery and placement below write unguarded: a write failure there fails the open itself.
  let write = <T>(fn: () => T): T => env.transactionSync(fn)
  const ctx: Context = {
    dbs,
    networkId: options.networkId,
    signer,
    clock,
    trees,
    trust,
    revoked: new RevokedKeys(),
    rules: [],
    verification: {
      verifyHeldCopies: options.verifyHeldCopies === true,
      verified: 0,
      skipped: 0,
      missesSinceHit: 0,
      sampled: 0,
    },
    hints: { history: undefined, asserters: new Map() },
    write: (fn) => write(fn),
  }
  loadRevoked(ctx)
  loadRules(ctx)
  applyPending(ctx)
  reconcileSubjects(ctx)
  for (const entry of networkedEntriesOutOfLine(ctx)) applyEntry(ctx, entry)
  placeAtOpen(ctx)
  const writes = guardWrites(env, dbs.meta, writeGuardOptions(options))
  write = writes.transaction
  return createNodeState(ctx, options, writes)
}

function createNodeState(ctx: Context, options: NodeStateOptions, writes: WriteGuard): NodeState {
  const { dbs, networkId, signer } = ctx
  const verifier: BatchVerifier = acquireSharedVerifier(options.verifyThreads)
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH
  const listeners = new Set<(store: StoreName) => void>()
  const appliedListeners = new Set<(batch: AppliedBatch) => void>()
  const observers = new Observers()
  let closed = false
  const inFlight = new Set<Promise<unknown>>()
  const selfHex = toHex(signer.publicKey)
  const readerWatch = new ReaderWatch(dbs.env)
  // A check a minute (~20 µs) times an old snapshot without scrapes and logs it once at warn.
  const stopReaderPoll = pollReaders(readerWatch, (line) => warnLog('%s (%s)', line, options.dataDir))

  const checkOpen = () => {
    if (closed) throw new StateClosedError()
  }
  const notify = (store: StoreName) => {
    for (const listener of listeners) {
      try {
        listener(store)
      } catch {
        // A listener's failure is its own; the commit already happened.
      }
    }
  }

  const emitApplied = (batch: AppliedBatch) => {
    if (batch.records.length === 0) return
    for (const listener of appliedListeners) {
      try {
        listener(batch)
      } catch {
        // As for onChange: the commit already happened.
      }
    }
  }

  function watchRoots<T>(fn: () => T): T {
    const before = STORE_NAMES.map((store) => ctx.trees[store].root())
    const out = fn()
    STORE_NAMES.forEach((store, i) => {
      if (!equalBytes(before[i], ctx.trees[store].root())) notify(store)
    })
    return out
  }

  const checkBatch = (store: StoreName, records: readonly Uint8Array[]) => {
    checkOpen()
    checkStore(store)
    if (!Array.isArray(records)) throw new InvalidArgumentError('records', 'must be an array')
    if (records.length > maxBatch) {
      throw new InvalidArgumentError('records', `${records.length} records, at most ${maxBatch} per batch`)
    }
  }
  // Handles of verifyRecords, each used once by this state, with the records handed in (observers
  // are shown every one of them, and a prepared batch keeps only those its checks passed).
  const prepared = new WeakMap<VerifiedRecords, { batch: PreparedBatch; handed: readonly Uint8Array[] }>()

  async function run(
    store: StoreName,
    records: readonly Uint8Array[] | PreparedBatch,
    applyOptions: ApplyOptions,
    via: ApplyPath = 'put',
    handed?: readonly Uint8Array[],
  ) {
    if (Array.isArray(records)) checkBatch(store, records)
    else checkOpen()
    if (!isPublicKey(applyOptions?.from))
      throw new InvalidArgumentError('from', 'must be a 32-byte public key')
    writes.check()
    const isSelf = toHex(applyOptions.from) === selfHex
    const source: LedgerSource = isSelf
      ? { type: 'local' }
      : { type: 'peer', peer: copyBytes(applyOptions.from) }
    const observed = { store, via, from: applyOptions.from, source: source.type } as const
    if (observers.size > 0)
      observers.applying({
        ...observed,
        count: Array.isArray(records) ? records.length : (records as PreparedBatch).count,
      })
    const ingesting = !Array.isArray(records)
      ? ingestPrepared(ctx, records as PreparedBatch, { ...applyOptions, source })
      : store === 'invalidations'
        ? ingestInvalidations(ctx, records, { ...applyOptions, source })
        : ingest(ctx, verifier, store, records, { ...applyOptions, source })
    // close() waits for commits in flight, so none lands on a closed environment.
    inFlight.add(ingesting)
    const result = await ingesting.finally(() => inFlight.delete(ingesting))
    // Closed while this batch committed: it is stored, and a ledger entry it appended is
    // applied by the recovery at the next open.
    if (!closed) afterCommit(store, records, applyOptions.from, result)
    if (observers.size > 0) {
      observers.applied({ ...observed, records: handedRecords(records, handed), outcomes: result.outcomes })
    }
    return result
  }

  function afterCommit(
    store: StoreName,
    records: readonly Uint8Array[] | PreparedBatch,
    from: Uint8Array,
    result: IngestResult,
  ): void {
    if (result.ledgerAppended > 0) {
      options.faults?.afterLedgerAppend?.()
      watchRoots(() => applyPending(ctx))
    }
    if (result.changed) notify(store)
    if (appliedListeners.size > 0) {
      emitApplied({ store, from, records: appliedRecords(records, result.outcomes) })
    }
  }

  /** `advanceVerified` stored this node's own assertion: onApplied listeners and observers see it. */
  const ownAssertion = (batch: AppliedBatch) => {
    emitApplied(batch)
    if (observers.size === 0) return
    const observed: ObservedBatch = {
      store: batch.store,
      via: 'put',
      from: batch.from,
      source: 'local',
      records: batch.records.map((r) => r.bytes),
      outcomes: batch.records.map((r) => ({ status: 'applied', key: r.key })),
    }
    observers.applied(observed)
  }

  async function signAndApplyRevocation(
    action: 'revoke' | 'reinstate',
    request: RevokeRequest,
    operator: Signer,
  ) {
    checkOpen()
    if (!isPublicKey(request?.subject))
      throw new InvalidArgumentError('subject', 'must be a 32-byte public key')
    const hlc = ctx.clock.now()
    const record = signRevocation(
      { action, subjectKind: request.subjectKind, subject: request.subject, reason: request.reason, hlc },
      operator,
      networkId,
    )
    const bytes = encodeRevocation(record, networkId)
    const result = await run('revocations', [bytes], {
      from: signer.publicKey,
      ...(request.correlationId === undefined ? {} : { correlationId: request.correlationId }),
    })
    firstRefusal(result)
    const seq = dbs.ledgerIds.get(recordHash(bytes))!
    return readEntry(ctx, seq)!
  }

  return {
    networkId,
    publicKey: signer.publicKey,
    clock: ctx.clock,
    tree(store) {
      checkStore(store)
      return ctx.trees[store]
    },
    getRecords(store, keys) {
      checkOpen()
      checkStore(store)
      const db = recordsDb(dbs, store)
      return keys.map((key) => {
        if (!(key instanceof Uint8Array) || key.length !== 32) return undefined
        const bytes = db.get(key)
        return bytes === undefined ? undefined : copyBytes(bytes)
      })
    },
    records(store, range = {}) {
      checkOpen()
      checkStore(store)
      if (range.start !== undefined && !(range.start instanceof Uint8Array && range.start.length === 32)) {
        throw new InvalidArgumentError('start', 'must be a 32-byte tree key')
      }
      if (range.limit !== undefined) checkCount('limit', range.limit)
      return storedRecords(ctx, store, range)
    },
    async apply(store, records, applyOptions) {
      return (await run(store, records, applyOptions, 'apply')).outcomes
    },
    verifyRecords(store, records) {
      checkBatch(store, records)
      if ((store as StoreName) === 'invalidations') {
        throw new InvalidArgumentError('store', 'invalidations are applied with apply(), not verifyRecords()')
      }
      const batch = prepare(ctx, verifier, store, records, { copy: true })
      const handle: VerifiedRecords = Object.freeze({ store, count: records.length })
      prepared.set(handle, { batch, handed: records })
      return handle
    },
    refusalsOf(verified) {
      checkOpen()
      const batch = prepared.get(verified)?.batch
      if (batch === undefined) {
        throw new InvalidArgumentError(
          'verified',
          'not a handle of verifyRecords() on this node state, or already applied',
        )
      }
      const out = [...batch.refusals].map(([index, error]) => ({ index, reason: error.reason }))
      for (const candidate of batch.candidates) {
        if (signatureFails(batch.job, candidate))
          out.push({ index: candidate.index, reason: 'bad-signature' })
      }
      return out.sort((a, b) => a.index - b.index)
    },
    async applyVerified(verified, applyOptions) {
      const handle = prepared.get(verified)
      if (handle === undefined) {
        throw new InvalidArgumentError(
          'verified',
          'not a handle of verifyRecords() on this node state, or already applied',
        )
      }
      if (!isPublicKey(applyOptions?.from))
        throw new InvalidArgumentError('from', 'must be a 32-byte public key')
      prepared.delete(verified)
      const { batch, handed } = handle
      return (await run(batch.store, batch, applyOptions, 'applyVerified', handed)).outcomes
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    onApplied(listener) {
      appliedListeners.add(listener)
      return () => appliedListeners.delete(listener)
    },
    observe: (observer) => observers.add(observer),

    ...createEvidenceApi(ctx, { checkOpen, notify, applied: ownAssertion }),
    supersessions: {
      ...createSupersessionQueries(ctx),
      async put(record) {
        const bytes = record instanceof Uint8Array ? record : encodeSupersession(record, networkId)
        const result = await run('supersessions', [bytes], { from: signer.publicKey })
        firstRefusal(result)
        return result.outcomes[0]!
      },
      async supersede(fields) {
        checkOpen()
        const record = signSupersession({ ...fields, hlc: ctx.clock.now() }, signer, networkId)
        const result = await run('supersessions', [encodeSupersession(record, networkId)], {
          from: signer.publicKey,
        })
        firstRefusal(result)
        return record
      },
    },
    view: createViewApi(ctx, checkOpen),
    history: createHistoryApi(ctx, checkOpen),
    revocations: {
      revoke: (request, operator) => signAndApplyRevocation('revoke', request, operator),
      reinstate: (request, operator) => signAndApplyRevocation('reinstate', request, operator),
      isRevoked: (key) => isRevoked(ctx, key),
      records: (subject) => revocationsOf(ctx, subject),
    },
    ledger: createLedgerApi(ctx, {
      checkOpen,
      notify,
      watchRoots,
      afterLedgerAppend: () => options.faults?.afterLedgerAppend?.(),
    }),
    invalidations: createInvalidationApi(ctx, (records, o) => run('invalidations', records, o), checkOpen),
    writeHealth: () => writes.health(),
    readerHealth: () => {
      checkOpen()
      return readerWatch.check()
    },
    verifyCounts: () => ({ verified: ctx.verification.verified, skipped: ctx.verification.skipped }),
    onWriteHealth: (listener) => writes.onChange(listener),
    async backup(target) {
      checkOpen()
      if (typeof target !== 'string' || target.length === 0)
        throw new InvalidArgumentError('target', 'must be a directory path')
      await mkdir(target, { recursive: true, mode: 0o700 })
      await dbs.env.backup(target, false)
      return { bytes: (await stat(join(target, 'data.mdb'))).size }
    },
    setTrust: (keys) => replaceTrust(ctx, keys, { inFlight, watchRoots, checkOpen }),
    async close() {
      if (closed) return
      closed = true
      writes.close()
      stopReaderPoll()
      await Promise.allSettled(inFlight)
      await verifier.close()
      await dbs.env.close()
    },
  }
}

function checkCount(name: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new InvalidArgumentError(name, 'must be a non-negative integer')
  }
}

/** The materialized view: each coordinate's component and this node's own evidence. */
function createViewApi(ctx: Context, checkOpen: () => void): NodeState['view'] {
  const { dbs } = ctx
  return {
    get(coordinate) {
      checkOpen()
      return readCoordinateEntry(ctx, coordinateId(coordinate))?.component
    },
    local(coordinate) {
      checkOpen()
      return readCoordinateEntry(ctx, coordinateId(coordinate))?.local
    },
    *entries() {
      checkOpen()
      for (const { value } of dbs.coordinates.getRange()) {
        const entry = publicEntry(decodeCoordinateEntry(value))
        if (entry.component !== undefined) yield { coordinate: entry.coordinate, component: entry.component }
      }
    },
    count() {
      checkOpen()
      return (dbs.meta.get(VIEW_COUNT) as number | undefined) ?? 0
    },
  }
}

/** The view's change history, in sequence and by coordinate. */
function createHistoryApi(ctx: Context, checkOpen: () => void): NodeState['history'] {
  const { dbs } = ctx
  return {
    since(seq = 0, limit = 10_000) {
      checkOpen()
      const out: HistoryEntry[] = []
      for (const { key, value } of dbs.history.getRange({ start: seq + 1, limit })) {
        out.push(decodeHistory(key, value))
      }
      return out
    },
    latestSeq: () => lastKey(dbs.history),
    byCoordinate(coordinate, range = {}) {
      checkOpen()
      const since = range.since ?? 0
      const limit = range.limit ?? 10_000
      checkCount('since', since)
      checkCount('limit', limit)
      return coordinateHistory(ctx, coordinateId(coordinate), since, limit)
    },
  }
}

function checkStore(store: StoreName): void {
  if (!STORE_NAMES.includes(store))
    throw new InvalidArgumentError('store', `unknown store ${JSON.stringify(store)}`)
}

function firstRefusal(result: { errors: (RecordRefusedError | undefined)[] }): void {
  const error = result.errors[0]
  if (error !== undefined) throw error
}

/** The database holding a store's records by tree key. */
function recordsDb(dbs: Databases, store: StoreName) {
  if (store === 'assertions') return dbs.asRecords
  if (store === 'supersessions') return dbs.supRecords
  return store === 'invalidations' ? dbs.invRecords : dbs.rvRecords
}

export type { ApplyOptions, ApplyOutcome }

/**
 * Every record handed in, in batch order, for observers: a prepared batch's checked records are
 * its own copies (what was verified and stored), the records its checks refused are as handed in.
 */
function handedRecords(
  records: readonly Uint8Array[] | PreparedBatch,
  handed: readonly Uint8Array[] | undefined,
): readonly Uint8Array[] {
  if (Array.isArray(records)) return records as readonly Uint8Array[]
  const out = [...(handed ?? [])]
  for (const candidate of (records as PreparedBatch).candidates) out[candidate.index] = candidate.bytes
  return out
}

/** The key and bytes of each record a batch applied, in batch order, for `onApplied` listeners. */
function appliedRecords(
  records: readonly Uint8Array[] | PreparedBatch,
  outcomes: readonly { status: string; key?: Uint8Array }[],
): { key: Uint8Array; bytes: Uint8Array }[] {
  const list = Array.isArray(records) ? (records as readonly Uint8Array[]) : undefined
  const byIndex = new Map(
    list === undefined ? (records as PreparedBatch).candidates.map((c) => [c.index, c.bytes]) : [],
  )
  return outcomes.flatMap((o, i) => {
    const bytes = o.status !== 'applied' ? undefined : (list?.[i] ?? byIndex.get(i))
    return bytes === undefined || o.key === undefined ? [] : [{ key: o.key, bytes }]
  })
}
