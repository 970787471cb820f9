import { acquireSharedVerifier, networkTag } from '@provsync/crdt'
import { type MerkleTree, openMerkleTree } from '@provsync/merkle'
import type { RootDatabase } from 'lmdb'
import { Authority, NO_REVOCATIONS, type RevocationSource } from '../authority.js'
import { copy } from '../bytes.js'
import type { Grant, Right } from '../codec/types.js'
import { type ArtifactRefusal, InvalidArgumentError, REFUSAL_REASONS, StoreClosedError } from '../errors.js'
import type { Materialized } from '../materialize.js'
import { coveredByAny } from '../scope.js'
import type { CurrentResult } from '../select.js'
import { type ApplyOptions, type ApplyOutcome, applyBatch, reloadAuthority } from './apply.js'
import type { ApplyCounters, Context } from './context.js'
import { migrateSchema1, openDatabases, openEnvironment, recordAt, SCHEMA_VERSION } from './db.js'
import { changesSince, type ViewChange } from './history.js'
import { applyTrust, pruneExpiredVersions, refreshAll } from './maintenance.js'
import {
  type CurrentOptions,
  current,
  type HistoryEntry,
  history,
  type ListEntry,
  list,
  materializeFamily,
} from './queries.js'
import { ensureTree, reloadScopesAndSeq, writeTransaction } from './view.js'

export interface ArtifactStoreOptions {
  readonly networkId: string
  /** This node's key: it stores the scopes its live `hold` grants cover. */
  readonly nodeKey: Uint8Array
  /** Operator keys of the trust bundle in force: only their grants, withdrawals and epochs count. */
  readonly trust: readonly Uint8Array[]
  /** A directory for the store's own LMDB environment... */
  readonly dataDir?: string
  /** ...or sub-databases `artifacts/*` in the caller's environment (it needs maxDbs for one tree per scope). */
  readonly env?: RootDatabase
  /** Revoked keys: crdt's `revocations` (call `refresh()` after a revocation changes). */
  readonly revocations?: RevocationSource
  /** Whether a scope is fresh (e.g. a successful sync of it recently); default: always fresh. */
  readonly freshness?: (scope: string) => boolean
  readonly wallClock?: () => number
  readonly verifyThreads?: number
  /** Exact scopes stored at most (one Merkle tree each); default 256. */
  readonly maxScopes?: number
  /** Records per apply call; default 10,000. */
  readonly maxBatch?: number
  readonly noSync?: boolean
  /** Families refused when they arrive expired; default `decision`. */
  readonly refuseExpiredFamilies?: Iterable<string>
  /** Test hook: `beforeCommit` runs inside each write transaction (throw to abort it). */
  readonly faults?: { readonly beforeCommit?: () => void }
}

export interface ArtifactStore {
  readonly networkId: string
  readonly nodeKey: Uint8Array
  /** Applies records of any kind (operator records first), atomically per call. */
  apply(records: readonly Uint8Array[], options: ApplyOptions): Promise<ApplyOutcome[]>
  current(scope: string, family: string, name: string, options?: CurrentOptions): CurrentResult
  history(scope: string, family: string, name: string): HistoryEntry[]
  list(scope: string, options?: { family?: string } & CurrentOptions): ListEntry[]
  materialize(scope: string, family: string): Materialized
  /** The append-only log of current-version changes after sequence number `since`. */
  viewChanges(since?: number, limit?: number): ViewChange[]
  /** Exact scopes this node stores. */
  scopes(): string[]
  /** Root of each stored exact scope covered by one of `prefixes` (default: every stored scope). */
  scopeRoots(prefixes?: readonly string[]): Map<string, Uint8Array>
  /** The Merkle tree of an exact scope (keys: record hashes of its admissible artifacts). */
  tree(scope: string): MerkleTree | undefined
  /** The tree of operator records (grants, withdrawals, epochs), replicated to every node. */
  operatorTree(): MerkleTree
  /** Encoded records of exact scope `scope` by tree key; undefined for a key not of that scope. */
  getScopeRecords(scope: string, keys: readonly Uint8Array[]): (Uint8Array | undefined)[]
  /** Encoded operator records by tree key. */
  getOperatorRecords(keys: readonly Uint8Array[]): (Uint8Array | undefined)[]
  /** Re-derives after revocations or time moved (grant expiry); drops scopes no longer held. */
  refresh(): number
  /**
   * Puts a new trust bundle's operator keys in force (after `followTrustChain` accepted it):
   * operator records and every current version are re-derived. Returns the view changes.
   */
  setTrust(keys: readonly Uint8Array[]): number
  /** Deletes expired versions of `family` (the decision cache prunes `decision`). */
  pruneExpired(family: string): number
  /** The minimum authority epoch of `scope` (what a publisher signs at, at least). */
  minEpoch(scope: string): bigint
  /** `subject`'s grant of `right` in force now (not withdrawn, expired or revoked), or undefined. */
  liveGrant(subject: Uint8Array, right: Right): Grant | undefined
  readonly counters: Readonly<ApplyCounters>
  close(): Promise<void>
}

function makeContext(options: ArtifactStoreOptions, env: RootDatabase): Context {
  const dbs = openDatabases(env)
  const refused = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<ArtifactRefusal, number>
  return {
    dbs,
    networkId: options.networkId,
    tag: networkTag(options.networkId),
    nodeKey: options.nodeKey,
    authority: new Authority(options.trust),
    revocations: options.revocations ?? NO_REVOCATIONS,
    wallClock: options.wallClock ?? Date.now,
    freshness: options.freshness ?? (() => true),
    refuseExpiredFamilies: new Set(options.refuseExpiredFamilies ?? ['decision']),
    verifier: acquireSharedVerifier(options.verifyThreads),
    maxScopes: options.maxScopes ?? 256,
    maxBatch: options.maxBatch ?? 10_000,
    trees: new Map(),
    operatorTree: openMerkleTree(env, { name: 'artifacts/operator', keysAreHashes: true }),
    counters: { applied: 0, duplicate: 0, refused },
    publisherStatus: new Map(),
    viewCache: new Map(),
    pendingLeaves: new Map(),
    storedScopes: new Set(),
    faults: options.faults,
    seq: 0,
    closed: false,
  }
}

