import { EVIDENCE_RECORD_VERSION } from '@provsync/crdt'
import type { StoreName } from './state.js'

/**
 * Record kinds beyond the first release's, named in the hello and welcome (`kinds`): a node sends a
 * peer no record of a kind the peer did not name. A first-release node names none, so it is sent
 * version-1 records only (it refuses anything else as `unknown-kind` and blames the sender).
 */

/** The stores whose records may be of a later kind, and the record type each names. */
const KIND_TYPES: Partial<Record<StoreName, string>> = {
  supersessions: 'supersession',
  assertions: 'assertion',
}

/** The record kinds this node accepts beyond the first release's: evidence records (version 2). */
export const ACCEPTED_KINDS: readonly string[] = Object.values(KIND_TYPES).map(
  (type) => `${type}/v${EVIDENCE_RECORD_VERSION}`,
)

/**
 * The kind a stored record of `store` is, when it is not one of the first release's (version 1):
 * `<type>/v<version>` read from the record's version byte. Undefined for a first-release kind.
 */
export function laterKindOf(store: StoreName, record: Uint8Array): string | undefined {
  const type = KIND_TYPES[store]
  if (type === undefined || record.byteLength < 2 || record[1] === 1) return undefined
  return `${type}/v${record[1]}`
}

/** May a peer that named `kinds` (undefined or empty: none) be sent `record` of `store`? */
export function acceptsRecord(kinds: ReadonlySet<string> | undefined, store: StoreName, record: Uint8Array) {
  const kind = laterKindOf(store, record)
  return kind === undefined || kinds?.has(kind) === true
}

/**
 * The stores a peer that named `theirs` cannot reconcile with us as initiator: those where we may
 * hold records of a kind we name (`ours`) that it did not. It would ask for them, and a
 * first-release node takes a fetch answered with none of the keys of a request as a lying tree (an
 * offence), so such a store is refused to it by name (which it skips without blame) and reconciled
 * from our side instead. A node that names no kind itself withholds nothing (two such nodes sync
 * as two first-release nodes, and never send each other round in reverse sessions).
 */
export function storesWithheldFrom(
  theirs: ReadonlySet<string> | undefined,
  ours: readonly string[] = ACCEPTED_KINDS,
): StoreName[] {
  return (Object.entries(KIND_TYPES) as Array<[StoreName, string]>)
    .filter(([, type]) => ours.some((kind) => kind.startsWith(`${type}/`) && theirs?.has(kind) !== true))
    .map(([store]) => store)
}
