import {
  type Coordinate,
  decodeRevocation,
  type GatePolicy,
  type HistoryEntry,
  MAX_RECORD_BYTES,
  type NodeState,
  readerWarning,
  recordHash,
  STORE_NAMES,
  type StateCheck,
  verifyState,
} from '@provsync/crdt'
import type { ProvsyncNode } from '@provsync/sync'
import type { NodeArtifacts } from '../artifacts-node.js'
import { CliError, ExitCode } from '../errors.js'
import { toHex } from '../hex.js'
import { peerIdOfKey } from '../identity.js'
import { backup, connect, unblock } from './admin.js'
import { applyArtifactRecord, getArtifact, listArtifacts, trustInForce } from './artifacts.js'
import { auditEvidence } from './evidence.js'
import { applyInvalidation } from './invalidation.js'
import {
  asParams,
  bigintText,
  choice,
  hexBytes,
  hexList,
  InvalidRequestError,
  integer,
  type Params,
  text,
} from './params.js'
import { peerViews } from './peers.js'
import { supersessionsOf, viewPage } from './read.js'
import type { ControlHandler } from './server.js'
import { componentView, gateView, historyView, hlcText, keyView, ledgerEntryView } from './views.js'
import { applySupersession, recordEvidence } from './write.js'

/** What the handlers read: the running node and what the daemon observed about its peers. */
export interface NodeContext {
  readonly node: ProvsyncNode
  readonly dataDir: string
  readonly startedAtMs: number
  /** The last head announcement heard from each peer, and which of our stores it differed in. */
  readonly peerHeads: ReadonlyMap<string, { readonly atMs: number; readonly differing: readonly string[] }>
  readonly now?: () => number
  /** The artifact store and its metrics (scopes, grants, artifacts). */
  readonly artifacts?: NodeArtifacts
}

/** The node refused a revocation record (untrusted operator, bad signature, ...). */
export class RevocationRefusedError extends CliError {
  readonly reason: string
  constructor(reason: string, detail: string) {
    super(`the node refused the revocation: ${reason}${detail ? ` (${detail})` : ''}`, ExitCode.requestFailed)
    this.reason = reason
  }
}

type MethodHandler = (ctx: NodeContext, params: Params, call: HandlerCall) => unknown

interface HandlerCall {
  progress: (stage: string, done: number, total: number) => void
  signal: AbortSignal | undefined
}

/**
 * The control methods, one line each: a new method is a line here and a function elsewhere.
 * Each takes the node, the request's JSON params and the call (progress, abort) and returns JSON.
 */
export const METHOD_TABLE: Readonly<Record<string, MethodHandler>> = {
  status: (ctx) => status(ctx),
  clock: (ctx) => clock(ctx),
  audit: (ctx, params) => audit(ctx, params),
  gate: (ctx, params) => gate(ctx, params),
  revocation: (ctx, params) => applyRevocation(ctx, params),
  invalidation: (ctx, params) => applyInvalidation(ctx, params),
  ledger: (ctx, params) => ledger(ctx, params),
  verify: (ctx, _params, call) => verify(ctx, call.progress, call.signal),
  record: (ctx, params) => recordEvidence(ctx, params),
  supersession: (ctx, params) => applySupersession(ctx, params),
  view: (ctx, params) => viewPage(ctx, params),
  supersessions: (ctx, params) => supersessionsOf(ctx, params),
  peers: (ctx) => ({ peers: peerViews(ctx) }),
  unblock: (ctx, params) => unblock(ctx, params),
  connect: (ctx, params, call) => connect(ctx, params, call.signal),
  backup: (ctx, params) => backup(ctx, params),
  'artifact-record': (ctx, params) => applyArtifactRecord(ctx, params),
  'artifact-get': (ctx, params) => getArtifact(ctx, params),
  artifacts: (ctx, params) => listArtifacts(ctx, params),
  trust: (ctx) => trustInForce(ctx),
}

export const METHODS = Object.keys(METHOD_TABLE)
export type Method = keyof typeof METHOD_TABLE

/** Dispatches control requests to the handlers of {@link METHOD_TABLE}. */
export function createControlHandler(ctx: NodeContext): ControlHandler {
  return async (request, { progress, signal }) => {
    const params = asParams(request.params)
    const handler = Object.hasOwn(METHOD_TABLE, request.method) ? METHOD_TABLE[request.method] : undefined
    if (handler === undefined)
      throw new InvalidRequestError(`unknown method ${JSON.stringify(request.method)}`)
    return handler(ctx, params, {
      progress: (stage, done, total) => progress({ stage, done, total }),
      signal,
    })
  }
}

export function status(ctx: NodeContext) {
  const { node } = ctx
  const now = ctx.now?.() ?? Date.now()
  const state = node.state
  const peers = peerViews(ctx)
  return {
    peerId: node.peerId.toString(),
    publicKey: toHex(node.publicKey),
    networkId: state.networkId,
    dataDir: ctx.dataDir,
    addresses: node.multiaddrs().map((a) => a.toString()),
    uptimeMs: now - ctx.startedAtMs,
    stores: STORE_NAMES.map((store) => {
      const tree = state.tree(store)
      return { store, root: toHex(tree.root()), count: tree.count() }
    }),
    view: { coordinates: state.view.count() },
    history: { latestSeq: state.history.latestSeq() },
    ledger: { latestSeq: state.ledger.latestSeq(), ...state.ledger.totals() },
    peers,
    warnings: nodeWarnings(state),
  }
}

