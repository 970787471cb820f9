import { copy, toHex } from '../bytes.js'
import { utf8 } from '../codec/text.js'
import type { Artifact } from '../codec/types.js'
import type { Context } from './context.js'
import { concatBytes, prefixRange } from './db.js'
import type { ViewCause } from './history.js'
import { appendChange } from './history.js'
import { decodeStored, recomputeView, storedWinner, viewId } from './view.js'

/** Whether this node holds `scope` now: a live `hold` grant of its own key covers it. */
export function holds(ctx: Context, scope: string): boolean {
  return ctx.authority.allows(ctx.nodeKey, 'hold', scope, ctx.wallClock(), ctx.revocations)
}

/** Recomputes every (scope, family, name) a publisher has versions in. */
export function recomputePublisher(ctx: Context, publisher: Uint8Array, cause: ViewCause): number {
  let changed = 0
  const views = Array.from(ctx.dbs.byPublisher.getKeys(prefixRange(publisher)), (key) => copy(key, 32))
  for (const view of views) {
    if (recomputeView(ctx, view, cause)) changed++
  }
  return changed
}

/** The view keys of every (scope, family, name) at or below scope prefix `prefix`. */
export function viewKeysUnder(ctx: Context, prefix: string): Uint8Array[] {
  const out = new Map<string, Uint8Array>()
  for (const p of [`${prefix}\u0000`, `${prefix}/`]) {
    for (const key of ctx.dbs.versions.getKeys(prefixRange(utf8(p)))) {
      const view = copy(key, 0, key.length - 49)
      out.set(toHex(view), view)
    }
  }
  return [...out.values()]
}

/** The view key of every stored (scope, family, name). */
function allViewKeys(ctx: Context): Uint8Array[] {
  const out = new Map<string, Uint8Array>()
  for (const key of ctx.dbs.versions.getKeys()) {
    const view = copy(key, 0, key.length - 49)
    out.set(toHex(view), view)
  }
  return [...out.values()]
}

export function recomputeUnder(ctx: Context, prefix: string, cause: ViewCause): number {
  let changed = 0
  for (const view of viewKeysUnder(ctx, prefix)) if (recomputeView(ctx, view, cause)) changed++
  return changed
}

/** Deletes everything stored of `scope` (exact), its tree's leaves included. Inside a write transaction. */
export function dropScope(ctx: Context, scope: string): number {
  const cause: ViewCause = { type: 'drop-scope', scope }
  const tree = ctx.trees.get(scope)
  let dropped = 0
  // Each version entry holds its artifact (schema 2): one pass reads both, before any removal.
  const entries = Array.from(ctx.dbs.versions.getRange(prefixRange(utf8(`${scope}\u0000`))), (e) => ({
    key: copy(e.key),
    publisher: decodeStored(ctx, e.value).record.publisher,
  }))
  for (const { key, publisher } of entries) {
    const view = copy(key, 0, key.length - 49)
    const hash = copy(key, key.length - 32)
    ctx.dbs.byPublisher.removeSync(concatBytes(publisher, view))
    ctx.dbs.records.removeSync(hash)
    ctx.dbs.versions.removeSync(key)
    if (tree?.get(hash) !== undefined) tree.update([{ key: hash, valueHash: null }])
    const before = storedWinner(ctx, view)
    if (before !== undefined) {
      ctx.dbs.view.removeSync(view)
      ctx.viewCache.delete(viewId(view))
      appendChange(ctx, view, before, undefined, cause)
    }
    dropped++
  }
  ctx.dbs.scopes.removeSync(scope)
  ctx.storedScopes.delete(scope)
  return dropped
}

/** Drops every stored scope this node no longer holds (its hold grant ended). */
export function dropUnheldScopes(ctx: Context): string[] {
  const dropped: string[] = []
  for (const scope of [...ctx.storedScopes]) {
    if (!holds(ctx, scope)) {
      dropScope(ctx, scope)
      dropped.push(scope)
    }
  }
  return dropped
}

function publisherStatus(ctx: Context, publisher: Uint8Array): string {
  if (ctx.revocations.isRevoked(publisher)) return 'revoked'
  const grant = ctx.authority.liveGrant(publisher, 'publish', ctx.wallClock(), ctx.revocations)
  return grant === undefined ? 'none' : `${grant.epoch}:${grant.scopes.join(',')}`
}

