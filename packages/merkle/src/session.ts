/**
 * One side of a reconciliation session, transport-free: `build()` produces this side's next
 * message, `absorb()` takes the peer's. Both sides run the same descent; only who may end the
 * session (the initiator), who enumerates keys the other lacks (the responder) and who must be told
 * the outcome of leaf comparisons (the initiator) differ.
 *
 * Each message descends one level for every node still in question: it answers the peer's last
 * node descriptions (which children differ) and describes, by children hashes or by leaves, the
 * nodes this side just found to differ. Node positions are implied by order, never sent.
 */

import { andNot, bit, has, or } from './bits.js'
import { ByteReader, ByteWriter, compareBytes, equalBytes } from './bytes.js'
import { IncompatiblePeerError, InconsistentPeerError, MalformedMessageError } from './errors.js'
import { pathOfKey, WIRE_HASH_BYTES } from './hash.js'
import { type Children, emptyChildren } from './node-codec.js'
import { childPath, fanoutAt, MAX_DEPTH, PATH_BYTES, prefixBits, sharesPrefix } from './path.js'
import type { MerkleTree, TreeLeaf, TreeNode } from './tree.js'
import {
  bitmapOf,
  type Description,
  type KeyContext,
  LEAF_DIFFERS,
  LEAF_LIST_MAX,
  LEAF_MISSING,
  LEAF_SAME,
  maxKeyBytes,
  PROTOCOL_VERSION,
  readChildrenReply,
  readDescription,
  readKey,
  readStatuses,
  type WireLeaf,
  writeChildrenDescription,
  writeChildrenReply,
  writeKey,
  writeLeavesDescription,
  writeStatuses,
} from './wire.js'

export type Role = 'initiator' | 'responder'

export interface ReconcileResult {
  /** Keys only this side (the initiator) has. */
  localOnly: Uint8Array[]
  /** Keys only the peer has. */
  remoteOnly: Uint8Array[]
  /** Keys both have, with different value hashes. */
  differing: Uint8Array[]
}

interface Position {
  readonly path: Uint8Array
  readonly depth: number
}

/** A description this side sent and the peer must still answer. */
type Awaiting =
  | { kind: 'children'; pos: Position; bitmap: number }
  | { kind: 'leaves'; pos: Position; leaves: TreeLeaf[] }

/** An answer this side owes the peer, computed when its description arrived. */
type Owed =
  | { kind: 'children'; pos: Position; theirs: number; mine: number; differing: number }
  | { kind: 'leaves'; pos: Position; statuses: number[]; remoteKeys: Uint8Array[] }
  | { kind: 'expand'; pos: Position }

const ROOT: Position = { path: new Uint8Array(PATH_BYTES), depth: 0 }
const FLAG_KEYS_ARE_HASHES = 1
export const MIN_MESSAGE_BYTES = 256 * 1024
export const MIN_FRAME_BYTES = 4 * 1024

/**
 * Bytes `build()` leaves free in front of a message: the channel writes the frame flag there, so a
 * message that fits one frame is sent as it is, not copied into a frame.
 */
export const FRAME_HEADROOM = 1
/** The zero bytes written as that headroom (the channel overwrites them). */
const HEADROOM = new Uint8Array(FRAME_HEADROOM)

export interface Session {
  /** This side's next message, after FRAME_HEADROOM spare bytes. */
  build(): Uint8Array
  absorb(message: Uint8Array): void
  /** Initiator: nothing is left to ask or to answer. */
  readonly done: boolean
  /** Largest frame both sides accept (known once the peer's first message arrived). */
  readonly frameBytes: number
  result(): ReconcileResult
  /** Responder: everything is sent; an honest initiator asks nothing more. */
  readonly finished: boolean
  /** Releases the tree snapshot the session reads. Idempotent. */
  close(): void
}

export interface SessionLimits {
  maxMessageBytes: number
  maxFrameBytes: number
}

/** True when the first WIRE_HASH_BYTES of `hash` equal `wire[at..at + WIRE_HASH_BYTES)`. */
function wireHashEquals(hash: Uint8Array, wire: Uint8Array, at: number): boolean {
  for (let i = 0; i < WIRE_HASH_BYTES; i++) if (hash[i] !== wire[at + i]) return false
  return true
}