/**
 * What an operator should act on though the node still serves, one line each: today an LMDB read
 * snapshot held long past many commits (crdt's `readerWarning`, the same line `/readyz` adds), under
 * which freed pages are not reused and the data file grows.
 */
function nodeWarnings(state: Pick<NodeState, 'readerHealth'>): string[] {
  const reader = readerWarning(state.readerHealth())
  return reader === undefined ? [] : [reader]
}

/** The node's network id and HLC now, which a revocation signed by the CLI is stamped with. */
export function clock(ctx: NodeContext) {
  const now = ctx.node.state.clock.now()
  return { networkId: ctx.node.state.networkId, wallMs: now.wallMs, counter: now.counter }
}

function coordinateParams(params: Params): Coordinate {
  return {
    volume: text(params, 'volume', { maxBytes: 256 }),
    destination: text(params, 'destination', { maxBytes: 256 }),
    origin: text(params, 'origin', { maxBytes: 256 }),
  }
}

export function audit(ctx: NodeContext, params: Params) {
  const state = ctx.node.state
  const coordinate = coordinateParams(params)
  const historyLimit = integer(params, 'historyLimit', 1000, 1, 100_000)
  const component = state.view.get(coordinate)
  const local = state.view.local(coordinate)
  const evidence = auditEvidence(state, coordinate)
  // The history index by coordinate pages through this coordinate's entries only; only the
  // last `historyLimit` of them are kept and rendered.
  const history: HistoryEntry[] = []
  for (let seq = 0; ; ) {
    const page = state.history.byCoordinate(coordinate, { since: seq, limit: 1000 })
    if (page.length === 0) break
    history.push(...page)
    if (history.length > historyLimit) history.splice(0, history.length - historyLimit)
    seq = page[page.length - 1]!.seq
  }
  return {
    coordinate,
    component: component === undefined ? null : componentView(component),
    local: local === undefined ? null : { run: local.run.toString(), hlc: hlcText(local.hlc) },
    evidence,
    history: history.map(historyView),
  }
}

function policyParams(value: unknown): GatePolicy {
  const params = asParams(value)
  const type = choice(params, 'type', ['any', 'local-only', 'min-asserters', 'ignore'] as const) ?? 'any'
  if (type === 'min-asserters') return { type, k: integer(params, 'k', 1, 1, 1024) }
  if (type === 'ignore') return { type, asserters: hexList(params, 'asserters', 32) }
  return { type }
}

export function gate(ctx: NodeContext, params: Params) {
  const coordinate = coordinateParams(params)
  const run = bigintText(params, 'run')
  // The reason names peers as the evidence lines do: by peer id.
  return gateView(
    ctx.node.state.gate(coordinate, run, policyParams(params.policy), { describeKey: peerIdOfKey }),
  )
}

/**
 * Applies a revocation or reinstatement record signed by an operator, then announces the new
 * roots at once so the whole network pulls it without waiting for the debounce.
 */
export async function applyRevocation(ctx: NodeContext, params: Params) {
  const { state, sync } = ctx.node
  const bytes = hexBytes(params, 'record')
  if (bytes.length > MAX_RECORD_BYTES)
    throw new InvalidRequestError(`record is larger than ${MAX_RECORD_BYTES} bytes`)
  let record: ReturnType<typeof decodeRevocation>
  try {
    record = decodeRevocation(bytes, state.networkId)
  } catch (err) {
    throw new InvalidRequestError(
      `not a revocation record of network ${state.networkId}: ${(err as Error).message}`,
    )
  }
  const [outcome] = await state.apply('revocations', [bytes], { from: state.publicKey })
  if (outcome === undefined || outcome.status === 'refused') {
    throw new RevocationRefusedError(outcome?.reason ?? 'unknown', outcome?.detail ?? '')
  }
  await sync.announce().catch(() => {})
  const id = toHex(recordHash(bytes))
  const entry = state.ledger.bySubject(record.subject).find((e) => toHex(e.id) === id)
  return {
    status: outcome.status,
    action: record.action,
    subject: keyView(record.subject),
    subjectKind: record.subjectKind,
    /** Whether the subject is revoked now: a later reinstatement (or revocation) may win. */
    revoked: state.revocations.isRevoked(record.subject),
    entry: entry === undefined ? null : ledgerEntryView(entry),
  }
}

export function ledger(ctx: NodeContext, params: Params) {
  const state = ctx.node.state
  const since = integer(params, 'since', 0, 0, Number.MAX_SAFE_INTEGER)
  const limit = integer(params, 'limit', 1000, 1, 10_000)
  const kind = choice(params, 'kind', ['peer', 'signer', 'criteria', 'invalidation'] as const)
  const matching = state.ledger.since(since).filter((e) => kind === undefined || e.subjectKind === kind)
  return {
    latestSeq: state.ledger.latestSeq(),
    totals: state.ledger.totals(),
    entries: matching.slice(0, limit).map(ledgerEntryView),
    more: matching.length > limit,
  }
}

/**
 * crdt's whole-state check (every tree against its records and back, the view's count, the
 * ledger), streaming progress; it yields between batches so the node keeps syncing.
 */
export function verify(
  ctx: NodeContext,
  progress: (stage: string, done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<StateCheck> {
  return verifyState(ctx.node.state, { onProgress: progress, ...(signal !== undefined ? { signal } : {}) })
}
