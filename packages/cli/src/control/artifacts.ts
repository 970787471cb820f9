import {
  type ApplyOutcome,
  type ArtifactStore,
  type CurrentResult,
  checkScope,
  DEFAULT_TRUST_NAME,
  DEFAULT_TRUST_SCOPE,
  decodeRecord,
  MAX_RECORD_BYTES,
  scopeFigures,
} from '@provsync/artifacts'
import { networkTag } from '@provsync/crdt'
import { CliError, ExitCode } from '../errors.js'
import { toHex } from '../hex.js'
import type { NodeContext } from './handlers.js'
import { hexBytes, InvalidRequestError, type Params, text } from './params.js'

/** The node refused an artifact or operator record (no publish grant, stale epoch, out of scope, ...). */
export class ArtifactRefusedByNodeError extends CliError {
  readonly reason: string
  constructor(kind: string, reason: string, detail: string) {
    super(`the node refused the ${kind}: ${reason}${detail ? ` (${detail})` : ''}`, ExitCode.requestFailed)
    this.reason = reason
  }
}

/** A node started without an artifact store (an embedder's daemon). */
export class NoArtifactStoreError extends CliError {
  constructor() {
    super('this node has no artifact store', ExitCode.requestFailed)
  }
}

/** `trust` on a node started without operator keys: there is no bundle to rotate from. */
export class NoTrustBundleError extends CliError {
  constructor() {
    super(
      'this node has no trust bundle to rotate (start it with --trust <operator keys>)',
      ExitCode.requestFailed,
    )
  }
}

/**
 * The trust bundle in force (version, threshold, keys), where newer bundles are published, and
 * the links the node refused by reason. The CLI checks a link against it before publishing.
 */
export function trustInForce(ctx: NodeContext) {
  const service = ctx.artifacts?.service
  const bundle = service?.trustBundle()
  if (service === undefined || bundle === undefined) throw new NoTrustBundleError()
  return {
    networkId: ctx.node.state.networkId,
    version: bundle.version.toString(),
    threshold: bundle.threshold,
    keys: bundle.keys.map(toHex).sort(),
    scope: DEFAULT_TRUST_SCOPE,
    name: DEFAULT_TRUST_NAME,
    linksRefused: { ...service.counters.trustLinksRefused },
  }
}

function storeOf(ctx: NodeContext): ArtifactStore {
  const store = ctx.artifacts?.store
  if (store === undefined) throw new NoArtifactStoreError()
  return store
}

function scopeParam(params: Params, name = 'scope'): string {
  const scope = text(params, name, { maxBytes: 600 })
  try {
    return checkScope(scope)
  } catch (err) {
    throw new InvalidRequestError(`${name}: ${(err as Error).message}`)
  }
}

/**
 * Applies one record signed by the CLI (a grant, withdrawal, scope epoch or artifact) as if it had
 * arrived from a peer, with this node as its source: every check a peer's record meets applies.
 */
export async function applyArtifactRecord(ctx: NodeContext, params: Params) {
  const store = storeOf(ctx)
  const bytes = hexBytes(params, 'record')
  if (bytes.length > MAX_RECORD_BYTES)
    throw new InvalidRequestError(`record is larger than ${MAX_RECORD_BYTES} bytes`)
  let kind: string
  try {
    kind = decodeRecord(bytes, store.networkId, networkTag(store.networkId)).record.kind
  } catch (err) {
    throw new InvalidRequestError(
      `not an artifact record of network ${store.networkId}: ${(err as Error).message}`,
    )
  }
  // Through the replication service: applied here, then pushed to every connected peer.
  const [outcome] = await ctx.artifacts!.submit([bytes])
  if (outcome === undefined || outcome.status === 'refused')
    throw new ArtifactRefusedByNodeError(kind, outcome?.reason ?? 'unknown', outcome?.detail ?? '')
  return { kind, ...outcomeView(outcome) }
}

function outcomeView(outcome: ApplyOutcome) {
  return { status: outcome.status, id: outcome.key === undefined ? null : toHex(outcome.key) }
}

/** A current-version answer as JSON; the version's fields are absent for `none` and `stale`. */
export interface VersionView {
  readonly status: CurrentResult['status']
  readonly stale: boolean
  readonly id?: string
  readonly version?: string
  readonly epoch?: string
  readonly base?: string
  readonly expiresAt?: string
  readonly issuedAtMs?: number
  readonly publisher?: string
  readonly contentHash?: string
  readonly contentSize?: number
  /** Inline content in hex. */
  readonly content?: string
  readonly blob?: { readonly id: string; readonly size: number }
}

/** A current-version answer as JSON: the version's fields, its content inline in hex. */
export function currentView(result: CurrentResult): VersionView {
  if (result.status === 'stale') return { status: result.status, stale: true }
  if (result.status === 'none') return { status: result.status, stale: result.stale }
  const a = result.version.artifact
  return {
    status: result.status,
    stale: result.stale,
    id: toHex(result.version.hash),
    version: a.version.toString(),
    epoch: a.epoch.toString(),
    ...(a.base !== undefined ? { base: a.base.toString() } : {}),
    ...(a.expiresAt !== undefined ? { expiresAt: new Date(a.expiresAt).toISOString() } : {}),
    issuedAtMs: a.hlc.wallMs,
    publisher: toHex(a.publisher),
    contentHash: toHex(a.contentHash),
    contentSize: a.contentSize,
    ...(a.content !== undefined ? { content: toHex(a.content) } : {}),
    ...(a.blob !== undefined ? { blob: { id: toHex(a.blob.id), size: a.blob.size } } : {}),
  }
}

/** The current version of (scope, family, name); stale answers only when `allowStale`. */
export function getArtifact(ctx: NodeContext, params: Params) {
  const store = storeOf(ctx)
  const scope = scopeParam(params)
  const family = text(params, 'family', { maxBytes: 64 })
  const name = text(params, 'name', { maxBytes: 256 })
  const allowStale = params.allowStale === true
  return { scope, family, name, ...currentView(store.current(scope, family, name, { allowStale })) }
}

/**
 * The scopes this node stores (or one of them) with their roots and current versions; with
 * `health`, the refusal counters and, per scope, stale current versions and version gaps.
 */
export function listArtifacts(ctx: NodeContext, params: Params) {
  const store = storeOf(ctx)
  const only = params.scope === undefined ? undefined : scopeParam(params)
  const roots = store.scopeRoots(only === undefined ? undefined : [only])
  const scopes = [...roots]
    .filter(([scope]) => only === undefined || scope === only)
    .map(([scope, root]) => ({
      scope,
      root: toHex(root),
      ...(params.health === true ? scopeFigures(store, scope) : {}),
      entries: store.list(scope, { allowStale: true }).map((e) => {
        // Listing gives versions, not content: `get` fetches one name's content.
        const { content: _content, ...view } = currentView(e.result)
        return { family: e.family, name: e.name, ...view }
      }),
    }))
  return {
    nodeKey: toHex(store.nodeKey),
    scopes,
    ...(params.health === true ? { health: healthView(store) } : {}),
  }
}

function healthView(store: ArtifactStore) {
  const { applied, duplicate, refused } = store.counters
  return {
    applied,
    duplicate,
    refused: Object.fromEntries(Object.entries(refused).filter(([, n]) => n > 0)),
    operatorRecords: store.operatorTree().count(),
  }
}
