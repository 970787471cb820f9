import type { AbortOptions } from '@libp2p/interface'
import { NetworkMismatchError, NotAdmittedError, RefusedError } from '../errors.js'
import type { FramedStream } from '../framing.js'
import { advertisedStores } from '../negotiate.js'
import { bytesEqual, TrustBundleMismatchError } from '../trust.js'
import { PROTOCOL_VERSION } from '../wire/codec.js'
import { receive, type SessionContext, send, unexpected } from './context.js'

/** What the remote's welcome says: its stores (undefined: a first-release node) and the version both speak (the lower). */
export interface Welcomed {
  stores: string[] | undefined
  version: number
  /** The record kinds beyond the first release's it accepts (empty: a first-release node). */
  kinds: ReadonlySet<string>
}

/** The kinds we name: none when there are none, so the hello keeps its earlier bytes. */
function namedKinds(ctx: SessionContext): { kinds?: string[] } {
  return ctx.kinds === undefined || ctx.kinds.length === 0 ? {} : { kinds: [...ctx.kinds] }
}

/**
 * Opens a conversation: our network id and trust hash go first, before anything else. Returns the
 * stores and the protocol version the session runs: the lower of its welcome's and ours.
 */
export async function greet(
  framed: FramedStream,
  ctx: SessionContext,
  options: AbortOptions = {},
): Promise<Welcomed> {
  const stores = advertisedStores(ctx.stores)
  const credential = ctx.admission?.credential()
  const hello = { networkId: ctx.networkId, trustHash: ctx.trustHash, version: ownVersion(ctx) }
  await send(
    framed,
    {
      type: 'hello',
      ...hello,
      ...(stores === undefined ? {} : { stores }),
      ...(credential === undefined ? {} : { credential }),
      ...namedKinds(ctx),
    },
    ctx,
    options,
  )
  const answer = await receive(framed, ctx, { ...options, timeoutMs: ctx.limits.requestTimeoutMs })
  if (answer?.type === 'welcome') {
    // Closed network: the responder must be a member too, or we say nothing more.
    if (ctx.admission !== undefined && !(await ctx.admission.admit(ctx.remote.key, answer.credential)))
      throw new NotAdmittedError(ctx.remote.id)
    ctx.remoteKinds = new Set(answer.kinds ?? [])
    return {
      stores: answer.stores,
      version: Math.min(answer.version, ownVersion(ctx)),
      kinds: ctx.remoteKinds,
    }
  }
  if (answer?.type === 'refusal') throw new RefusedError(answer.code, answer.message, answer.store)
  throw unexpected(answer, 'welcome')
}

/**
 * Checks the remote's Hello before reading anything else. A peer of another network (or another
 * trust bundle) gets a typed refusal and a NetworkMismatchError for the caller to count; in a
 * closed network a peer we do not admit gets a `not-admitted` refusal and a NotAdmittedError.
 * The record kinds the hello names are kept in `ctx.remoteKinds`. Returns the version the hello named.
 */
export async function admit(
  framed: FramedStream,
  ctx: SessionContext,
  options: AbortOptions = {},
): Promise<number> {
  const hello = await receive(framed, ctx, { ...options, timeoutMs: ctx.limits.requestTimeoutMs })
  if (hello?.type !== 'hello') throw unexpected(hello, 'hello')
  if (hello.networkId !== ctx.networkId || !bytesEqual(hello.trustHash, ctx.trustHash)) {
    await send(
      framed,
      { type: 'refusal', code: 'wrong-network', message: `this node serves network ${ctx.networkId}` },
      ctx,
      options,
    ).catch(() => {})
    throw hello.networkId === ctx.networkId
      ? new TrustBundleMismatchError(ctx.networkId, hello.networkId)
      : new NetworkMismatchError(ctx.networkId, hello.networkId)
  }
  if (ctx.admission !== undefined && !(await ctx.admission.admit(ctx.remote.key, hello.credential))) {
    // The refusal is all a peer we do not admit learns: no stores, no credential, no roots.
    await send(
      framed,
      { type: 'refusal', code: 'not-admitted', message: 'no live member credential' },
      ctx,
      options,
    ).catch(() => {})
    throw new NotAdmittedError(ctx.remote.id)
  }
  ctx.remoteKinds = new Set(hello.kinds ?? [])
  const stores = advertisedStores(ctx.stores)
  const credential = ctx.admission?.credential()
  await send(
    framed,
    {
      type: 'welcome',
      version: ownVersion(ctx),
      ...(stores === undefined ? {} : { stores }),
      ...(credential === undefined ? {} : { credential }),
      ...namedKinds(ctx),
    },
    ctx,
    options,
  )
  // The session runs the lower of both versions (a node may pin an earlier one: see `ownVersion`).
  return Math.min(hello.version, ownVersion(ctx))
}

/** The version this node names: its init's `protocolVersion`, else this release's. */
function ownVersion(ctx: SessionContext): number {
  return ctx.protocolVersion ?? PROTOCOL_VERSION
}
