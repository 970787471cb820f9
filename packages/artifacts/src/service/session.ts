import { createResponder, type Responder } from '@provsync/merkle'
import { equalBytes } from '../bytes.js'
import { coveredByAny } from '../scope.js'
import { ArtifactProtocolError } from './errors.js'
import { addIntake, emptyIntake, type IntakeTally } from './intake.js'
import {
  allKeys,
  MERKLE_OPTIONS,
  pull,
  receiveRecords,
  reconcileTree,
  type SessionContext,
  sendRecords,
} from './transfer.js'
import { type ArtifactMessage, OPERATOR_SCOPE } from './wire.js'

export interface SessionReport {
  rounds: number
  /** Records this side received and what became of them. */
  pulled: IntakeTally
  /** Records this side sent. */
  pushed: number
  /** Scopes both sides hold and may exchange, in step when the session ended cleanly. */
  shared: string[]
}

export const newReport = (): SessionReport => ({ rounds: 0, pulled: emptyIntake(), pushed: 0, shared: [] })

/** The scopes of `peer`'s live hold grant: all it may be told about. */
function holdPrefixes(ctx: SessionContext, peer: Uint8Array): readonly string[] {
  return ctx.store.liveGrant(peer, 'hold')?.scopes ?? []
}

/** Reconciles one tree, pulls what we lack, pushes what it lacks. */
async function syncTree(ctx: SessionContext, scope: string, report: SessionReport): Promise<void> {
  const tree = scope === OPERATOR_SCOPE ? ctx.store.operatorTree() : ctx.store.tree(scope)
  if (tree === undefined) return
  const { result, rounds } = await reconcileTree(ctx, scope, tree)
  report.rounds += rounds
  const wanted = [...result.remoteOnly, ...result.differing]
  const offer = [...result.localOnly, ...result.differing]
  if (wanted.length > 0) addIntake(report.pulled, await pull(ctx, scope, wanted))
  if (offer.length > 0) report.pushed += await sendRecords(ctx, scope, offer)
}

/**
 * The initiator's side: operator records first (both sides then judge grants alike), then the
 * scope lists (each side lists only the scopes the other is granted), then per scope either
 * side holds: reconcile, pull everything (it alone holds it) or push everything (we alone do).
 */
export async function initiate(ctx: SessionContext, report = newReport()): Promise<SessionReport> {
  await syncTree(ctx, OPERATOR_SCOPE, report)
  const ours = ctx.store.scopeRoots(holdPrefixes(ctx, ctx.remoteKey))
  await ctx.conv.send({ type: 'scopes', scopes: scopeList(ours) })
  const listed = await ctx.conv.expect('scopes')
  const theirs = new Map(listed.scopes.map((s) => [s.scope, s.root]))
  const own = holdPrefixes(ctx, ctx.store.nodeKey)
  ctx.listed?.(heldRoots(ctx, listed.scopes, own))
  for (const scope of [...new Set([...ours.keys(), ...theirs.keys()])].sort()) {
    const mine = ours.get(scope)
    const their = theirs.get(scope)
    if (their !== undefined && !coveredByAny(own, scope)) continue // not ours to hold
    if (mine !== undefined && their !== undefined) {
      if (!equalBytes(mine, their)) await syncTree(ctx, scope, report)
    } else if (mine !== undefined) {
      report.pushed += await sendRecords(ctx, scope, allKeys(ctx.store.tree(scope)!))
      continue
    } else {
      addIntake(report.pulled, await pull(ctx, scope, 'all'))
    }
    report.shared.push(scope)
  }
  await ctx.conv.send({ type: 'end' })
  const last = await ctx.conv.receiveOrEnd(Number.POSITIVE_INFINITY)
  if (last !== undefined && last.type !== 'end') throw ctx.conv.unexpected(last, 'end')
  return report
}

/**
 * The roots a peer listed for scopes we hold (stored here, so also ours): a scope we are not
 * granted or do not store is the peer's text and is not kept, so it never becomes a label.
 */
function heldRoots(
  ctx: SessionContext,
  listed: ReadonlyArray<{ scope: string; root: Uint8Array }>,
  own: readonly string[],
): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>()
  for (const { scope, root } of listed)
    if (coveredByAny(own, scope) && ctx.store.tree(scope) !== undefined) out.set(scope, root)
  return out
}

