/**
 * The roots each peer listed for the scopes both sides hold, as of its last scope list: pure
 * bookkeeping, no I/O. A peer's list replaces its previous one (a scope it no longer lists is
 * forgotten), a disconnected peer is forgotten whole, and a scope this node stops holding is
 * never reported (filtered when read, pruned when the next list is noted).
 */
export class PeerRoots {
  private readonly byPeer = new Map<string, Map<string, Uint8Array>>()

  /** `peer` listed `roots` (already narrowed to scopes we hold); returns what is kept of it. */
  note(peer: string, roots: ReadonlyMap<string, Uint8Array>): ReadonlyMap<string, Uint8Array> {
    const kept = new Map(roots)
    if (kept.size === 0) this.byPeer.delete(peer)
    else this.byPeer.set(peer, kept)
    return kept
  }

  /** Forgets a peer; true when something was known of it. */
  forgetPeer(peer: string): boolean {
    return this.byPeer.delete(peer)
  }

  /** The last root each peer listed for `scope`, if `holds(scope)`. */
  of(scope: string, holds: (scope: string) => boolean): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>()
    if (!holds(scope)) return out
    for (const [peer, roots] of this.byPeer) {
      const root = roots.get(scope)
      if (root !== undefined) out.set(peer, root)
    }
    return out
  }

  /** What `peer` last listed, narrowed to the scopes `holds` still accepts. */
  ofPeer(peer: string, holds: (scope: string) => boolean): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>()
    for (const [scope, root] of this.byPeer.get(peer) ?? []) if (holds(scope)) out.set(scope, root)
    return out
  }
}
