import { toHex } from '../bytes.js'
import { compareVersions, type Version } from '../select.js'
import type { Context } from './context.js'
import { parseViewKey } from './db.js'

/** Why the view changed: an applied batch, an operator record, a revocation refresh, a dropped scope. */
export type ViewCause =
  | { readonly type: 'apply'; readonly from: string }
  | { readonly type: 'operator'; readonly record: string }
  | { readonly type: 'refresh'; readonly publisher: string }
  | { readonly type: 'drop-scope'; readonly scope: string }
  | { readonly type: 'prune'; readonly family: string }
  | { readonly type: 'trust' }

export type ViewChangeKind = 'advance' | 'fallback' | 'restore' | 'drop'

/** One change of a current version, append-only, as durability's history. */
export interface ViewChange {
  readonly seq: number
  readonly scope: string
  readonly family: string
  readonly name: string
  readonly kind: ViewChangeKind
  /** Record hashes (hex) of the winner before and after; null for none. */
  readonly before: string | null
  readonly after: string | null
  readonly cause: ViewCause
  /** This node's wall clock when the change was made. */
  readonly atMs: number
}

export function classifyChange(
  before: Version | undefined,
  after: Version | undefined,
  cause: ViewCause,
): ViewChangeKind {
  if (cause.type === 'drop-scope' || cause.type === 'prune') return 'drop'
  if (after === undefined) return 'fallback'
  if (before !== undefined && compareVersions(after, before) > 0) return 'fallback'
  return cause.type === 'apply' ? 'advance' : 'restore'
}

/** Appends a view change; call inside the write transaction that made it. */
export function appendChange(
  ctx: Context,
  view: Uint8Array,
  before: Version | undefined,
  after: Version | undefined,
  cause: ViewCause,
): void {
  const seq = ++ctx.seq
  const change: ViewChange = {
    seq,
    ...parseViewKey(view),
    kind: classifyChange(before, after, cause),
    before: before === undefined ? null : toHex(before.hash),
    after: after === undefined ? null : toHex(after.hash),
    cause,
    atMs: ctx.wallClock(),
  }
  ctx.dbs.history.putSync(seq, change)
}

export function changesSince(ctx: Context, since = 0, limit = 1000): ViewChange[] {
  const out: ViewChange[] = []
  for (const { value } of ctx.dbs.history.getRange({ start: since + 1, limit })) out.push(value as ViewChange)
  return out
}
