import {
  assertionKey,
  type Coordinate,
  decodeAssertion,
  decodeRevocation,
  type GatePolicy,
  type HistoryEntry,
  MAX_RECORD_BYTES,
  recordHash,
  STORE_NAMES,
  type StoreName,
} from '@provsync/crdt'
import type { PeerSyncStatus, ProvsyncNode } from '@provsync/sync'
import { CliError, ExitCode } from '../errors.js'
import { toHex } from '../hex.js'
import { peerIdOfKey } from '../identity.js'
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
import type { ControlHandler } from './server.js'
import { componentView, gateView, historyView, hlcText, keyView, ledgerEntryView } from './views.js'

/** What the handlers read: the running node and what the daemon observed about its peers. */
export interface NodeContext {
  readonly node: ProvsyncNode
  readonly dataDir: string
  readonly startedAtMs: number
  /** The last head announcement heard from each peer, and which of our stores it differed in. */
  readonly peerHeads: ReadonlyMap<string, { readonly atMs: number; readonly differing: readonly string[] }>
  readonly now?: () => number
}

/** The node refused a revocation record (untrusted operator, bad signature, ...). */
export class RevocationRefusedError extends CliError {
  readonly reason: string
  constructor(reason: string, detail: string) {
    super(`the node refused the revocation: ${reason}${detail ? ` (${detail})` : ''}`, ExitCode.requestFailed)
    this.reason = reason
  }
}

export const METHODS = ['status', 'clock', 'audit', 'gate', 'revocation', 'ledger', 'verify'] as const
export type Method = (typeof METHODS)[number]

/** Dispatches control requests to the handlers below. */
export function createControlHandler(ctx: NodeContext): ControlHandler {
  return async (request, { progress, signal }) => {
    const params = asParams(request.params)
    switch (request.method as Method) {
      case 'status':
        return status(ctx)
      case 'clock':
        return clock(ctx)
      case 'audit':
        return audit(ctx, params)
      case 'gate':
        return gate(ctx, params)
      case 'revocation':
        return applyRevocation(ctx, params)
      case 'ledger':
        return ledger(ctx, params)
      case 'verify':
        return verify(ctx, (stage, done, total) => progress({ stage, done, total }), signal)
      default:
        throw new InvalidRequestError(`unknown method ${JSON.stringify(request.method)}`)
    }
  }
}

export function status(ctx: NodeContext) {
  const { node } = ctx
  const now = ctx.now?.() ?? Date.now()
  const state = node.state
  const connected = new Set(node.libp2p.getPeers().map((p) => p.toString()))
  const known = new Map<string, PeerSyncStatus | undefined>(node.sync.peers().map((p) => [p.peer, p]))
  for (const peer of connected) if (!known.has(peer)) known.set(peer, undefined)
  const peers = [...known]
    .map(([peer, sync]) => {
      const heads = ctx.peerHeads.get(peer)
      const lastSyncMs = sync?.lastSyncMs ?? null
      const stale = heads !== undefined && (lastSyncMs === null || heads.atMs > lastSyncMs)
      return {
        peer,
        connected: connected.has(peer),
        lastSyncMs,
        lagMs: lastSyncMs === null ? null : Math.max(0, now - lastSyncMs),
        /** Stores the peer's last announcement differed in, when no sync has happened since. */
        pendingStores: stale ? [...heads.differing] : [],
        blockedUntilMs: sync?.blockedUntilMs ?? null,
        offences: Object.fromEntries(Object.entries(sync?.offences ?? {}).filter(([, n]) => n > 0)),
      }
    })
    .sort((a, b) => a.peer.localeCompare(b.peer))
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
  }
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
  const evidence = state.assertions.evidence(coordinate).map((e) => ({
    asserter: keyView(e.asserter),
    ...(e.via !== undefined ? { via: keyView(e.via) } : {}),
    run: e.run.toString(),
    hlc: hlcText(e.hlc),
    record: toHex(e.hash),
    revoked: state.revocations.isRevoked(e.asserter),
  }))
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
  const kind = choice(params, 'kind', ['peer', 'signer'] as const)
  const matching = state.ledger.since(since).filter((e) => kind === undefined || e.subjectKind === kind)
  return {
    latestSeq: state.ledger.latestSeq(),
    totals: state.ledger.totals(),
    entries: matching.slice(0, limit).map(ledgerEntryView),
    more: matching.length > limit,
  }
}

