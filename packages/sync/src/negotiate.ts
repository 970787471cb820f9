import type { StoreName } from './state.js'
import { FIRST_RELEASE_STORES } from './wire/codec.js'

/**
 * What a hello or welcome names: this node's stores, or nothing when they are all first-release
 * stores, so such a node's opening frames are byte for byte a first-release node's.
 */
export function advertisedStores(stores: readonly StoreName[] | undefined): string[] | undefined {
  if (stores === undefined || stores.every((store) => FIRST_RELEASE_STORES.includes(store))) return undefined
  return [...stores]
}

/**
 * The stores two nodes reconcile: ours that the remote also syncs. A remote that names no stores is
 * a first-release node (or one configured like it), which syncs exactly the first release's three;
 * asking it to reconcile another store would make it blame us for an unknown store.
 */
export function sharedStores(ours: readonly StoreName[], remote: readonly string[] | undefined): StoreName[] {
  const theirs = remote ?? FIRST_RELEASE_STORES
  return ours.filter((store) => theirs.includes(store))
}
