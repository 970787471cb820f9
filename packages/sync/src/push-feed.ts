import { createReconciler, createResponder, type MerkleTree, type Responder } from '@provsync/merkle'
import type { StoreName } from './state.js'
import { bytesEqual } from './trust.js'

/**
 * What changed in a store since the last look: the tree keys added or given a new value. crdt's
 * state says only *that* a store changed (`onChange`), and records enter it from local writes,
 * pulls and pushes alike, so the feed diffs the tree against a snapshot kept from the last look,
 * with merkle's own reconciliation run in memory (both sides are this node): it descends only
 * where the hashes differ, O(changes × depth), whatever the store's size.
 */
export interface ChangeFeed {
  /** Keys added or changed in `store` since the last `take` of it (or since the feed started). */
  take(store: StoreName): Uint8Array[]
  /** Releases the snapshots (LMDB read transactions) the feed holds. */
  close(): void
}

interface Mark {
  root: Uint8Array
  responder: Responder
}

export function createChangeFeed(
  tree: (store: StoreName) => MerkleTree,
  stores: readonly StoreName[],
): ChangeFeed {
  const marks = new Map<StoreName, Mark>()
  const markOf = (store: StoreName): Mark => {
    const t = tree(store)
    return { root: t.root(), responder: createResponder(t) }
  }
  for (const store of stores) marks.set(store, markOf(store))
  let closed = false

  return {
    take(store) {
      const mark = marks.get(store)
      if (closed || mark === undefined) return []
      const t = tree(store)
      if (bytesEqual(t.root(), mark.root)) return []
      // The next mark is taken before the diff's own snapshot: a commit landing between the two
      // shows up in this diff and again in the next one (pushed twice, harmless), never in neither.
      const next = markOf(store)
      const reconciler = createReconciler(t)
      try {
        for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
          reconciler.receive(mark.responder.respond(request))
        }
        const { localOnly, differing } = reconciler.result()
        return [...localOnly, ...differing]
      } finally {
        reconciler.close()
        mark.responder.close()
        marks.set(store, next)
      }
    },
    close() {
      closed = true
      for (const mark of marks.values()) mark.responder.close()
      marks.clear()
    },
  }
}
