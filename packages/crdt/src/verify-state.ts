import { toHex } from './bytes.js'
import { decodeInvalidation } from './codec/invalidation.js'
import { decodeAssertion, decodeRevocation, decodeSupersession, recordHash } from './codec/records.js'
import { NonCanonicalTextError } from './codec/text.js'
import { STORE_NAMES, type StoreName } from './context.js'
import { assertionKey } from './keys.js'
import type { NodeState } from './state.js'

export interface StoreCheck {
  readonly store: StoreName
  readonly ok: boolean
  readonly leaves: number
  readonly nodes: number
  readonly root: string
  /** The first mismatches found (at most `maxReported` per part). */
  readonly mismatches: string[]
  readonly mismatchCount: number
  /**
   * Stored records (in the tree or kept for audit) the canonical decoders refuse: written by a
   * release before decoding became canonical (issue #17). Each is also a mismatch.
   */
  readonly nonCanonical: number
}

export interface StateCheck {
  readonly ok: boolean
  readonly stores: StoreCheck[]
  /** The derived parts: the view's kept count against its entries, the ledger's sequence and pending entries. */
  readonly derived: { readonly ok: boolean; readonly mismatches: string[] }
}

export interface VerifyStateOptions {
  /** Called between batches with the records checked so far out of the total. */
  readonly onProgress?: (stage: string, done: number, total: number) => void
  readonly signal?: AbortSignal
  /** Records checked between two yields to the event loop (default 256). */
  readonly batch?: number
  readonly maxReported?: number
}

/**
 * Checks a whole node state: every store's Merkle tree recomputed from its leaves (merkle's
 * `verify`), every leaf against the record it stands for (present, hashing to the leaf's value,
 * an assertion under its (asserter, coordinate) register key, other records under their hash),
 * every stored record against the tree (replicated ones in it, audit-only ones not), the view's
 * kept count against its entries, and the ledger (contiguous sequence, nothing left pending).
 * Yields between batches so a running node keeps serving.
 */
export async function verifyState(state: NodeState, options: VerifyStateOptions = {}): Promise<StateCheck> {
  const total = STORE_NAMES.reduce((n, store) => n + state.tree(store).count(), 0)
  const progress = { done: 0, total }
  const stores: StoreCheck[] = []
  for (const store of STORE_NAMES) stores.push(await verifyStore(state, store, progress, options))
  options.onProgress?.('verified', progress.done, total)
  const derived = verifyDerived(state)
  return { ok: stores.every((s) => s.ok) && derived.ok, stores, derived }
}

async function verifyStore(
  state: NodeState,
  store: StoreName,
  progress: { done: number; total: number },
  options: VerifyStateOptions,
): Promise<StoreCheck> {
  const batchSize = options.batch ?? 256
  const maxReported = options.maxReported ?? 20
  const tree = state.tree(store)
  const report = tree.verify()
  const mismatches = report.mismatches.slice(0, maxReported)
  let count = report.mismatches.length
  const note = (message: string): void => {
    count++
    if (mismatches.length < maxReported) mismatches.push(message)
  }
  const pause = async (): Promise<void> => {
    options.onProgress?.(`verifying ${store}`, progress.done, progress.total)
    await new Promise((r) => setImmediate(r))
    options.signal?.throwIfAborted()
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
    progress.done += batch.length
    batch = []
  }
  for (const leaf of tree.leaves()) {
    batch.push(leaf)
    if (batch.length < batchSize) continue
    check()
    await pause()
  }
  check()
  let seen = 0
  let nonCanonical = 0
  for (const stored of state.records(store)) {
    const problem = storedRecordProblem(store, stored.record, state.networkId)
    if (problem !== undefined) {
      if (problem.startsWith('not canonical')) nonCanonical++
      note(`${store} record ${toHex(stored.key)}: ${problem}`)
    }
    const leaf = tree.get(stored.key)
    if (stored.replicated && (leaf === undefined || toHex(leaf) !== toHex(stored.valueHash)))
      note(
        `${store} record ${toHex(stored.key)}: stored but ${leaf === undefined ? 'missing from' : 'different in'} the tree`,
      )
    if (!stored.replicated && leaf !== undefined)
      note(`${store} record ${toHex(stored.key)}: kept for audit only but present in the tree`)
    if (++seen % batchSize === 0) await pause()
  }
  const root = toHex(tree.root())
  return {
    store,
    ok: count === 0,
    leaves: report.leaves,
    nodes: report.nodes,
    root,
    mismatches,
    mismatchCount: count,
    nonCanonical,
  }
}

const DECODERS: Readonly<Record<StoreName, (bytes: Uint8Array, networkId: string) => unknown>> = {
  assertions: decodeAssertion,
  supersessions: decodeSupersession,
  revocations: decodeRevocation,
  invalidations: decodeInvalidation,
}

/**
 * Why the canonical decoders refuse a stored record, or undefined. A record an older release
 * accepted with non-canonical text (a byte-order mark, a control character, invalid UTF-8, text
 * not in NFC) is named as such: `verify --offline` reports it, the node keeps serving it.
 */
export function storedRecordProblem(
  store: StoreName,
  record: Uint8Array,
  networkId: string,
): string | undefined {
  try {
    DECODERS[store](record, networkId)
    return undefined
  } catch (err) {
    if (err instanceof NonCanonicalTextError)
      return `not canonical (${err.field}: ${err.problem}), stored by a release before canonical decoding`
    return `record does not decode: ${(err as Error).message}`
  }
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
  if (store !== 'assertions')
    return hash === toHex(leaf.key) ? undefined : `record hash ${hash} is not its key`
  let key: string
  try {
    const assertion = decodeAssertion(record, networkId)
    key = toHex(assertionKey(assertion.asserter, assertion.coordinate))
  } catch {
    return undefined // named by the decode check over every stored record
  }
  return key === toHex(leaf.key) ? undefined : `assertion belongs under register key ${key}`
}

function verifyDerived(state: NodeState): { ok: boolean; mismatches: string[] } {
  const mismatches: string[] = []
  let entries = 0
  try {
    for (const _ of state.view.entries()) entries++
  } catch (err) {
    // A coordinate an older release stored with non-canonical text ends the listing there.
    if (!(err instanceof NonCanonicalTextError)) throw err
    mismatches.push(`view: entry ${entries + 1} is not canonical (${err.field}: ${err.problem})`)
    return { ok: false, mismatches }
  }
  if (entries !== state.view.count())
    mismatches.push(`view: ${entries} coordinates, the kept count says ${state.view.count()}`)
  const ledger = state.ledger.since(0)
  ledger.forEach((entry, i) => {
    if (entry.seq !== i + 1 && mismatches.length < 20)
      mismatches.push(`ledger: entry #${entry.seq} at position ${i + 1}`)
  })
  const pending = state.ledger.totals().pending
  if (pending > 0) mismatches.push(`ledger: ${pending} entries appended but not applied`)
  return { ok: mismatches.length === 0, mismatches }
}
