import type { TreeChange } from '@provsync/merkle'
import { coordinatesOf } from './asserter-index.js'
import { blake3, concat, copyBytes, equalBytes, HASH_BYTES, toHex } from './bytes.js'
import { decodeInvalidation } from './codec/invalidation.js'
import { decodeAssertion, decodeRevocation, decodeSupersession, recordHash } from './codec/records.js'
import { type Context, isRevoked, type StoreName } from './context.js'
import { PENDING_SIGNER_PLACEMENT, TRUST_BUNDLE } from './db.js'
import { MalformedRecordError } from './errors.js'
import { placeInvalidationRecords } from './invalidations.js'
import { decodeCoordinateEntry } from './persisted.js'

// The replicated set of a store — what its Merkle tree covers — is the stored records every
// honest node accepts: records whose signer is not revoked, and revocations whose operator is in
// the trust bundle. A node that stored a key's records before the key's revocation keeps them
// (audit, reinstatement) but takes them out of the tree, so it agrees with a node that never had
// them; a reinstatement puts them back and sync spreads them again.

/**
 * At open: the revocations tree follows the current trust bundle, and a database migrated from
 * schema 2 takes its revoked signers' records out of the trees once.
 */
export function placeAtOpen(ctx: Context): void {
  // Ingest and ledger import store only trusted revocations, with their leaves: while the bundle
  // is the one the tree was last placed for, there is nothing to move.
  const bundle = trustFingerprint(ctx.trust)
  const pending = ctx.dbs.meta.get(PENDING_SIGNER_PLACEMENT) !== undefined
  if (!pending && ctx.dbs.meta.get(TRUST_BUNDLE) === bundle) return
  ctx.write(() => {
    placeRevocationRecords(ctx)
    placeInvalidationRecords(ctx)
    ctx.dbs.meta.put(TRUST_BUNDLE, bundle)
    if (!pending) return
    for (const signer of ctx.revoked.keys()) placeSignerRecords(ctx, signer, false)
    ctx.dbs.meta.remove(PENDING_SIGNER_PLACEMENT)
  })
}

/** The trust bundle as one order-independent value (hex keys are fixed-length). */
function trustFingerprint(trust: ReadonlySet<string>): string {
  return [...trust].sort().join('')
}

export interface Placement {
  /** Records put into or taken out of each tree. */
  readonly assertions: number
  readonly supersessions: number
}

/**
 * Puts every stored assertion register and supersession signed by `signer` into its tree
 * (`inTree`) or takes it out. Idempotent (a delete of an absent leaf, or a put of a leaf as it
 * is, changes nothing), but it rewrites the touched buckets: call it when the signer's state
 * changes, inside the write transaction that records the change.
 */
export function placeSignerRecords(ctx: Context, signer: Uint8Array, inTree: boolean): Placement {
  const assertionChanges: TreeChange[] = []
  // Listed first: iterating one database while writing others makes lmdb-js reposition cursors.
  for (const coordId of [...coordinatesOf(ctx, signer)]) {
    const stored = ctx.dbs.coordinates.get(coordId)
    if (stored === undefined) continue
    const entry = decodeCoordinateEntry(stored)
    const row = entry.evidence.find((e) => equalBytes(e.asserter, signer))
    if (row === undefined) continue
    const key = blake3(signer, entry.coordinate)
    assertionChanges.push({ key, valueHash: inTree ? copyBytes(row.hash) : null })
  }
  const supersessionChanges: TreeChange[] = []
  const end = concat(signer, new Uint8Array(16 + HASH_BYTES + 1).fill(0xff))
  for (const key of [...ctx.dbs.supByAgent.getKeys({ start: signer, end })]) {
    const hash = copyBytes(key.subarray(32 + 16))
    supersessionChanges.push({ key: hash, valueHash: inTree ? hash : null })
  }
  if (assertionChanges.length > 0) ctx.trees.assertions.update(assertionChanges)
  if (supersessionChanges.length > 0) ctx.trees.supersessions.update(supersessionChanges)
  return { assertions: assertionChanges.length, supersessions: supersessionChanges.length }
}

/**
 * Puts each stored revocation into the revocations tree exactly when its operator is in the
 * trust bundle: after the bundle changed, this node's tree matches the nodes that share the new
 * bundle. Runs at every open, so it writes only the leaves that are off (revocations are few).
 */
export function placeRevocationRecords(ctx: Context): number {
  const changes: TreeChange[] = []
  const tree = ctx.trees.revocations
  for (const { key, value } of [...ctx.dbs.rvRecords.getRange()]) {
    const hash = copyBytes(key)
    const trusted = ctx.trust.has(toHex(decodeRevocation(value, ctx.networkId).operator))
    const present = tree.get(hash) !== undefined
    if (trusted !== present) changes.push({ key: hash, valueHash: trusted ? hash : null })
  }
  if (changes.length > 0) tree.update(changes)
  return changes.length
}

/** A stored record as `NodeState.records` yields it. */
export interface StoredRecord {
  /** The record's tree key (what `getRecords` takes). */
  readonly key: Uint8Array
  /** The encoded signed record. */
  readonly record: Uint8Array
  /** The value its tree leaf holds when it is in the tree: the record's content hash. */
  readonly valueHash: Uint8Array
  /**
   * Whether it belongs to the replicated set, so to the tree: false for a revoked signer's
   * records and revocations by an operator outside the trust bundle, which stay stored.
   */
  readonly replicated: boolean
}

export interface RecordRange {
  /** First tree key to yield (inclusive). */
  readonly start?: Uint8Array
  readonly limit?: number
}

/** Every stored record of a store in tree-key order, for audits (`verify`) and tools. */
export function* storedRecords(
  ctx: Context,
  store: StoreName,
  range: RecordRange = {},
): Iterable<StoredRecord> {
  const db =
    store === 'assertions'
      ? ctx.dbs.asRecords
      : store === 'supersessions'
        ? ctx.dbs.supRecords
        : store === 'invalidations'
          ? ctx.dbs.invRecords
          : ctx.dbs.rvRecords
  const options = {
    ...(range.start === undefined ? {} : { start: range.start }),
    ...(range.limit === undefined ? {} : { limit: range.limit }),
  }
  for (const { key, value } of db.getRange(options)) {
    yield {
      key: copyBytes(key),
      record: copyBytes(value),
      valueHash: recordHash(value),
      replicated: isReplicated(ctx, store, value),
    }
  }
}

/**
 * A record an older release stored with non-canonical text no longer decodes; it was replicated
 * when stored (that release accepted it), so it is listed as such and `verifyState` names it,
 * instead of the listing throwing half way (issue #17, non-canonical records already stored).
 */
function isReplicated(ctx: Context, store: StoreName, bytes: Uint8Array): boolean {
  try {
    return signerIsReplicated(ctx, store, bytes)
  } catch (err) {
    if (err instanceof MalformedRecordError) return true
    throw err
  }
}

function signerIsReplicated(ctx: Context, store: StoreName, bytes: Uint8Array): boolean {
  if (store === 'revocations') return ctx.trust.has(toHex(decodeRevocation(bytes, ctx.networkId).operator))
  if (store === 'invalidations')
    return ctx.trust.has(toHex(decodeInvalidation(bytes, ctx.networkId).operator))
  const signer =
    store === 'assertions'
      ? decodeAssertion(bytes, ctx.networkId).asserter
      : decodeSupersession(bytes, ctx.networkId).agent
  return !isRevoked(ctx, signer)
}
