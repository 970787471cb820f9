/**
 * One side of a reconciliation session of protocol 1: the descent of session-core.ts, with nodes
 * described by 128-bit hashes (children) or by keys and value hashes (leaves). The responder
 * resolves a leaf list itself and answers a status per listed leaf and the keys it holds beside
 * them; a node reported different whose children or leaves all match is the peer's inconsistency.
 */

import type { ByteReader, ByteWriter } from './bytes.js'
import { compareBytes, equalBytes } from './bytes.js'
import { InconsistentPeerError, MalformedMessageError } from './errors.js'
import { WIRE_HASH_BYTES } from './hash.js'
import { fanoutAt, MAX_DEPTH } from './path.js'
import { checkUnder, type ExpandOwed, SessionCore } from './session-core.js'
import {
  collectResult,
  copy,
  leavesOf,
  type Position,
  type ReconcileResult,
  type Role,
  readVersionAndFlags,
  type Session,
  type SessionLimits,
  treeFlags,
} from './session-parts.js'
import type { MerkleTree, TreeLeaf } from './tree.js'
import {
  bitmapOf,
  LEAF_DIFFERS,
  LEAF_LIST_MAX,
  LEAF_MISSING,
  LEAF_SAME,
  maxKeyBytes,
  PROTOCOL_VERSION,
  readDescription,
  readStatuses,
  type WireLeaf,
  writeChildrenDescription,
  writeKey,
  writeLeavesDescription,
  writeStatuses,
} from './wire.js'

export {
  FRAME_HEADROOM,
  MIN_FRAME_BYTES,
  MIN_MESSAGE_BYTES,
  type ReconcileResult,
  type Role,
  type Session,
  type SessionLimits,
} from './session-parts.js'

/** The initiator's leaf list, held until answered: the answer is a status per listed leaf. */
type LeavesAwaiting = { kind: 'leaves'; pos: Position; leaves: TreeLeaf[] }
type LeavesOwed = { kind: 'leaves'; pos: Position; statuses: number[]; remoteKeys: Uint8Array[] }

/** True when the first WIRE_HASH_BYTES of `hash` equal `wire[at..at + WIRE_HASH_BYTES)`. */
function wireHashEquals(hash: Uint8Array, wire: Uint8Array, at: number): boolean {
  for (let i = 0; i < WIRE_HASH_BYTES; i++) if (hash[i] !== wire[at + i]) return false
  return true
}

export function createSession(tree: MerkleTree, role: Role, limits: SessionLimits): Session {
  return new HashSession(tree, role, limits)
}

class HashSession extends SessionCore<LeavesAwaiting, LeavesOwed> implements Session {
  protected readonly itemReserve = itemReserve(this.keysAreHashes)
  readonly result = (): ReconcileResult => collectResult(this.found, this.reader)

  protected writeHelloHead(w: ByteWriter): void {
    if (!this.initiator) return
    w.u8(PROTOCOL_VERSION)
    w.u8(treeFlags(this.keysAreHashes))
  }

  protected readHelloHead(r: ByteReader): void {
    if (this.initiator) return
    readVersionAndFlags(r, PROTOCOL_VERSION, this.keysAreHashes)
  }

  protected describe(w: ByteWriter, pos: Position): void {
    const node = this.reader.node(pos)
    const count = node?.count ?? 0
    const useLeaves =
      count <= 2 || (pos.depth >= this.leafDepth() && count <= LEAF_LIST_MAX) || pos.depth >= MAX_DEPTH
    // Stryker disable next-line ConditionalExpression: equivalent, a missing node has count 0, so useLeaves holds
    if (useLeaves || node === undefined) {
      const leaves = [...leavesOf(this.reader, pos, node)]
      writeLeavesDescription(w, leaves, this.keyContext(pos))
      if (this.initiator) this.awaiting.push({ kind: 'leaves', pos, leaves })
    } else {
      const children = this.reader.children(node, pos.depth)
      writeChildrenDescription(w, children)
      this.awaiting.push({ kind: 'children', pos, bitmap: bitmapOf(children) })
    }
  }

  protected writeLeafAnswer(w: ByteWriter, answer: LeavesOwed | ExpandOwed): void {
    if (answer.kind === 'expand') {
      w.u8(1)
      return
    }
    w.u8(0)
    writeStatuses(w, answer.statuses)
    w.varint(answer.remoteKeys.length)
    const ctx = this.keyContext(answer.pos)
    for (const key of answer.remoteKeys) writeKey(w, key, ctx)
  }

