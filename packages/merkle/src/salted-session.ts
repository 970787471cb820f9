/**
 * One side of a reconciliation session of protocol 2: protocol 1's descent (session.ts), with
 * every hash that decides equality sent as a salted fingerprint (fingerprint.ts) a few bytes wide.
 *
 * What differs from protocol 1:
 * - the opening frames carry a salt from each side and the responder's 128-bit root; the root's
 *   description (the initiator's first message, before the responder's salt is known) is keyed by
 *   the initiator's salt alone, everything after by both;
 * - the initiator lists a node by leaves whenever it holds at most LEAF_LIST_MAX of them, as
 *   fingerprints of path and value only; the responder answers a bit per leaf (I hold one with
 *   this fingerprint) and the keys of its leaves none of them matched;
 * - a node reported different whose children or leaves all match is a **collision** (two distinct
 *   hashes with one fingerprint), flagged in the result instead of blamed on the peer, and so is a
 *   session that found nothing between two different roots. A collision can hide a difference
 *   from this session only: the caller runs another, with a new salt (see the README).
 */
import { andNot, bit, has, or } from './bits.js'
import { ByteReader, ByteWriter, compareBytes, equalBytes } from './bytes.js'
import { IncompatiblePeerError, InconsistentPeerError, MalformedMessageError } from './errors.js'
import {
  DEFAULT_FINGERPRINT_BYTES,
  Fingerprinter,
  keyOf,
  MAX_FINGERPRINT_BYTES,
  MIN_FINGERPRINT_BYTES,
  randomSalt,
  SALT_BYTES,
} from './fingerprint.js'
import { pathOfKey, WIRE_HASH_BYTES } from './hash.js'
import { type Children, emptyChildren } from './node-codec.js'
import { childPath, fanoutAt, MAX_DEPTH, PATH_BYTES, prefixBits, sharesPrefix } from './path.js'
import {
  readLeafAnswerHead,
  readSaltedDescription,
  SALTED_PROTOCOL_VERSION,
  type SaltedDescription,
  writeChildrenFingerprints,
  writeExpandAnswer,
  writeKeyedLeaves,
  writeLeafAnswer,
  writeLeafFingerprints,
} from './salted-wire.js'
import {
  FRAME_HEADROOM,
  MIN_FRAME_BYTES,
  MIN_MESSAGE_BYTES,
  type ReconcileResult,
  type Role,
  type Session,
  type SessionLimits,
} from './session.js'
import type { MerkleTree, TreeLeaf, TreeNode } from './tree.js'
import {
  type KeyContext,
  LEAF_LIST_MAX,
  maxKeyBytes,
  readChildrenReply,
  readKey,
  writeChildrenReply,
  writeKey,
} from './wire.js'

export interface SaltedOptions {
  /**
   * Protocol 2: this side's salt (16 bytes). Fixed only by vectors and tests.
   *
   * @default 16 fresh random bytes per session
   */
  salt?: Uint8Array
  /**
   * Protocol 2, initiator: fingerprint width in bytes (1-8); the responder uses the initiator's.
   *
   * @default 4
   */
  fingerprintBytes?: number
}

export interface SaltedResult extends ReconcileResult {
  /** A fingerprint collision was seen: differences may be missing, run another session. */
  collision: boolean
}

export interface SaltedSession extends Session {
  result(): SaltedResult
}

interface Position {
  readonly path: Uint8Array
  readonly depth: number
}

type Awaiting =
  | { kind: 'children'; pos: Position; bitmap: number }
  /** The leaves are read again from the snapshot when the answer comes: holding ~15 per bucket for
   * every listed bucket until then raised a 1M, d = 10,000 initiator's peak RSS by ~100 MiB. */
  | { kind: 'leaves'; pos: Position; count: number }

type Owed =
  | { kind: 'children'; pos: Position; theirs: number; mine: number; differing: number }
  | { kind: 'leaves'; pos: Position; matched: boolean[]; remoteKeys: Uint8Array[] }
  | { kind: 'expand'; pos: Position }