function scopeList(roots: Map<string, Uint8Array>): Array<{ scope: string; root: Uint8Array }> {
  return [...roots].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([scope, root]) => ({ scope, root }))
}

interface ResponderState {
  report: SessionReport
  responders: Map<string, Responder>
  /** Scopes we listed for the remote (covered by its hold grant): the only ones it may ask about. */
  listed?: Set<string>
  /** Scopes exchanged with it: listed by both, or ours it reconciled or fetched whole. */
  shared: Set<string>
}

/**
 * The responder's side: answers reconciliation and wants for the operator tree and the scopes it
 * listed for the remote, takes pushed records, and never says anything of another scope: a
 * request for one is refused as `not-shared` and blamed as a probe.
 */
export async function respond(ctx: SessionContext, report = newReport()): Promise<SessionReport> {
  const state: ResponderState = { report, responders: new Map(), shared: new Set() }
  try {
    while (true) {
      // After a want or a push the initiator may apply a large batch before it speaks again.
      const message = await ctx.conv.receiveOrEnd()
      if (message?.type === 'end') await ctx.conv.send({ type: 'end' })
      if (message === undefined || message.type === 'end') {
        state.report.shared = [...state.shared].sort()
        return state.report
      }
      await answer(ctx, state, message)
    }
  } finally {
    for (const responder of state.responders.values()) responder.close()
  }
}

async function answer(ctx: SessionContext, state: ResponderState, message: ArtifactMessage): Promise<void> {
  switch (message.type) {
    case 'scopes': {
      const ours = ctx.store.scopeRoots(holdPrefixes(ctx, ctx.remoteKey))
      state.listed = new Set(ours.keys())
      await ctx.conv.send({ type: 'scopes', scopes: scopeList(ours) })
      const own = holdPrefixes(ctx, ctx.store.nodeKey)
      for (const s of message.scopes) if (coveredByAny(own, s.scope)) state.shared.add(s.scope)
      ctx.listed?.(heldRoots(ctx, message.scopes, own))
      return
    }
    case 'reconcile':
      return answerReconcile(ctx, state, message.scope, message.payload)
    case 'want': {
      const tree = await servedTree(ctx, state, message.scope)
      const keys = message.all ? allKeys(tree) : message.keys
      state.report.pushed += await sendRecords(ctx, message.scope, keys)
      return
    }
    case 'records':
      addIntake(state.report.pulled, await receiveRecords(ctx, message.scope, undefined, message))
      return
    default:
      throw ctx.conv.unexpected(message, 'scopes, reconcile, want, records or end')
  }
}

async function answerReconcile(
  ctx: SessionContext,
  state: ResponderState,
  scope: string,
  payload: Uint8Array,
): Promise<void> {
  const tree = await servedTree(ctx, state, scope)
  let responder = state.responders.get(scope)
  if (responder === undefined)
    state.responders.set(scope, (responder = createResponder(tree, MERKLE_OPTIONS)))
  let reply: Uint8Array
  try {
    reply = responder.respond(payload)
  } catch (err) {
    throw new ArtifactProtocolError('malformed-frame', ctx.conv.peer, `reconcile: ${(err as Error).message}`)
  }
  state.report.rounds++
  await ctx.conv.send({ type: 'reconcile', scope, payload: reply })
}

/** The tree of a scope the remote may ask about; anything else is refused alike and blamed. */
async function servedTree(ctx: SessionContext, state: ResponderState, scope: string) {
  const tree =
    scope === OPERATOR_SCOPE
      ? ctx.store.operatorTree()
      : state.listed?.has(scope) === true
        ? ctx.store.tree(scope)
        : undefined
  if (tree !== undefined) {
    if (scope !== OPERATOR_SCOPE) state.shared.add(scope)
    return tree
  }
  await ctx.conv.send({ type: 'refusal', code: 'not-shared', message: 'no such scope for this peer' })
  throw new ArtifactProtocolError('probe', ctx.conv.peer, 'asked about a scope we did not list for it')
}
