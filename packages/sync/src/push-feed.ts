import type { NodeState } from '@provsync/crdt'
import { createReconciler, createResponder, type MerkleTree, type Responder } from '@provsync/merkle'
import type { StoreName } from './state.js'
import { bytesEqual, toHex } from './trust.js'

/**
 * What changed in a store since the last look: the tree keys added or given a new value. Records
 * enter a store from local writes, pulls and pushes alike, and crdt's observers report each batch's
 * outcomes (`NodeState.observe`), so the keys of applied records are collected as they commit.
 * A store can also change without a batch of its own (a revocation recomputes the assertion and
 * supersession registers it touches): a change notice (`onChange`) that no observed batch of that
 * store explains makes the next look diff the store's tree against the snapshot kept from the last
 * look, with merkle's own reconciliation run in memory (both sides are this node), as every look
 * did before session 11. That diff descended once per changed key and was 7 % of the harness
 * thread of a 32-node simulation (session 11); collecting the observed keys costs next to nothing.
 */
export interface ChangeFeed {
  /** Keys added or changed in `store` since the last `take` of it (or since the feed started). */
  take(store: StoreName): Uint8Array[]
  /** Releases the snapshots (LMDB read transactions) the feed holds, and stops observing. */
  close(): void
}

/** What the feed needs of a node state; without `observe`, every look that finds a change diffs. */
export type FeedSource = Pick<NodeState, 'tree' | 'onChange'> & Partial<Pick<NodeState, 'observe'>>

interface Mark {
  root: Uint8Array
  responder: Responder
}

/** Keys changed since `mark`, found by diffing the tree against it. */
function diff(tree: MerkleTree, mark: Mark): Uint8Array[] {
  const reconciler = createReconciler(tree)
  try {
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      reconciler.receive(mark.responder.respond(request))
    }
    const { localOnly, differing } = reconciler.result()
    return [...localOnly, ...differing]
  } finally {
    reconciler.close()
  }
}

export function createChangeFeed(source: FeedSource, stores: readonly StoreName[]): ChangeFeed {
  const marks = new Map<StoreName, Mark>()
  const markOf = (store: StoreName): Mark => {
    const t = source.tree(store)
    return { root: t.root(), responder: createResponder(t) }
  }
  for (const store of stores) marks.set(store, markOf(store))
  /** Keys observed applied since the last take, by hex, per store. */
  const observed = new Map<StoreName, Map<string, Uint8Array>>(stores.map((s) => [s, new Map()]))
  /** Stores whose tree changed in a way no observed batch explained: the next take diffs them. */
  const unexplained = new Set<StoreName>()
  // Change notices and observed batches since the last check, per store. crdt notifies a store's
  // change and then, in the same synchronous run, reports the batch that made it, so the check
  // runs in a microtask after the notice.
  const notices = new Map<StoreName, number>()
  const batches = new Map<StoreName, number>()
  let checkQueued = false
  const check = () => {
    checkQueued = false
    for (const [store, count] of notices) if (count > (batches.get(store) ?? 0)) unexplained.add(store)
    notices.clear()
    batches.clear()
  }
  let closed = false
  const stopChange = source.onChange((store) => {
    if (closed || !marks.has(store)) return
    notices.set(store, (notices.get(store) ?? 0) + 1)
    if (!checkQueued) {
      checkQueued = true
      queueMicrotask(check)
    }
  })
  const stopObserve = source.observe?.({
    applied({ store, outcomes }) {
      const keys = observed.get(store)
      if (closed || keys === undefined) return
      let applied = 0
      for (const outcome of outcomes) {
        if (outcome.status !== 'applied' || outcome.key === undefined) continue
        applied++
        keys.set(toHex(outcome.key), outcome.key)
      }
      // Only a batch that applied something changed the tree (and was noticed).
      if (applied > 0) batches.set(store, (batches.get(store) ?? 0) + 1)
    },
  })

  return {
    take(store) {
      const mark = marks.get(store)
      const keys = observed.get(store)
      if (closed || mark === undefined || keys === undefined) return []
      if (checkQueued) check()
      const t = source.tree(store)
      if (bytesEqual(t.root(), mark.root)) {
        keys.clear()
        unexplained.delete(store)
        // The same tree, so a fresh mark of it diffs alike; the old one's snapshot would pin every
        // page freed since it was taken. A store that never changes kept the one taken at start
        // for the node's life: LMDB reused no freed page after it, and each node's data.mdb of a
        // 32-node simulation grew to ~270 MB for 10,000 records (session 15).
        mark.responder.close()
        marks.set(store, markOf(store))
        return []
      }
      // The next mark is taken first: a commit landing after it shows up in the next take (by
      // observation or diff), never in neither.
      const next = markOf(store)
      try {
        if (unexplained.has(store)) return diff(t, mark)
        return [...keys.values()]
      } finally {
        unexplained.delete(store)
        keys.clear()
        mark.responder.close()
        marks.set(store, next)
      }
    },
    close() {
      closed = true
      stopChange()
      stopObserve?.()
      for (const mark of marks.values()) mark.responder.close()
      marks.clear()
      observed.clear()
    },
  }
}
