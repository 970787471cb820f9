/**
 * Keys of the subtrees only the responder has, streamed after everything else in its messages and
 * across as many messages as they take. The responder writes them from its snapshot, resuming after
 * the last key sent; the initiator keeps the same queue of subtrees to check that each key lands in
 * the subtree it should, in order, and that no subtree is skipped.
 */
import type { ByteReader, ByteWriter } from './bytes.js'
import { compareBytes } from './bytes.js'
import { InconsistentPeerError, MalformedMessageError } from './errors.js'
import { sharesPrefix } from './path.js'
import { copy, type Position, type Snapshot } from './session-parts.js'
import { type KeyContext, readKey, writeKey } from './wire.js'

export class KeyStream {
  /** Subtrees only the responder has, in the order both sides found them. */
  readonly subtrees: Position[] = []
  /** Responder: last path sent from subtrees[0]; initiator: last path received in it. */
  private after: Uint8Array | undefined
  /** Initiator: subtrees[0] has produced a key. */
  private headSeen = false
  /** Initiator: the responder said its stream is complete. */
  done = true

  /** Responder: the next keys while `keys` stays under `limit` bytes; then the count, keys, and end flag. */
  write(w: ByteWriter, keys: ByteWriter, limit: number, reader: Snapshot, ctx: KeyContext): void {
    const subtrees = this.subtrees
    keys.reset()
    let n = 0
    while (subtrees.length > 0 && keys.length < limit) {
      const head = subtrees[0]!
      let exhausted = true
      for (const leaf of reader.leavesAt(head, this.after)) {
        if (keys.length >= limit) {
          exhausted = false
          break
        }
        writeKey(keys, leaf.key, ctx)
        this.after = copy(leaf.path)
        n++
      }
      if (!exhausted) break
      subtrees.shift()
      this.after = undefined
    }
    w.varint(n)
    w.append(keys)
    w.u8(subtrees.length === 0 ? 1 : 0)
  }

  /** Initiator: reads the streamed keys into `into`; returns how many came. */
  read(
    r: ByteReader,
    ctx: KeyContext,
    positionOf: (key: Uint8Array) => Uint8Array,
    into: Uint8Array[],
  ): number {
    const n = r.varint()
    for (let i = 0; i < n; i++) {
      const key = readKey(r, ctx)
      const path = positionOf(key)
      this.advanceTo(path)
      if (this.after !== undefined && compareBytes(this.after, path) >= 0)
        throw new InconsistentPeerError('keys out of order')
      this.after = copy(path)
      this.headSeen = true
      into.push(copy(key))
    }
    const flag = r.u8()
    if (flag > 1) throw new MalformedMessageError(`unknown enumeration flag ${flag}`)
    this.done = flag === 1
    if (this.done) {
      const subtrees = this.subtrees
      if (subtrees.length > 1 || (subtrees.length === 1 && !this.headSeen)) {
        throw new InconsistentPeerError('peer ended its key list before every subtree it has')
      }
      subtrees.length = 0
      this.headSeen = false
      this.after = undefined
    }
    return n
  }

  /** Moves the head to the subtree holding `path`; a head left behind must have produced a key. */
  private advanceTo(path: Uint8Array): void {
    for (;;) {
      const head = this.subtrees[0]
      if (head === undefined) throw new InconsistentPeerError('key sent for no subtree we lack')
      if (sharesPrefix(path, head.path, head.depth)) return
      if (!this.headSeen) throw new InconsistentPeerError('a subtree the peer has was sent without keys')
      this.subtrees.shift()
      this.headSeen = false
      this.after = undefined
    }
  }
}