/** Every publisher with stored versions. */
export function publishers(ctx: Context): Uint8Array[] {
  const out = new Map<string, Uint8Array>()
  let last = ''
  for (const key of ctx.dbs.byPublisher.getKeys()) {
    const hex = toHex(key.subarray(0, 32))
    if (hex !== last) out.set(hex, copy(key, 0, 32))
    last = hex
  }
  return [...out.values()]
}

/**
 * Re-derives what depends on revocations and time (grant expiry): publishers whose status
 * changed since the last pass are recomputed, and scopes no longer held are dropped.
 * Inside a write transaction. Returns the number of view changes.
 */
export function refreshAll(ctx: Context, only?: Uint8Array): number {
  let changed = 0
  for (const publisher of only === undefined ? publishers(ctx) : [only]) {
    const hex = toHex(publisher)
    const status = publisherStatus(ctx, publisher)
    if (ctx.publisherStatus.get(hex) === status) continue
    ctx.publisherStatus.set(hex, status)
    changed += recomputePublisher(ctx, publisher, { type: 'refresh', publisher: hex })
  }
  dropUnheldScopes(ctx)
  return changed
}

/** Deletes the expired versions of `family` (in every scope) and re-derives their views. */
export function pruneExpiredVersions(ctx: Context, family: string): number {
  const now = ctx.wallClock()
  const touched = new Map<string, Uint8Array>()
  let pruned = 0
  for (const { key, a } of versionsOfFamily(ctx, family)) {
    if (a.expiresAt === undefined || a.expiresAt > now) continue
    const view = key.subarray(0, key.length - 49)
    const hash = copy(key, key.length - 32)
    ctx.dbs.versions.removeSync(key)
    ctx.dbs.records.removeSync(hash)
    const tree = ctx.trees.get(a.scope)
    if (tree?.get(hash) !== undefined) tree.update([{ key: hash, valueHash: null }])
    touched.set(toHex(view), copy(view))
    pruned++
  }
  for (const view of touched.values()) {
    recomputeView(ctx, view, { type: 'prune', family })
    cleanPublisherIndex(ctx, view)
  }
  return pruned
}

/** Every stored version of `family` (in every scope): its key (a copy) and artifact, read in one pass. */
function versionsOfFamily(ctx: Context, family: string): { key: Uint8Array; a: Artifact }[] {
  const out: { key: Uint8Array; a: Artifact }[] = []
  for (const { key, value } of ctx.dbs.versions.getRange()) {
    const [, f] = new TextDecoder().decode(key.subarray(0, key.length - 49)).split('\u0000')
    if (f === family) out.push({ key: copy(key), a: decodeStored(ctx, value).record })
  }
  return out
}

/** Removes index entries (publisher → view key) that no stored version backs any more. */
function cleanPublisherIndex(ctx: Context, view: Uint8Array): void {
  const still = new Set<string>()
  for (const { value } of ctx.dbs.versions.getRange(prefixRange(concatBytes(view, new Uint8Array([0]))))) {
    still.add(toHex(decodeStored(ctx, value).record.publisher))
  }
  for (const publisher of publishers(ctx)) {
    if (!still.has(toHex(publisher))) ctx.dbs.byPublisher.removeSync(concatBytes(publisher, view))
  }
}

/**
 * Puts the trust bundle `keys` in force: operator records move in or out of the operator tree by
 * whether their operator is trusted now, and every current version is re-derived (grants and
 * epochs of operators no longer trusted stop counting). Inside a write transaction.
 */
export function applyTrust(ctx: Context, keys: readonly Uint8Array[]): number {
  ctx.authority.setTrusted(keys)
  for (const key of Array.from(ctx.dbs.operators.getKeys(), (k) => copy(k))) {
    const bytes = ctx.dbs.records.get(key)
    if (bytes === undefined) continue
    const operator = copy(bytes, bytes.length - 64 - 16 - 32, bytes.length - 64 - 16)
    const trusted = ctx.authority.isTrusted(operator)
    if (trusted !== (ctx.operatorTree.get(key) !== undefined)) {
      ctx.operatorTree.update([{ key, valueHash: trusted ? key : null }])
    }
  }
  ctx.publisherStatus.clear()
  let changed = 0
  for (const view of allViewKeys(ctx)) if (recomputeView(ctx, view, { type: 'trust' })) changed++
  dropUnheldScopes(ctx)
  return changed
}