export function createSession(tree: MerkleTree, role: Role, limits: SessionLimits): Session {
  const initiator = role === 'initiator'
  const keysAreHashes = tree.keysAreHashes
  // One snapshot for the whole session: a batch committed between two messages must not change
  // what this side already told the peer.
  const { reader, localCount } = openSnapshot(tree)
  let peerCount: number | undefined
  let budget = limits.maxMessageBytes
  let frameBytes = limits.maxFrameBytes
  let sentHello = false

  const awaiting: Awaiting[] = [] // my descriptions, in the order the peer answers them
  const owed: Owed[] = [] // my answers, in the order I write them
  const toDescribe: Position[] = [] // nodes I found to differ and have announced
  const expected: Position[] = [] // nodes the peer found to differ and will describe
  // Subtrees only the responder has. The responder streams their keys; the initiator keeps the
  // same queue to check each key lands in the subtree it should.
  const enumeration: Position[] = []
  let enumAfter: Uint8Array | undefined // responder: last key sent from enumeration[0]
  let enumHeadSeen = false // initiator: enumeration[0] has produced a key
  let enumDone = true

  const found = newFound()

  if (initiator) toDescribe.push(ROOT)
  const keyContext = (pos: Position): KeyContext => ({ keysAreHashes, path: pos.path, depth: pos.depth })
  // Streamed keys may cross from one subtree to the next, so they travel whole.
  const wholeKeys = keyContext(ROOT)

  const positionOf = (leafKey: Uint8Array): Uint8Array => (keysAreHashes ? leafKey : pathOfKey(leafKey))

  /** The shallowest depth whose nodes hold about one leaf: there, leaves are cheaper than children. */
  function leafDepth(): number {
    const n = Math.max(localCount, peerCount ?? 0, 1)
    let depth = 1
    while (depth < MAX_DEPTH && n / 2 ** prefixBits(depth) > 1.5) depth++
    return depth
  }

  function myChildren(pos: Position): Children {
    const node = reader.node(pos)
    return node === undefined ? emptyChildren(fanoutAt(pos.depth)) : reader.children(node, pos.depth)
  }

  /** My leaves under `pos` (whose node is `node`), streamed: the peer may list a handful where I hold many. */
  function myLeaves(pos: Position, node: TreeNode | undefined): Iterable<TreeLeaf> {
    if (node === undefined) return []
    return node.kind === 'bucket' ? node.leaves : reader.leavesAt(pos)
  }

  // ---- writing ----------------------------------------------------------------------------

  function writeOwed(w: ByteWriter, answer: Owed): void {
    if (answer.kind === 'children') {
      writeChildrenReply(w, fanoutAt(answer.pos.depth), answer.theirs, answer.mine, answer.differing)
    } else if (answer.kind === 'expand') {
      w.u8(1)
    } else {
      w.u8(0)
      writeStatuses(w, answer.statuses)
      w.varint(answer.remoteKeys.length)
      for (const key of answer.remoteKeys) writeKey(w, key, keyContext(answer.pos))
    }
  }

  /** What writing (me) or reading (peer) an answer releases: nodes to describe, subtrees to list. */
  function onChildrenAnswer(
    pos: Position,
    describer: Role,
    theirs: number,
    mine: number,
    diff: number,
    writing: boolean,
  ) {
    const answererOnly = andNot(mine, theirs)
    const describerOnly = andNot(theirs, mine)
    const fanout = fanoutAt(pos.depth)
    for (let i = 0; i < fanout; i++) {
      const differs = has(diff, i)
      const oneSided = has(answererOnly, i) || has(describerOnly, i)
      if (!differs && !oneSided) continue
      const child = { path: childPath(pos.path, pos.depth, i), depth: pos.depth + 1 }
      if (differs) (writing ? toDescribe : expected).push(child)
      else if (has(answererOnly, i) === (describer === 'initiator')) enumeration.push(child)
      // Stryker disable next-line ConditionalExpression: equivalent, the responder never reads what it found
      else if (initiator) found.localOnlySubtrees.push(child)
    }
  }

  function describe(w: ByteWriter, pos: Position): void {
    const node = reader.node(pos)
    const count = node?.count ?? 0
    const useLeaves =
      count <= 2 || (pos.depth >= leafDepth() && count <= LEAF_LIST_MAX) || pos.depth >= MAX_DEPTH
    // Stryker disable next-line ConditionalExpression: equivalent, a missing node has count 0, so useLeaves holds
    if (useLeaves || node === undefined) {
      const leaves = [...myLeaves(pos, node)]
      writeLeavesDescription(w, leaves, keyContext(pos))
      if (initiator) awaiting.push({ kind: 'leaves', pos, leaves })
    } else {
      const children = reader.children(node, pos.depth)
      writeChildrenDescription(w, children)
      awaiting.push({ kind: 'children', pos, bitmap: bitmapOf(children) })
    }
  }

  const parts = newMessageParts()

  function build(): Uint8Array {
    const w = new ByteWriter(1024)
    w.bytes(HEADROOM)
    const size = () => w.length - FRAME_HEADROOM
    if (!sentHello) {
      sentHello = true
      if (initiator) {
        w.u8(PROTOCOL_VERSION)
        w.u8(keysAreHashes ? FLAG_KEYS_ARE_HASHES : 0)
      }
      w.varint(localCount)
      w.varint(budget)
      w.varint(frameBytes)
    }
    // Answers first: the peer must read them before the descriptions they release.
    parts.answers.reset()
    let answered = 0
    while (owed.length > 0 && size() + parts.answers.length + itemReserve(keysAreHashes) < budget) {
      const answer = owed.shift()!
      writeOwed(parts.answers, answer)
      answered++
      if (answer.kind === 'children') {
        onChildrenAnswer(
          answer.pos,
          initiator ? 'responder' : 'initiator',
          answer.theirs,
          answer.mine,
          answer.differing,
          true,
        )
      } else if (answer.kind === 'expand') toDescribe.push(answer.pos)
    }
    w.varint(answered)
    w.append(parts.answers)
    parts.descriptions.reset()
    let described = 0
    while (
      toDescribe.length > 0 &&
      size() + parts.descriptions.length + itemReserve(keysAreHashes) < budget
    ) {
      describe(parts.descriptions, toDescribe.shift()!)
      described++
    }
    w.varint(described)
    w.append(parts.descriptions)
    if (!initiator) writeEnumeration(w, size)
    // The message goes out at once (the channel cuts frames from it): no exact-size copy.
    return w.written()
  }

  function writeEnumeration(w: ByteWriter, size: () => number): void {
    parts.keys.reset()
    let n = 0
    const room = () => size() + parts.keys.length + maxKeyBytes(keysAreHashes) + 16 < budget
    while (enumeration.length > 0 && room()) {
      const head = enumeration[0]!
      let exhausted = true
      for (const leaf of reader.leavesAt(head, enumAfter)) {
        if (!room()) {
          exhausted = false
          break
        }
        writeKey(parts.keys, leaf.key, wholeKeys)
        enumAfter = copy(leaf.path)
        n++
      }
      if (!exhausted) break
      enumeration.shift()
      enumAfter = undefined
    }
    w.varint(n)
    w.append(parts.keys)
    w.u8(enumeration.length === 0 ? 1 : 0)
  }

  // ---- reading ----------------------------------------------------------------------------

  function readHello(r: ByteReader): void {
    if (!initiator) {
      const version = r.u8()
      if (version !== PROTOCOL_VERSION)
        throw new IncompatiblePeerError(`peer speaks version ${version}, not ${PROTOCOL_VERSION}`)
      const flags = r.u8()
      if (flags & ~FLAG_KEYS_ARE_HASHES) throw new IncompatiblePeerError(`unknown tree flags ${flags}`)
      if (((flags & FLAG_KEYS_ARE_HASHES) !== 0) !== keysAreHashes) {
        throw new IncompatiblePeerError('peer builds its tree with the other key mode (keysAreHashes)')
      }
      // The initiator always starts by describing the root.
      expected.push(ROOT)
    }
    peerCount = r.varint()
    const peerBudget = r.varint()
    if (peerBudget < MIN_MESSAGE_BYTES)
      throw new MalformedMessageError(`peer message limit ${peerBudget} too small`)
    budget = Math.min(budget, peerBudget)
    const peerFrame = r.varint()
    if (peerFrame < MIN_FRAME_BYTES)
      throw new MalformedMessageError(`peer frame limit ${peerFrame} too small`)
    frameBytes = Math.min(frameBytes, peerFrame)
  }

  function absorb(message: Uint8Array): void {
    const r = new ByteReader(message)
    if (peerCount === undefined) readHello(r)
    const owedBefore = awaiting.length + expected.length + (enumDone ? 0 : 1)
    const answers = r.varint(awaiting.length)
    for (let i = 0; i < answers; i++) readAnswer(r, awaiting.shift()!)
    const descriptions = r.varint(expected.length)
    for (let i = 0; i < descriptions; i++) {
      const pos = expected.shift()!
      absorbDescription(pos, readDescription(r, keyContext(pos), fanoutAt(pos.depth)))
    }
    let keys = 0
    if (initiator) keys = readEnumeration(r)
    r.end()
    if (answers + descriptions + keys === 0) {
      // A message that moves nothing forward is only fine as a request to keep streaming keys.
      const pullingKeys = !initiator && (enumeration.length > 0 || owed.length > 0 || toDescribe.length > 0)
      if (owedBefore > 0 || (!initiator && !pullingKeys))
        throw new InconsistentPeerError('message makes no progress')
    }
  }

  function readAnswer(r: ByteReader, mine: Awaiting): void {
    const isRoot = mine.pos.depth === 0
    if (mine.kind === 'children') {
      const answer = readChildrenReply(r, fanoutAt(mine.pos.depth), mine.bitmap)
      if (!isRoot && answer.bitmap === 0) throw new InconsistentPeerError('peer lost a node it said it had')
      if (!isRoot && answer.bitmap === mine.bitmap && answer.differing === 0) {
        throw new InconsistentPeerError('peer says a node it reported different has no differing child')
      }
      onChildrenAnswer(mine.pos, role, mine.bitmap, answer.bitmap, answer.differing, false)
      return
    }
    // Only the initiator awaits answers to leaf lists: the responder resolved them.
    const mode = r.u8()
    if (mode === 1) {
      expected.push(mine.pos)
      return
    }
    if (mode !== 0) throw new MalformedMessageError(`unknown leaf answer mode ${mode}`)
    const statuses = readStatuses(r, mine.leaves.length)
    const n = r.varint(LEAF_LIST_MAX)
    let changed = n > 0
    statuses.forEach((status, i) => {
      const key = copy(mine.leaves[i]!.key)
      if (status === LEAF_DIFFERS) found.differing.push(key)
      else if (status === LEAF_MISSING) found.localOnly.push(key)
      changed ||= status !== LEAF_SAME
    })
    const theirs = readLeafKeys(r, n, mine.pos)
    for (const leaf of theirs) {
      if (mine.leaves.some((l) => equalBytes(l.path, leaf.path)))
        throw new InconsistentPeerError('peer lists as missing a key we sent')
      found.remoteOnly.push(copy(leaf.key))
    }
    if (!isRoot && !changed)
      throw new InconsistentPeerError('peer says a node it reported different has equal leaves')
  }

  /** Keys sent under `pos`: each must lie in it, in strictly increasing path order. */
  function readLeafKeys(
    r: ByteReader,
    n: number,
    pos: Position,
  ): Array<{ key: Uint8Array; path: Uint8Array }> {
    const out: Array<{ key: Uint8Array; path: Uint8Array }> = []
    for (let i = 0; i < n; i++) {
      const key = readKey(r, keyContext(pos))
      const path = positionOf(key)
      checkUnder(path, pos, out.at(-1)?.path)
      out.push({ key, path })
    }
    return out
  }

  function checkUnder(path: Uint8Array, pos: Position, previous: Uint8Array | undefined): void {
    if (!sharesPrefix(path, pos.path, pos.depth))
      throw new InconsistentPeerError('key outside the node it is listed under')
    if (previous !== undefined && compareBytes(previous, path) >= 0)
      throw new InconsistentPeerError('keys out of order')
  }

  function absorbDescription(pos: Position, description: Description): void {
    const isRoot = pos.depth === 0
    if (description.kind === 'children') {
      if (pos.depth >= MAX_DEPTH) throw new MalformedMessageError('children below the deepest level')
      const children = myChildren(pos)
      const mine = bitmapOf(children)
      let diff = 0
      let at = 0
      for (let i = 0; i < children.length; i++) {
        if (!has(description.bitmap, i)) continue
        const child = children[i]
        if (child !== undefined && !wireHashEquals(child.hash, description.hashes, at))
          diff = or(diff, bit(i))
        at += WIRE_HASH_BYTES
      }
      if (!isRoot && mine === description.bitmap && diff === 0) {
        throw new InconsistentPeerError('peer describes as different a node whose children all match')
      }
      owed.push({ kind: 'children', pos, theirs: description.bitmap, mine, differing: diff })
      return
    }
    const theirs: Array<WireLeaf & { path: Uint8Array }> = []
    for (const leaf of description.leaves) {
      const path = positionOf(leaf.key)
      checkUnder(path, pos, theirs.at(-1)?.path)
      theirs.push({ ...leaf, path })
    }
    const node = reader.node(pos)
    if (!initiator && node !== undefined && node.count > LEAF_LIST_MAX) {
      owed.push({ kind: 'expand', pos })
      return
    }
    const mine = myLeaves(pos, node)[Symbol.iterator]()
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
    if (!isRoot && !changed)
      throw new InconsistentPeerError('peer describes as different a node whose leaves all match')
    if (!initiator) owed.push({ kind: 'leaves', pos, statuses, remoteKeys: onlyMine })
  }

  function readEnumeration(r: ByteReader): number {
    const n = r.varint()
    for (let i = 0; i < n; i++) {
      const key = readKey(r, wholeKeys)
      const path = positionOf(key)
      for (;;) {
        const head = enumeration[0]
        if (head === undefined) throw new InconsistentPeerError('key sent for no subtree we lack')
        if (sharesPrefix(path, head.path, head.depth)) break
        if (!enumHeadSeen) throw new InconsistentPeerError('a subtree the peer has was sent without keys')
        enumeration.shift()
        enumHeadSeen = false
        enumAfter = undefined
      }
      if (enumAfter !== undefined && compareBytes(enumAfter, path) >= 0)
        throw new InconsistentPeerError('keys out of order')
      enumAfter = copy(path)
      enumHeadSeen = true
      found.remoteOnly.push(copy(key))
    }
    const flag = r.u8()
    if (flag > 1) throw new MalformedMessageError(`unknown enumeration flag ${flag}`)
    enumDone = flag === 1
    if (enumDone) {
      if (enumeration.length > 1 || (enumeration.length === 1 && !enumHeadSeen)) {
        throw new InconsistentPeerError('peer ended its key list before every subtree it has')
      }
      enumeration.length = 0
      enumHeadSeen = false
      enumAfter = undefined
    }
    return n
  }

  return {
    build,
    absorb,
    get frameBytes() {
      return frameBytes
    },
    get finished() {
      return (
        // Stryker disable next-line ConditionalExpression: equivalent, only the responder reads finished
        !initiator &&
        // Stryker disable next-line ConditionalExpression: equivalent, finished is read after build() sent the hello
        sentHello &&
        awaiting.length === 0 &&
        expected.length === 0 &&
        owed.length === 0 &&
        toDescribe.length === 0 &&
        enumeration.length === 0
      )
    },
    close: () => reader.release(),
    get done() {
      return (
        // Stryker disable next-line ConditionalExpression: equivalent, only the initiator reads done
        initiator &&
        // Stryker disable next-line ConditionalExpression: equivalent, done is read after absorb(), so the hello went and came
        sentHello &&
        // Stryker disable next-line ConditionalExpression: equivalent, done is read after absorb(), so the hello went and came
        peerCount !== undefined &&
        awaiting.length === 0 &&
        expected.length === 0 &&
        owed.length === 0 &&
        toDescribe.length === 0 &&
        enumeration.length === 0 &&
        // Stryker disable next-line ConditionalExpression: equivalent, the queue empties when the stream ends; a lying "more" with nothing queued only costs a pull
        enumDone
      )
    },
    result: () => collectResult(found, reader),
  }
}

