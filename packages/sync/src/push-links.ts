/**
 * The eager/lazy state of a node's push links (Plumtree: Leitão, Pereira, Rodrigues, "Epidemic
 * Broadcast Trees", SRDS 2007). A new neighbour is eager: new records are pushed to it whole. A
 * push that brought nothing new means the records also reach us by another path, so that link
 * leaves the tree: we prune it (both directions turn lazy). A lazy neighbour that turns out to hold
 * records we lacked (a session with it applied some) shows a gap in the tree: we graft it back.
 * Over time the eager links form a spanning tree: every record reaches every node about once.
 * Pure: the caller sends the prune and graft frames the answers ask for.
 */
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
  /** A push from `id` brought nothing new: true when the link was eager and a prune is due. */
  duplicate(id: string): boolean
  /** `id` held records we lacked: true when the link was lazy and a graft is due. */
  missed(id: string): boolean
  /**
   * When no link is eager but some are lazy: the oldest lazy one turns eager (counted as a graft)
   * and is returned, to be told. A node's own writes then still reach one neighbour.
   */
  keepOne(): string | undefined
  /** `id` pruned us (true when that changed the link). */
  pruned(id: string): boolean
  /** `id` grafted us (true when that changed the link). */
  grafted(id: string): boolean
  readonly stats: { prunes: number; grafts: number }
}

export function createPushLinks(): PushLinks {
  const links = new Map<string, boolean>()
  const stats = { prunes: 0, grafts: 0 }
  const set = (id: string, eager: boolean): boolean => {
    const was = links.get(id)
    if (was === undefined || was === eager) return false
    links.set(id, eager)
    return true
  }
  return {
    add(id) {
      if (!links.has(id)) links.set(id, true)
    },
    remove(id) {
      links.delete(id)
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
    missed(id) {
      const changed = set(id, true)
      if (changed) stats.grafts++
      return changed
    },
    keepOne() {
      if ([...links.values()].some((eager) => eager)) return undefined
      const [next] = links.keys()
      if (next === undefined) return undefined
      links.set(next, true)
      stats.grafts++
      return next
    },
    pruned: (id) => set(id, false),
    grafted: (id) => set(id, true),
    stats,
  }
}