  protected childMatches(hash: Uint8Array, wire: Uint8Array, at: number): boolean {
    return wireHashEquals(hash, wire, at)
  }

  protected allMatch(reason: string): void {
    throw new InconsistentPeerError(reason)
  }

  /** Only the initiator awaits answers to leaf lists: the responder resolved them. */
  protected readLeafAnswer(r: ByteReader, mine: LeavesAwaiting): void {
    const mode = r.u8()
    if (mode === 1) {
      this.expected.push(mine.pos)
      return
    }
    if (mode !== 0) throw new MalformedMessageError(`unknown leaf answer mode ${mode}`)
    const { found } = this
    const statuses = readStatuses(r, mine.leaves.length)
    const n = r.varint(LEAF_LIST_MAX)
    let changed = n > 0
    statuses.forEach((status, i) => {
      const key = copy(mine.leaves[i]!.key)
      if (status === LEAF_DIFFERS) found.differing.push(key)
      else if (status === LEAF_MISSING) found.localOnly.push(key)
      changed ||= status !== LEAF_SAME
    })
    const theirs = this.readLeafKeys(r, n, mine.pos)
    for (const leaf of theirs) {
      if (mine.leaves.some((l) => equalBytes(l.path, leaf.path)))
        throw new InconsistentPeerError('peer lists as missing a key we sent')
      found.remoteOnly.push(copy(leaf.key))
    }
    if (mine.pos.depth !== 0 && !changed)
      throw new InconsistentPeerError('peer says a node it reported different has equal leaves')
  }

  protected absorbDescription(r: ByteReader, pos: Position): void {
    const description = readDescription(r, this.keyContext(pos), fanoutAt(pos.depth))
    if (description.kind === 'children')
      this.absorbChildren(pos, description.bitmap, description.hashes, WIRE_HASH_BYTES)
    else this.absorbLeaves(pos, description.leaves)
  }

  /** The peer's leaves under `pos` against mine: the initiator notes the outcome, the responder owes it. */
  private absorbLeaves(pos: Position, leaves: WireLeaf[]): void {
    const theirs: Array<WireLeaf & { path: Uint8Array }> = []
    for (const leaf of leaves) {
      const path = this.positionOf(leaf.key)
      checkUnder(path, pos, theirs.at(-1)?.path)
      theirs.push({ ...leaf, path })
    }
    const { initiator, found } = this
    const node = this.reader.node(pos)
    if (!initiator && node !== undefined && node.count > LEAF_LIST_MAX) {
      this.owed.push({ kind: 'expand', pos })
      return
    }
    const mine = leavesOf(this.reader, pos, node)[Symbol.iterator]()
    const statuses: number[] = []
    const onlyMine: Uint8Array[] = []
    let changed = false
    let i = 0
    let m = mine.next()
    while (i < theirs.length || !m.done) {
      const t = theirs[i]
      const order = t === undefined ? 1 : m.done ? -1 : compareBytes(t.path, m.value.path)
      if (order < 0) {
        statuses.push(LEAF_MISSING)
        if (initiator) found.remoteOnly.push(copy(t!.key))
        changed = true
        i++
        continue
      }
      const leaf = m.value as TreeLeaf
      if (order > 0) {
        if (initiator) found.localOnly.push(copy(leaf.key))
        else onlyMine.push(leaf.key)
        changed = true
      } else {
        const same = equalBytes(t!.valueHash, leaf.valueHash, WIRE_HASH_BYTES)
        statuses.push(same ? LEAF_SAME : LEAF_DIFFERS)
        if (!same) {
          changed = true
          if (initiator) found.differing.push(copy(leaf.key))
        }
        i++
      }
      m = mine.next()
    }
    if (pos.depth !== 0 && !changed)
      throw new InconsistentPeerError('peer describes as different a node whose leaves all match')
    if (!initiator) this.owed.push({ kind: 'leaves', pos, statuses, remoteKeys: onlyMine })
  }
}

/** Room kept free for one more item (a description or an answer) in a message. */
function itemReserve(keysAreHashes: boolean): number {
  return 16 + 2 * LEAF_LIST_MAX * (maxKeyBytes(keysAreHashes) + WIRE_HASH_BYTES)
}