export interface StoreVerifyReport {
  readonly store: StoreName
  readonly ok: boolean
  readonly leaves: number
  readonly nodes: number
  readonly root: string
  /** First mismatches found (at most 20 per store). */
  readonly mismatches: string[]
  readonly mismatchCount: number
}

const VERIFY_BATCH = 256
const MAX_REPORTED = 20

/**
 * Recomputes every store's tree from its leaves (merkle's `verify`) and checks every leaf against
 * the record it stands for: the record is there, hashes to the leaf's value, and (assertions) sits
 * under its (asserter, coordinate) register key; then checks every stored record against the tree.
 * Yields between batches so the node keeps syncing.
 */
export async function verify(
  ctx: NodeContext,
  progress: (stage: string, done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<{ ok: boolean; stores: StoreVerifyReport[] }> {
  const state = ctx.node.state
  const total = STORE_NAMES.reduce((n, store) => n + state.tree(store).count(), 0)
  let done = 0
  const stores: StoreVerifyReport[] = []
  for (const store of STORE_NAMES) {
    const tree = state.tree(store)
    progress(`verifying ${store}`, done, total)
    const report = tree.verify()
    const mismatches = [...report.mismatches]
    let count = report.mismatches.length
    const note = (message: string): void => {
      count++
      if (mismatches.length < MAX_REPORTED) mismatches.push(message)
    }
    let batch: { key: Uint8Array; valueHash: Uint8Array }[] = []
    const check = (): void => {
      const records = state.getRecords(
        store,
        batch.map((leaf) => leaf.key),
      )
      batch.forEach((leaf, i) => {
        const problem = leafProblem(store, leaf, records[i], state.networkId)
        if (problem !== undefined) note(`${store} leaf ${toHex(leaf.key)}: ${problem}`)
      })
      done += batch.length
      batch = []
    }
    for (const leaf of tree.leaves()) {
      batch.push(leaf)
      if (batch.length < VERIFY_BATCH) continue
      check()
      progress(`verifying ${store}`, done, total)
      await new Promise((r) => setImmediate(r))
      signal?.throwIfAborted()
    }
    check()
    // The other direction: every stored record the tree should cover is in it, and records kept
    // only for audit (a revoked signer's) are not.
    let seen = 0
    for (const stored of state.records(store)) {
      const leaf = tree.get(stored.key)
      if (stored.replicated && (leaf === undefined || toHex(leaf) !== toHex(stored.valueHash)))
        note(
          `${store} record ${toHex(stored.key)}: stored but ${leaf === undefined ? 'missing from' : 'different in'} the tree`,
        )
      if (!stored.replicated && leaf !== undefined)
        note(`${store} record ${toHex(stored.key)}: kept for audit only but present in the tree`)
      if (++seen % VERIFY_BATCH === 0) {
        await new Promise((r) => setImmediate(r))
        signal?.throwIfAborted()
      }
    }
    stores.push({
      store,
      ok: count === 0,
      leaves: report.leaves,
      nodes: report.nodes,
      root: toHex(tree.root()),
      mismatches,
      mismatchCount: count,
    })
  }
  progress('verified', done, total)
  return { ok: stores.every((s) => s.ok), stores }
}

function leafProblem(
  store: StoreName,
  leaf: { key: Uint8Array; valueHash: Uint8Array },
  record: Uint8Array | undefined,
  networkId: string,
): string | undefined {
  if (record === undefined) return 'no record stored for this leaf'
  const hash = toHex(recordHash(record))
  if (hash !== toHex(leaf.valueHash))
    return `record hashes to ${hash}, the tree holds ${toHex(leaf.valueHash)}`
  if (store === 'assertions') {
    let key: string
    try {
      const assertion = decodeAssertion(record, networkId)
      key = toHex(assertionKey(assertion.asserter, assertion.coordinate))
    } catch (err) {
      return `record does not decode: ${(err as Error).message}`
    }
    if (key !== toHex(leaf.key)) return `assertion belongs under register key ${key}`
  } else if (hash !== toHex(leaf.key)) {
    return `record hash ${hash} is not its key`
  }
  return undefined
}