const ROOT: Position = { path: new Uint8Array(PATH_BYTES), depth: 0 }
/**
 * Most leaves the responder answers a leaf list with: a node the initiator holds as a bucket (at
 * most LEAF_LIST_MAX) may have split on the responder's side. Describing it instead (`expand`)
 * costs a round trip: at N = 1M, d = 10,000 it happened and made a fourth.
 */
const LEAF_ANSWER_MAX = 2 * LEAF_LIST_MAX
const FLAG_KEYS_ARE_HASHES = 1
const HEADROOM = new Uint8Array(FRAME_HEADROOM)

export function createSaltedSession(
  tree: MerkleTree,
  role: Role,
  limits: SessionLimits,
  options: SaltedOptions = {},
): SaltedSession {
  const initiator = role === 'initiator'
  const keysAreHashes = tree.keysAreHashes
  const { reader, localCount, localRoot } = openSnapshot(tree)
  const salt = options.salt ?? randomSalt() // its length is checked with the other options
  let width = options.fingerprintBytes ?? DEFAULT_FINGERPRINT_BYTES
  let rootKey = initiator ? new Fingerprinter(salt, width) : undefined // before the peer's salt
  let sessionKey: Fingerprinter | undefined
  let peerRoot: Uint8Array | undefined
  let peerCount: number | undefined
  let budget = limits.maxMessageBytes
  let frameBytes = limits.maxFrameBytes
  let sentHello = false
  let collision = false

  const queues = newQueues(initiator)
  const { awaiting, owed, toDescribe, expected, enumeration } = queues
  let enumAfter: Uint8Array | undefined
  let enumHeadSeen = false
  let enumDone = true
  const found = newFound()
  const keyContext = (pos: Position): KeyContext => ({ keysAreHashes, path: pos.path, depth: pos.depth })
  const wholeKeys = keyContext(ROOT)
  const positionOf = (leafKey: Uint8Array): Uint8Array => (keysAreHashes ? leafKey : pathOfKey(leafKey))
  const fpAt = (pos: Position): Fingerprinter => (pos.depth === 0 ? rootKey! : sessionKey!)

  const leafDepth = () => leafDepthFor(Math.max(localCount, peerCount ?? 0, 1))

  const myChildren = (pos: Position) => childrenOf(reader, pos)
  const myLeaves = (pos: Position, node: TreeNode | undefined) => leavesOf(reader, pos, node)
  function writeOwed(w: ByteWriter, answer: Owed): void {
    if (answer.kind === 'children') {
      writeChildrenReply(w, fanoutAt(answer.pos.depth), answer.theirs, answer.mine, answer.differing)
    } else if (answer.kind === 'expand') writeExpandAnswer(w)
    else writeLeafAnswer(w, answer.matched, answer.remoteKeys, keyContext(answer.pos))
  }

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
      else if (initiator) found.localOnlySubtrees.push(child)
    }
  }

  /**
   * The initiator lists any node of at most LEAF_LIST_MAX leaves (a fingerprint each, answered by
   * bits); the responder's lists carry whole keys, so it lists only nodes of one or two leaves.
   */
  function describe(w: ByteWriter, pos: Position): void {
    const node = reader.node(pos)
    const count = node?.count ?? 0
    const small = initiator
      ? count <= LEAF_LIST_MAX
      : count <= 2 || (pos.depth >= leafDepth() && count <= LEAF_LIST_MAX)
    if (node === undefined || small || pos.depth >= MAX_DEPTH) {
      const leaves = myLeaves(pos, node)
      if (initiator) {
        writeLeafFingerprints(w, leaves, fpAt(pos))
        awaiting.push({ kind: 'leaves', pos, count: leaves.length })
      } else writeKeyedLeaves(w, leaves, keyContext(pos), fpAt(pos))
    } else {
      const bitmap = writeChildrenFingerprints(w, reader.children(node, pos.depth), fpAt(pos))
      awaiting.push({ kind: 'children', pos, bitmap })
    }
  }

  const parts = newMessageParts()

  function writeHello(w: ByteWriter): void {
    if (initiator) {
      w.u8(SALTED_PROTOCOL_VERSION)
      w.u8(keysAreHashes ? FLAG_KEYS_ARE_HASHES : 0)
      w.u8(width)
      w.bytes(salt)
    } else {
      w.bytes(salt)
      w.bytes(localRoot, WIRE_HASH_BYTES)
    }
    w.varint(localCount)
    w.varint(budget)
    w.varint(frameBytes)
  }

  function build(): Uint8Array {
    const w = new ByteWriter(1024)
    w.bytes(HEADROOM)
    const size = () => w.length - FRAME_HEADROOM
    if (!sentHello) {
      sentHello = true
      writeHello(w)
    }
    parts.answers.reset()
    let answered = 0
    while (owed.length > 0 && size() + parts.answers.length + itemReserve(keysAreHashes) < budget) {
      const answer = owed.shift()!
      writeOwed(parts.answers, answer)
      answered++
      if (answer.kind === 'children') {
        const describer = initiator ? 'responder' : 'initiator'
        onChildrenAnswer(answer.pos, describer, answer.theirs, answer.mine, answer.differing, true)
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

  function readHello(r: ByteReader): void {
    if (!initiator) {
      const version = r.u8()
      if (version !== SALTED_PROTOCOL_VERSION)
        throw new IncompatiblePeerError(`peer speaks version ${version}, not ${SALTED_PROTOCOL_VERSION}`)
      const flags = r.u8()
      if (flags & ~FLAG_KEYS_ARE_HASHES) throw new IncompatiblePeerError(`unknown tree flags ${flags}`)
      if (((flags & FLAG_KEYS_ARE_HASHES) !== 0) !== keysAreHashes) {
        throw new IncompatiblePeerError('peer builds its tree with the other key mode (keysAreHashes)')
      }
      width = r.u8()
      if (width < MIN_FINGERPRINT_BYTES || width > MAX_FINGERPRINT_BYTES)
        throw new MalformedMessageError(`fingerprint width ${width} outside 1-8 bytes`)
      const peerSalt = r.bytes(SALT_BYTES)
      rootKey = new Fingerprinter(peerSalt, width)
      sessionKey = new Fingerprinter(joinSalts(peerSalt, salt), width)
      expected.push(ROOT)
    } else {
      const peerSalt = r.bytes(SALT_BYTES)
      sessionKey = new Fingerprinter(joinSalts(salt, peerSalt), width)
      peerRoot = copy(r.bytes(WIRE_HASH_BYTES))
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
      const ctx = keyContext(pos)
      absorbDescription(pos, readSaltedDescription(r, ctx, fanoutAt(pos.depth), width, !initiator))
    }
    let keys = 0
    if (initiator) keys = readEnumeration(r)
    r.end()
    if (answers + descriptions + keys === 0) {
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
      // The peer saw every child match under a node that differs: a collision (or a lie).
      if (!isRoot && answer.bitmap === mine.bitmap && answer.differing === 0) collision = true
      onChildrenAnswer(mine.pos, role, mine.bitmap, answer.bitmap, answer.differing, false)
      return
    }
    const head = readLeafAnswerHead(r, mine.count)
    if (head === 'expand') {
      expected.push(mine.pos)
      return
    }
    const theirs = readLeafKeys(r, r.varint(LEAF_ANSWER_MAX), mine.pos)
    const changed = resolveLeafAnswer(myLeaves(mine.pos, reader.node(mine.pos)), head, theirs)
    if (!isRoot && !changed) collision = true
  }

  /** Initiator: my listed leaves, which of them the responder matched, and its unmatched keys. */
  function resolveLeafAnswer(
    leaves: TreeLeaf[],
    matched: boolean[],
    theirs: Array<{ key: Uint8Array; path: Uint8Array }>,
  ): boolean {
    let j = 0
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i]!
      while (j < theirs.length && compareBytes(theirs[j]!.path, leaf.path) < 0)
        found.remoteOnly.push(copy(theirs[j++]!.key))
      const same = j < theirs.length && equalBytes(theirs[j]!.path, leaf.path)
      if (same) {
        // A key it holds with another value; listed beside a leaf it matched: a collision.
        if (matched[i]) collision = true
        found.differing.push(copy(leaf.key))
        j++
      } else if (!matched[i]) found.localOnly.push(copy(leaf.key))
    }
    while (j < theirs.length) found.remoteOnly.push(copy(theirs[j++]!.key))
    return theirs.length > 0 || matched.includes(false)
  }

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

  function absorbDescription(pos: Position, description: SaltedDescription): void {
    if (description.kind === 'children') absorbChildren(pos, description.bitmap, description.fps)
    else if (description.kind === 'fingerprints') absorbFingerprints(pos, description.count, description.fps)
    else absorbKeyedLeaves(pos, description.leaves)
  }

  function absorbChildren(pos: Position, theirs: number, fps: Uint8Array): void {
    if (pos.depth >= MAX_DEPTH) throw new MalformedMessageError('children below the deepest level')
    const fp = fpAt(pos)
    const children = myChildren(pos)
    let mine = 0
    let diff = 0
    let at = 0
    for (let i = 0; i < children.length; i++) {
      const child = children[i]
      if (child !== undefined) mine = or(mine, bit(i))
      if (!has(theirs, i)) continue
      if (child !== undefined && !fp.childEquals(child.hash, fps, at)) diff = or(diff, bit(i))
      at += width
    }
    if (pos.depth > 0 && mine === theirs && diff === 0) collision = true
    owed.push({ kind: 'children', pos, theirs, mine, differing: diff })
  }

  /** Responder: the initiator's leaf fingerprints against mine. */
  function absorbFingerprints(pos: Position, count: number, fps: Uint8Array): void {
    const node = reader.node(pos)
    if (node !== undefined && node.count > LEAF_ANSWER_MAX) {
      owed.push({ kind: 'expand', pos })
      return
    }
    const fp = fpAt(pos)
    const listed = new Set<string>()
    for (let i = 0; i < count; i++) listed.add(keyOf(fps, i * width, width))
    const mineByFp = new Set<string>()
    const remoteKeys: Uint8Array[] = []
    for (const leaf of myLeaves(pos, node)) {
      const key = fp.leafKey(leaf.path, leaf.valueHash)
      mineByFp.add(key)
      if (!listed.has(key)) remoteKeys.push(leaf.key)
    }
    const matched: boolean[] = []
    for (let i = 0; i < count; i++) matched.push(mineByFp.has(keyOf(fps, i * width, width)))
    if (pos.depth > 0 && remoteKeys.length === 0 && !matched.includes(false)) collision = true
    owed.push({ kind: 'leaves', pos, matched, remoteKeys })
  }

  /** Initiator: the responder's keyed leaves against mine, resolved here. */
  function absorbKeyedLeaves(pos: Position, leaves: Array<{ key: Uint8Array; fp: Uint8Array }>): void {
    const theirs: Array<{ key: Uint8Array; fp: Uint8Array; path: Uint8Array }> = []
    for (const leaf of leaves) {
      const path = positionOf(leaf.key)
      checkUnder(path, pos, theirs.at(-1)?.path)
      theirs.push({ ...leaf, path })
    }
    const fp = fpAt(pos)
    const mine = myLeaves(pos, reader.node(pos))
    let changed = false
    let i = 0
    let j = 0
    while (i < theirs.length || j < mine.length) {
      const t = theirs[i]
      const m = mine[j]
      const order = t === undefined ? 1 : m === undefined ? -1 : compareBytes(t.path, m.path)
      if (order < 0) found.remoteOnly.push(copy(t!.key))
      else if (order > 0) found.localOnly.push(copy(m!.key))
      else if (!fp.leafEquals(m!.path, m!.valueHash, t!.fp, 0)) found.differing.push(copy(m!.key))
      else {
        i++
        j++
        continue
      }
      changed = true
      if (order <= 0) i++
      if (order >= 0) j++
    }
    if (pos.depth > 0 && !changed) collision = true
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

  const idle = () => sentHello && Object.values(queues).every((queue) => queue.length === 0)

  function result(): SaltedResult {
    const keys = collectResult(found, reader)
    const none = keys.localOnly.length + keys.remoteOnly.length + keys.differing.length === 0
    // The final agreement check: a session that found nothing between two different roots.
    const rootsDiffer = peerRoot !== undefined && !equalBytes(peerRoot, localRoot, WIRE_HASH_BYTES)
    return { ...keys, collision: collision || (none && rootsDiffer) }
  }

  return {
    build,
    absorb,
    get frameBytes() {
      return frameBytes
    },
    get finished() {
      return !initiator && idle()
    },
    close: () => reader.release(),
    get done() {
      return initiator && peerCount !== undefined && idle() && enumDone
    },
    result,
  }
}

function childrenOf(reader: Snapshot, pos: Position): Children {
  const node = reader.node(pos)
  return node === undefined ? emptyChildren(fanoutAt(pos.depth)) : reader.children(node, pos.depth)
}

/** My leaves under `pos` (whose node is `node`). */
function leavesOf(reader: Snapshot, pos: Position, node: TreeNode | undefined): TreeLeaf[] {
  if (node === undefined) return []
  return node.kind === 'bucket' ? node.leaves : [...reader.leavesAt(pos)]
}

/**
 * The shallowest depth whose nodes hold about one leaf among `n` (as in protocol 1). The responder
 * lists nodes there by keys even above two leaves: describing them by children would take the
 * session to a fourth round trip (seen at N = 1M, d = 10,000, below an initiator node of 33 leaves).
 */
function leafDepthFor(n: number): number {
  let depth = 1
  while (depth < MAX_DEPTH && n / 2 ** prefixBits(depth) > 1.5) depth++
  return depth
}

/** My descriptions the peer must answer, my answers owed, nodes to describe and to expect, subtrees to list. */
function newQueues(initiator: boolean) {
  return {
    awaiting: [] as Awaiting[],
    owed: [] as Owed[],
    // The initiator always starts by describing the root.
    toDescribe: (initiator ? [ROOT] : []) as Position[],
    expected: [] as Position[],
    enumeration: [] as Position[],
  }
}

/** The session's key material: both salts, the initiator's first. */
function joinSalts(initiatorSalt: Uint8Array, responderSalt: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 * SALT_BYTES)
  out.set(initiatorSalt)
  out.set(responderSalt, SALT_BYTES)
  return out
}

function openSnapshot(tree: MerkleTree) {
  const reader = tree.snapshot()
  try {
    return { reader, localCount: reader.count(), localRoot: reader.root() }
  } catch (error) {
    reader.release()
    throw error
  }
}

type Snapshot = ReturnType<MerkleTree['snapshot']>

interface Found {
  localOnly: Uint8Array[]
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

function newMessageParts() {
  return { answers: new ByteWriter(256), descriptions: new ByteWriter(1024), keys: new ByteWriter(1024) }
}

/** Room kept free for one more item: a responder's leaf list of LEAF_LIST_MAX keys and fingerprints, twice. */
function itemReserve(keysAreHashes: boolean): number {
  return 16 + 2 * LEAF_LIST_MAX * (maxKeyBytes(keysAreHashes) + MAX_FINGERPRINT_BYTES)
}

const copy = (bytes: Uint8Array) => new Uint8Array(bytes)
