import { createReconciler, type MerkleTree, type ReconcileResult } from '@provsync/merkle'
import { toHex } from '../bytes.js'
import { ENVELOPE_BYTES, MAX_FRAME_BYTES, MAX_KEYS_PER_WANT } from './constants.js'
import type { Conversation } from './conversation.js'
import { ArtifactProtocolError } from './errors.js'
import { addIntake, emptyIntake, type IntakeContext, type IntakeTally, intake } from './intake.js'
import { type ArtifactMessage, OPERATOR_SCOPE } from './wire.js'

/** One side of a session: the conversation, the store and what it may send. */
export interface SessionContext extends IntakeContext {
  readonly conv: Conversation
  /** Records per `store.apply` call. */
  readonly applyBatch: number
  /** Test hook: what a hostile node would do to records before they leave. */
  readonly outgoing?: ((scope: string, records: Uint8Array[]) => Uint8Array[]) | undefined
  /** The roots the remote listed for scopes this node holds (its scope list, once a session). */
  readonly listed?: ((roots: ReadonlyMap<string, Uint8Array>) => void) | undefined
}

/** Merkle frames sized so one, in our envelope, fits one frame. */
export const MERKLE_OPTIONS = { maxFrameBytes: MAX_FRAME_BYTES - ENVELOPE_BYTES }

/** Runs merkle's reconciler for one tree against the remote; each answer must be for the same scope. */
export async function reconcileTree(
  ctx: SessionContext,
  scope: string,
  tree: MerkleTree,
): Promise<{ result: ReconcileResult; rounds: number }> {
  const reconciler = createReconciler(tree, MERKLE_OPTIONS)
  let rounds = 0
  try {
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      await ctx.conv.send({ type: 'reconcile', scope, payload: request })
      const answer = await ctx.conv.expect('reconcile')
      if (answer.scope !== scope) throw ctx.conv.unexpected(answer, `reconcile of ${scope}`)
      try {
        reconciler.receive(answer.payload)
      } catch (err) {
        throw new ArtifactProtocolError(
          'lying-tree',
          ctx.conv.peer,
          `${scope || 'operator'}: ${(err as Error).message}`,
        )
      }
      rounds++
    }
    return { result: reconciler.result(), rounds }
  } finally {
    reconciler.close()
  }
}

/** Encoded records of `scope` by key, from the operator tree or the scope's own. */
export function recordsOf(ctx: SessionContext, scope: string, keys: readonly Uint8Array[]): Uint8Array[] {
  const found =
    scope === OPERATOR_SCOPE ? ctx.store.getOperatorRecords(keys) : ctx.store.getScopeRecords(scope, keys)
  const records = found.filter((r): r is Uint8Array => r !== undefined)
  return ctx.outgoing === undefined ? records : ctx.outgoing(scope, records)
}

/** Every key of a tree, in key order. */
export function allKeys(tree: MerkleTree): Uint8Array[] {
  return [...tree.leaves()].map((leaf) => leaf.key)
}

/**
 * Sends the records of `keys` in frames that fit (records of at most 4 KiB each), the last one
 * flagged, an empty last frame when there is nothing. Reads them from the store a want at a time.
 */
export async function sendRecords(
  ctx: SessionContext,
  scope: string,
  keys: readonly Uint8Array[],
): Promise<number> {
  let sent = 0
  let frame: Uint8Array[] = []
  let size = 0
  const budget = MAX_FRAME_BYTES - ENVELOPE_BYTES
  for (let i = 0; i < keys.length; i += MAX_KEYS_PER_WANT) {
    for (const record of recordsOf(ctx, scope, keys.slice(i, i + MAX_KEYS_PER_WANT))) {
      if (size + record.length + 2 > budget && frame.length > 0) {
        await ctx.conv.send({ type: 'records', scope, last: false, records: frame })
        frame = []
        size = 0
      }
      frame.push(record)
      size += record.length + 2
      sent++
    }
  }
  await ctx.conv.send({ type: 'records', scope, last: true, records: frame })
  return sent
}

/** Receives `records` frames of `scope` up to the last, applying them in batches. */
export async function receiveRecords(
  ctx: SessionContext,
  scope: string,
  wanted?: ReadonlySet<string>,
  first?: Extract<ArtifactMessage, { type: 'records' }>,
): Promise<IntakeTally> {
  const tally = emptyIntake()
  let pending: Uint8Array[] = []
  let next = first
  while (true) {
    const message = next ?? (await ctx.conv.expect('records'))
    next = undefined
    if (message.scope !== scope)
      throw ctx.conv.unexpected(message, `records of ${scope || 'operator records'}`)
    pending.push(...message.records)
    if (pending.length >= ctx.applyBatch || message.last) {
      addIntake(tally, await intake(ctx, scope, pending, wanted))
      pending = []
    }
    if (message.last) return tally
  }
}

/** Asks the remote for `keys` of `scope` (or every record of it) and takes what comes. */
export async function pull(
  ctx: SessionContext,
  scope: string,
  keys: readonly Uint8Array[] | 'all',
): Promise<IntakeTally> {
  const tally = emptyIntake()
  if (keys === 'all') {
    await ctx.conv.send({ type: 'want', scope, all: true, keys: [] })
    addIntake(tally, await receiveRecords(ctx, scope))
    return tally
  }
  for (let i = 0; i < keys.length; i += MAX_KEYS_PER_WANT) {
    const chunk = keys.slice(i, i + MAX_KEYS_PER_WANT)
    await ctx.conv.send({ type: 'want', scope, all: false, keys: chunk })
    addIntake(tally, await receiveRecords(ctx, scope, new Set(chunk.map(toHex))))
  }
  return tally
}
