/**
 * What both reconciliation protocols' sessions share besides their core (session-core.ts): the
 * public session types and limits, node positions, the snapshot a session reads, the keys it
 * found and the result it makes of them.
 */
import { type ByteReader, ByteWriter, compareBytes } from './bytes.js'
import { IncompatiblePeerError } from './errors.js'
import { type Children, emptyChildren } from './node-codec.js'
import { fanoutAt, MAX_DEPTH, PATH_BYTES, prefixBits } from './path.js'
import type { MerkleTree, TreeLeaf, TreeNode } from './tree.js'

export type Role = 'initiator' | 'responder'

export interface ReconcileResult {
  /** Keys only this side (the initiator) has. */
  localOnly: Uint8Array[]
  /** Keys only the peer has. */
  remoteOnly: Uint8Array[]
  /** Keys both have, with different value hashes. */
  differing: Uint8Array[]
}

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

export const MIN_MESSAGE_BYTES = 256 * 1024
export const MIN_FRAME_BYTES = 4 * 1024

/**
 * Bytes `build()` leaves free in front of a message: the channel writes the frame flag there, so a
 * message that fits one frame is sent as it is, not copied into a frame.
 */
export const FRAME_HEADROOM = 1
/** The zero bytes written as that headroom (the channel overwrites them). */
export const HEADROOM = new Uint8Array(FRAME_HEADROOM)

export interface Position {
  readonly path: Uint8Array
  readonly depth: number
}

export const ROOT: Position = { path: new Uint8Array(PATH_BYTES), depth: 0 }

const FLAG_KEYS_ARE_HASHES = 1

/** The opening byte after the version: which key mode the initiator builds its tree with. */
export const treeFlags = (keysAreHashes: boolean): number => (keysAreHashes ? FLAG_KEYS_ARE_HASHES : 0)

/** Responder: the initiator's version and tree flags, refused unless this side speaks them. */
export function readVersionAndFlags(r: ByteReader, version: number, keysAreHashes: boolean): void {
  const theirs = r.u8()
  if (theirs !== version) throw new IncompatiblePeerError(`peer speaks version ${theirs}, not ${version}`)
  const flags = r.u8()
  if (flags & ~FLAG_KEYS_ARE_HASHES) throw new IncompatiblePeerError(`unknown tree flags ${flags}`)
  if (((flags & FLAG_KEYS_ARE_HASHES) !== 0) !== keysAreHashes) {
    throw new IncompatiblePeerError('peer builds its tree with the other key mode (keysAreHashes)')
  }
}

export type Snapshot = ReturnType<MerkleTree['snapshot']>

/**
 * One snapshot for the whole session: a batch committed between two messages must not change
 * what this side already told the peer. Released again if counting its leaves fails.
 */
export function openSnapshot(tree: MerkleTree): { reader: Snapshot; localCount: number } {
  const reader = tree.snapshot()
  try {
    return { reader, localCount: reader.count() }
  } catch (error) {
    reader.release()
    throw error
  }
}

export function childrenOf(reader: Snapshot, pos: Position): Children {
  const node = reader.node(pos)
  return node === undefined ? emptyChildren(fanoutAt(pos.depth)) : reader.children(node, pos.depth)
}

/** My leaves under `pos` (whose node is `node`), streamed: the peer may list a handful where I hold many. */
export function leavesOf(reader: Snapshot, pos: Position, node: TreeNode | undefined): Iterable<TreeLeaf> {
  if (node === undefined) return []
  // Stryker disable next-line StringLiteral: equivalent, leavesAt streams the same leaves a bucket holds
  return node.kind === 'bucket' ? node.leaves : reader.leavesAt(pos)
}

/** My leaves under `pos` (whose node is `node`), as an array. */
export function leafArrayOf(reader: Snapshot, pos: Position, node: TreeNode | undefined): TreeLeaf[] {
  if (node === undefined) return []
  // Stryker disable next-line StringLiteral: equivalent, leavesAt lists the same leaves a bucket holds
  return node.kind === 'bucket' ? node.leaves : [...reader.leavesAt(pos)]
}

/**
 * The shallowest depth whose nodes hold about one leaf among `n`: there, leaves are cheaper than
 * children. Protocol 2's responder lists nodes there by keys even above two leaves: describing them
 * by children would take the session to a fourth round trip (seen at N = 1M, d = 10,000, below an
 * initiator node of 33 leaves).
 */
export function leafDepthFor(n: number): number {
  let depth = 1
  while (depth < MAX_DEPTH && n / 2 ** prefixBits(depth) > 1.5) depth++
  return depth
}

/** Keys found to differ, as the initiator learns them. */
export interface Found {
  localOnly: Uint8Array[]
  /** Subtrees only this side has: their keys are listed when the result is asked for. */
  localOnlySubtrees: Position[]
  remoteOnly: Uint8Array[]
  differing: Uint8Array[]
}

export function newFound(): Found {
  return { localOnly: [], localOnlySubtrees: [], remoteOnly: [], differing: [] }
}

export function collectResult(found: Found, reader: Snapshot): ReconcileResult {
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
export function newMessageParts() {
  return { answers: new ByteWriter(256), descriptions: new ByteWriter(1024), keys: new ByteWriter(1024) }
}

export const copy = (bytes: Uint8Array) => new Uint8Array(bytes)