/**
 * One snapshot for the whole session: a batch committed between two messages must not change
 * what this side already told the peer. Released again if counting its leaves fails.
 */
function openSnapshot(tree: MerkleTree) {
  const reader = tree.snapshot()
  try {
    return { reader, localCount: reader.count() }
  } catch (error) {
    reader.release()
    throw error
  }
}

type Snapshot = ReturnType<MerkleTree['snapshot']>

/** Keys found to differ, as the initiator learns them. */
interface Found {
  localOnly: Uint8Array[]
  /** Subtrees only this side has: their keys are listed when the result is asked for. */
  localOnlySubtrees: Position[]
  remoteOnly: Uint8Array[]
  differing: Uint8Array[]
}

function newFound(): Found {
  return { localOnly: [], localOnlySubtrees: [], remoteOnly: [], differing: [] }
}

function collectResult(found: Found, reader: Snapshot): ReconcileResult {
  const mine = found.localOnly.slice()
  for (const pos of found.localOnlySubtrees)
    for (const leaf of reader.leavesAt(pos)) mine.push(copy(leaf.key))
  const sorted = (keys: Uint8Array[]) => keys.sort(compareBytes)
  return {
    localOnly: sorted(mine),
    remoteOnly: sorted(found.remoteOnly.slice()),
    differing: sorted(found.differing.slice()),
  }
}

/**
 * Parts of a message are written apart (their counts go first) and reused from message to message:
 * a fresh writer per part grew by doubling, and each was copied again when joined.
 */
function newMessageParts() {
  return { answers: new ByteWriter(256), descriptions: new ByteWriter(1024), keys: new ByteWriter(1024) }
}

/** Room kept free for one more item (a description or an answer) in a message. */
function itemReserve(keysAreHashes: boolean): number {
  return 16 + 2 * LEAF_LIST_MAX * (maxKeyBytes(keysAreHashes) + WIRE_HASH_BYTES)
}

const copy = (bytes: Uint8Array) => new Uint8Array(bytes)