function checkOptions(options: ArtifactStoreOptions): void {
  if (!(options?.nodeKey instanceof Uint8Array) || options.nodeKey.length !== 32) {
    throw new InvalidArgumentError('nodeKey', 'expected a 32-byte key')
  }
  if (typeof options.networkId !== 'string' || options.networkId.length === 0) {
    throw new InvalidArgumentError('networkId', 'expected a non-empty string')
  }
  if ((options.dataDir === undefined) === (options.env === undefined)) {
    throw new InvalidArgumentError('dataDir', 'give exactly one of dataDir and env')
  }
}

/** Opens the store: its sub-databases, one tree per stored scope, operator records into memory. */
export async function openArtifactStore(options: ArtifactStoreOptions): Promise<ArtifactStore> {
  checkOptions(options)
  const maxScopes = options.maxScopes ?? 256
  const ownEnv = options.env === undefined
  const env = options.env ?? openEnvironment(options.dataDir!, { noSync: options.noSync, maxScopes })
  const ctx = makeContext(options, env)
  const stored = ctx.dbs.meta.get('schema')
  if (stored !== undefined && stored !== 1 && stored !== SCHEMA_VERSION) {
    throw new InvalidArgumentError('dataDir', `schema ${String(stored)}, this code reads ${SCHEMA_VERSION}`)
  }
  if (stored !== SCHEMA_VERSION) {
    ctx.dbs.env.transactionSync(() => {
      if (stored === 1) migrateSchema1(ctx.dbs)
      ctx.dbs.meta.putSync('schema', SCHEMA_VERSION)
    })
  }
  reloadScopesAndSeq(ctx)
  for (const scope of ctx.storedScopes) ensureTree(ctx, scope)
  reloadAuthority(ctx)
  // Revocations or time may have moved while closed: re-derive (publisher statuses start unknown).
  writeTransaction(
    ctx,
    () => refreshAll(ctx),
    () => {},
  )
  return makeStore(ctx, ownEnv, options.trust)
}

function makeStore(ctx: Context, ownEnv: boolean, initialTrust: readonly Uint8Array[]): ArtifactStore {
  let trust = [...initialTrust]
  /** Wraps a method so it throws StoreClosedError once the store is closed. */
  const open =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      if (ctx.closed) throw new StoreClosedError()
      return fn(...args)
    }
  const write = <T>(fn: () => T): T => writeTransaction(ctx, fn, () => reloadAuthority(ctx))
  const byKey = (keys: readonly Uint8Array[], tree: MerkleTree | undefined) =>
    keys.map((k) => {
      const bytes = tree?.get(k) === undefined ? undefined : recordAt(ctx.dbs, k)
      return bytes === undefined ? undefined : copy(bytes)
    })
  return {
    networkId: ctx.networkId,
    nodeKey: ctx.nodeKey,
    counters: ctx.counters,
    apply: open(async (records: readonly Uint8Array[], options: ApplyOptions) =>
      applyBatch(ctx, records, options),
    ),
    current: open((scope: string, family: string, name: string, options?: CurrentOptions) =>
      current(ctx, scope, family, name, options),
    ),
    history: open((scope: string, family: string, name: string) => history(ctx, scope, family, name)),
    list: open((scope: string, options?: { family?: string } & CurrentOptions) => list(ctx, scope, options)),
    materialize: open((scope: string, family: string) => materializeFamily(ctx, scope, family)),
    viewChanges: open((since?: number, limit?: number) => changesSince(ctx, since, limit)),
    scopes: open(() => [...ctx.storedScopes].sort()),
    scopeRoots: open((prefixes?: readonly string[]) => {
      const out = new Map<string, Uint8Array>()
      for (const scope of ctx.storedScopes) {
        if (prefixes === undefined || coveredByAny(prefixes, scope))
          out.set(scope, ctx.trees.get(scope)!.root())
      }
      return out
    }),
    tree: open((scope: string) => (ctx.storedScopes.has(scope) ? ctx.trees.get(scope) : undefined)),
    operatorTree: open(() => ctx.operatorTree),
    getScopeRecords: open((scope: string, keys: readonly Uint8Array[]) => byKey(keys, ctx.trees.get(scope))),
    getOperatorRecords: open((keys: readonly Uint8Array[]) => byKey(keys, ctx.operatorTree)),
    refresh: open(() => write(() => refreshAll(ctx))),
    setTrust: open((keys: readonly Uint8Array[]) => {
      const previous = trust
      const changed = writeTransaction(
        ctx,
        () => applyTrust(ctx, keys),
        () => {
          ctx.authority.setTrusted(previous)
          reloadAuthority(ctx)
        },
      )
      trust = [...keys]
      return changed
    }),
    minEpoch: open((scope: string) => ctx.authority.minEpoch(scope)),
    liveGrant: open((subject: Uint8Array, right: Right) =>
      ctx.authority.liveGrant(subject, right, ctx.wallClock(), ctx.revocations),
    ),
    pruneExpired: open((family: string) => write(() => pruneExpiredVersions(ctx, family))),
    async close() {
      if (ctx.closed) return
      ctx.closed = true
      await ctx.verifier.close()
      if (ownEnv) await ctx.dbs.env.close()
    },
  }
}
