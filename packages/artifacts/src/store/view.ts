import { blake3 } from '@provsync/crdt'
import { type MerkleTree, openMerkleTree } from '@provsync/merkle'
import { equalBytes, toHex } from '../bytes.js'
import { isAdmissible } from '../checks.js'
import { type Decoded, decodePrivate } from '../codec/signed.js'
import { utf8 } from '../codec/text.js'
import type { Artifact } from '../codec/types.js'
import { ArtifactRefusedError } from '../errors.js'
import { compareVersions, selectWinner, type Version } from '../select.js'
import type { Context } from './context.js'
import { versionKeys, versionRange } from './db.js'
import { appendChange, type ViewCause } from './history.js'

/** The empty value of index entries (lmdb-js copies it, so one array serves every put). */
const EMPTY = new Uint8Array(0)

/** A stored version with its encoded bytes. */
export interface StoredVersion extends Version {
  readonly bytes: Uint8Array
}

/** Decodes bytes this store wrote itself (no canonical re-encode: they were checked on the way in). */
export function decodeStored(ctx: Context, bytes: Uint8Array): Decoded<Artifact> {
  // Copied (once, into a slab): lmdb-js may reuse the buffer of a read for the next one.
  return decodePrivate(bytes, ctx.networkId, ctx.tag) as Decoded<Artifact>
}

function asStored(d: Decoded<Artifact>): StoredVersion {
  return { artifact: d.record, hash: d.hash, bytes: d.bytes }
}

export function treeName(scope: string): string {
  return `artifacts/scope/${toHex(blake3(utf8(scope))).slice(0, 40)}`
}

/** The tree of an exact scope, opened (outside any write transaction) on first use. */
export function ensureTree(ctx: Context, scope: string): MerkleTree {
  let tree = ctx.trees.get(scope)
  if (tree === undefined) {
    if (ctx.trees.size >= ctx.maxScopes) {
      throw new ArtifactRefusedError('oversized', `this store holds at most ${ctx.maxScopes} scopes`)
    }
    tree = openMerkleTree(ctx.dbs.env, { name: treeName(scope), keysAreHashes: true })
    ctx.trees.set(scope, tree)
  }
  return tree
}

export function storedVersions(ctx: Context, view: Uint8Array): StoredVersion[] {
  const out: StoredVersion[] = []
  for (const { value } of ctx.dbs.versions.getRange(versionRange(view))) {
    out.push(asStored(decodeStored(ctx, value)))
  }
  return out
}

/** Entries kept in the view cache before it is emptied and refilled. */
export const MAX_VIEW_CACHE = 65_536
const textDecoder = new TextDecoder()

export function viewId(view: Uint8Array): string {
  return textDecoder.decode(view)
}

function cacheView(ctx: Context, id: string, winner: StoredVersion | null): void {
  if (ctx.viewCache.size >= MAX_VIEW_CACHE) ctx.viewCache.clear()
  ctx.viewCache.set(id, winner)
}

/** The stored winner of a view key, through the cache of decoded views. */
export function storedWinner(
  ctx: Context,
  view: Uint8Array,
  id = viewId(view),
  cacheNone = true,
): StoredVersion | undefined {
  const cached = ctx.viewCache.get(id)
  if (cached !== undefined) return cached ?? undefined
  const bytes = ctx.dbs.view.get(view)
  const winner = bytes === undefined ? undefined : asStored(decodeStored(ctx, bytes))
  if (winner !== undefined || cacheNone) cacheView(ctx, id, winner ?? null)
  return winner
}

/**
 * Runs `fn` in one write transaction. If it fails, nothing was written, and the in-memory
 * state derived during it (view cache, publisher statuses, authority) is dropped or reloaded.
 */
export function writeTransaction<T>(ctx: Context, fn: () => T, onFailure: () => void): T {
  try {
    return ctx.dbs.env.transactionSync(() => {
      const seq = ctx.seq
      const result = fn()
      flushLeaves(ctx)
      if (ctx.seq !== seq) ctx.dbs.meta.putSync('seq', ctx.seq)
      ctx.faults?.beforeCommit?.()
      return result
    })
  } catch (error) {
    reloadScopesAndSeq(ctx)
    ctx.viewCache.clear()
    ctx.pendingLeaves.clear()
    ctx.publisherStatus.clear()
    onFailure()
    throw error
  }
}

