/**
 * The eager/lazy state of a node's push links (Plumtree: Leitão, Pereira, Rodrigues, "Epidemic
 * Broadcast Trees", SRDS 2007). A new neighbour is eager: new records are pushed to it whole. A
 * push that brought nothing new means the records also reach us by another path, so that link
 * leaves the tree: we prune it (both directions turn lazy). A lazy neighbour that turns out to hold
 * records we lacked (a session with it applied some) shows a gap in the tree: we graft it back.
 * Over time the eager links form a spanning tree: every record reaches every node about once.
 * Pure: the caller sends the prune and graft frames the answers ask for.
 *
 * Plumtree's prune can cut the tree: two neighbours that each prune the link a duplicate came on,
 * at the same time, can leave a group of nodes whose every link to the rest is lazy (the 32-node
 * simulation's traces: groups of 2 to 7 nodes, where 13 of the 15 last nodes of five runs had been;
 * packages/sim README, Session 16). So a node prunes a redundant link only while more than
 * {@link MIN_EAGER} links stay eager, and a neighbour's prune that leaves it fewer grafts its
 * oldest other lazy link (Session 17). A group of two can no longer be cut off.
 */

/**
 * Eager links a node keeps when it has that many neighbours (more than one: a lone eager link is
 * what concurrent prunes cut). Two, not measured against three (sync README, Session 17).
 */
export const MIN_EAGER = 2

export interface PushLinks {
  /** A neighbour that speaks push connected: eager until a duplicate says otherwise. */
  add(id: string): void
  remove(id: string): void
  has(id: string): boolean
  isEager(id: string): boolean
  /** Eager neighbours, in the order they connected. */
  eager(): string[]
  /** Lazy neighbours, in the order they connected. */
  lazy(): string[]
  /** Every link eager again (a tree link went down): returns those that were lazy, to graft. */
  reset(): string[]
  /** `id` must stop pushing to us (it is rate-limited): true when the link was eager and a prune is due. */
  duplicate(id: string): boolean
  /**
   * A push from `id` brought nothing new that another eager neighbour brought first: true when the
   * link was eager and more than `minEager` links are, so a prune is due (the link turns lazy).
   */
  redundant(id: string): boolean
  /**
   * A push from `id` brought records we lacked, so `id` lists us eager (its graft was lost, or
   * is in flight): the link turns eager here too, without a frame (Plumtree's rule for a message
   * from a lazy peer), unless it turned lazy less than `graceMs` ago (that push was in flight
   * when the prune crossed it). True when that changed the link.
   */
  pushedNew(id: string): boolean
  /** `id` held records we lacked: true when the link was lazy and a graft is due. */
  missed(id: string): boolean
  /**
   * After `pruner` pruned us: while fewer than `minEager` links are eager, the oldest lazy links
   * other than `pruner` turn eager (counted as grafts) and are returned, to be told; when none is
   * eager and only `pruner` is lazy, it turns eager again. A node's own writes still reach
   * `minEager` neighbours when it has more than that many, and one when it has any.
   */
  keepEnough(pruner?: string): string[]
  /** `id` pruned us (true when that changed the link). */
  pruned(id: string): boolean
  /** `id` grafted us (true when that changed the link). */
  grafted(id: string): boolean
  readonly stats: { prunes: number; grafts: number }
}

export interface PushLinksOptions {
  /** Eager links kept (see {@link MIN_EAGER}). */
  minEager?: number
  /** How long after a link turned lazy a push on it is still taken as one sent before (`pushedNew`). */
  graceMs?: number
  /** The clock (ms). */
  now?: () => number
}

export function createPushLinks(options: PushLinksOptions = {}): PushLinks {
  const { minEager = MIN_EAGER, graceMs = 0, now = Date.now } = options
  const links = new Map<string, boolean>()
  /** When each lazy link turned lazy. */
  const lazySince = new Map<string, number>()
  const eagerCount = (): number => {
    let n = 0
    for (const eager of links.values()) if (eager) n++
    return n
  }
  const stats = { prunes: 0, grafts: 0 }
  const set = (id: string, eager: boolean): boolean => {
    const was = links.get(id)
    if (was === undefined || was === eager) return false
    links.set(id, eager)
    if (!eager) lazySince.set(id, now())
    return true
  }
  return {
    add(id) {
      if (!links.has(id)) links.set(id, true)
    },
    remove(id) {
      links.delete(id)
      lazySince.delete(id)
    },
    has: (id) => links.has(id),
    reset() {
      const lazy = [...links].filter(([, eager]) => !eager).map(([id]) => id)
      for (const id of lazy) links.set(id, true)
      return lazy
    },
    isEager: (id) => links.get(id) === true,
    eager: () => [...links].filter(([, eager]) => eager).map(([id]) => id),
    lazy: () => [...links].filter(([, eager]) => !eager).map(([id]) => id),
    duplicate(id) {
      const changed = set(id, false)
      if (changed) stats.prunes++
      return changed
    },
    redundant(id) {
      if (links.get(id) !== true || eagerCount() <= minEager) return false
      set(id, false)
      stats.prunes++
      return true
    },
    pushedNew(id) {
      if (links.get(id) !== false || now() - (lazySince.get(id) ?? Number.NEGATIVE_INFINITY) < graceMs)
        return false
      return set(id, true)
    },
    missed(id) {
      const changed = set(id, true)
      if (changed) stats.grafts++
      return changed
    },
    keepEnough(pruner) {
      const grafted: string[] = []
      let eager = eagerCount()
      for (const [id, isEager] of links) {
        if (eager >= minEager) break
        if (isEager || id === pruner) continue
        links.set(id, true)
        grafted.push(id)
        eager++
      }
      if (eager === 0 && pruner !== undefined && links.has(pruner)) {
        links.set(pruner, true)
        grafted.push(pruner)
      }
      stats.grafts += grafted.length
      return grafted
    },
    pruned: (id) => set(id, false),
    grafted: (id) => set(id, true),
    stats,
  }
}