/** Reads the stored scopes and the history sequence number into memory. */
export function reloadScopesAndSeq(ctx: Context): void {
  ctx.seq = (ctx.dbs.meta.get('seq') as number | undefined) ?? 0
  ctx.storedScopes.clear()
  for (const scope of ctx.dbs.scopes.getKeys()) ctx.storedScopes.add(scope as string)
}

/** Adds `hash` to the leaves of `scope`'s tree written at the next {@link flushLeaves}. */
export function addLeaf(ctx: Context, scope: string, hash: Uint8Array): void {
  let pending = ctx.pendingLeaves.get(scope)
  if (pending === undefined) ctx.pendingLeaves.set(scope, (pending = []))
  pending.push(hash)
}

/** Writes the leaves added since the last flush, one Merkle update per scope. */
export function flushLeaves(ctx: Context): void {
  for (const [scope, hashes] of ctx.pendingLeaves) {
    ctx.trees.get(scope)!.update(hashes.map((h) => ({ key: h, valueHash: h })))
  }
  ctx.pendingLeaves.clear()
}

function setWinner(
  ctx: Context,
  view: Uint8Array,
  before: StoredVersion | undefined,
  after: StoredVersion | undefined,
  cause: ViewCause,
  id = viewId(view),
) {
  if (before?.hash !== undefined && after !== undefined && equalBytes(before.hash, after.hash)) return false
  if (before === undefined && after === undefined) return false
  if (after === undefined) ctx.dbs.view.removeSync(view)
  else ctx.dbs.view.putSync(view, after.bytes)
  // Only an entry the cache holds is updated; a name first written is decoded at its first read.
  // Caching every new winner kept each applied artifact's decoded record (~1.3 KB of heap and its
  // slab's share) alive until the map filled, copied and promoted at every scavenge: promotion
  // 41.7 → 18.5 MB and collector pauses halved over apply-threads.ts 20 (README "session 11").
  if (ctx.viewCache.has(id)) cacheView(ctx, id, after ?? null)
  appendChange(ctx, view, before, after, cause)
  return true
}

/**
 * Recomputes one (scope, family, name) from its stored versions: each version in or out of its
 * scope's tree by admissibility now, and the winner among the admissible ones. Inside a write
 * transaction. Returns whether the current version changed.
 */
export function recomputeView(ctx: Context, view: Uint8Array, cause: ViewCause): boolean {
  const now = ctx.wallClock()
  const versions = storedVersions(ctx, view)
  const admissible = new Set<StoredVersion>()
  for (const v of versions) {
    const ok = isAdmissible(v.artifact, ctx.authority, ctx.revocations, now)
    if (ok) admissible.add(v)
    const tree = ctx.trees.get(v.artifact.scope)
    if (tree === undefined) continue
    if (ok !== (tree.get(v.hash) !== undefined)) tree.update([{ key: v.hash, valueHash: ok ? v.hash : null }])
  }
  const winner = selectWinner(versions, (v) => admissible.has(v))
  return setWinner(ctx, view, storedWinner(ctx, view), winner, cause)
}

/**
 * Stores a new admissible version (checked by the caller) and advances the view if it wins. Its
 * tree leaf is the caller's ({@link addLeaf}).
 */
export function addVersion(ctx: Context, d: Decoded<Artifact>, cause: ViewCause): void {
  const a = d.record
  // Every key from the record's own bytes, into one reused buffer (valid until the next call).
  const { key, view, location, byPublisher } = versionKeys(d.bytes, d.hash, a.publisher)
  // The view id from the record's own strings: decoding the key's bytes back (viewId) twice per
  // artifact showed in the apply profile.
  const id = `${a.scope}\u0000${a.family}\u0000${a.name}`
  // No winner yet: the new version becomes it and setWinner caches it, so no entry for "none"
  // first (one Map insert fewer per new name).
  const before = storedWinner(ctx, view, id, false)
  ctx.dbs.versions.putSync(key, d.bytes)
  ctx.dbs.records.putSync(d.hash, location)
  // The winner's own version keeps its (publisher, view) entry stored: a republish by the same
  // publisher (a decision refreshed under its key) skips that put.
  if (before === undefined || !equalBytes(before.artifact.publisher, a.publisher))
    ctx.dbs.byPublisher.putSync(byPublisher, EMPTY)
  if (!ctx.storedScopes.has(a.scope)) {
    ctx.dbs.scopes.putSync(a.scope, EMPTY)
    ctx.storedScopes.add(a.scope)
  }
  const incoming = asStored(d)
  if (before === undefined || compareVersions(incoming, before) < 0)
    setWinner(ctx, view, before, incoming, cause, id)
}
