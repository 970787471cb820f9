import type { Timestamp } from '@provsync/hlc'
import { copyBytes } from './bytes.js'
import type { AssertionEvidence, Component, LocalEvidence, Provenance } from './view.js'

// Compact binary forms of derived state kept in LMDB. They never leave the node, so they carry
// no version byte: a change goes through a schema migration instead. Ingest writes them for
// every record, so they are written field by field, without intermediate allocations.

const WALL_HIGH = 2 ** 32

function writeHlc(view: DataView, out: Uint8Array, offset: number, ts: Timestamp): void {
  view.setUint16(offset, Math.floor(ts.wallMs / WALL_HIGH))
  view.setUint32(offset + 2, ts.wallMs % WALL_HIGH)
  view.setUint16(offset + 6, ts.counter)
  out.set(ts.nodeId, offset + 8)
}

function readHlc(view: DataView, bytes: Uint8Array, offset: number): Timestamp {
  return {
    wallMs: view.getUint16(offset) * WALL_HIGH + view.getUint32(offset + 2),
    counter: view.getUint16(offset + 6),
    nodeId: bytes.slice(offset + 8, offset + 16),
  }
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/**
 * A buffer reused by encoders whose output is put at once inside a synchronous write transaction,
 * where lmdb-js copies the value into the page before `put` returns (it hands LMDB the buffer's
 * address and writes immediately); never for a value kept after the put. Saves a new ArrayBuffer
 * per encoding on the apply path.
 */
export class Scratch {
  private bytes = new Uint8Array(1024)
  /** A DataView of the whole buffer (offsets in it are offsets in what {@link take} returns). */
  view = new DataView(this.bytes.buffer)

  /** `size` zeroed bytes at the start of the buffer. */
  take(size: number): Uint8Array {
    if (size > this.bytes.length) {
      this.bytes = new Uint8Array(Math.max(size, 2 * this.bytes.length))
      this.view = new DataView(this.bytes.buffer)
    } else this.bytes.fill(0, 0, size)
    return this.bytes.subarray(0, size)
  }
}

/** A new buffer of `size` bytes, or `scratch`'s. */
export function allocate(size: number, scratch: Scratch | undefined): Uint8Array {
  return scratch === undefined ? new Uint8Array(size) : scratch.take(size)
}

/** A DataView of what {@link allocate} returned. */
export function viewOf(out: Uint8Array, scratch: Scratch | undefined): DataView {
  return scratch === undefined ? dataView(out) : scratch.view
}

/** A copy of evidence in plain, unshared Uint8Arrays, safe to hand out. */
export function copyEvidence(e: AssertionEvidence): AssertionEvidence {
  return {
    asserter: copyBytes(e.asserter),
    run: e.run,
    hlc: { wallMs: e.hlc.wallMs, counter: e.hlc.counter, nodeId: copyBytes(e.hlc.nodeId) },
    hash: copyBytes(e.hash),
    via: e.via === undefined ? undefined : copyBytes(e.via),
  }
}

/** run(8) ‖ hlc(16) ‖ type(1: 0 local, 1 asserted, 2 relayed) [‖ asserter [‖ via]] ‖ corroborators */
export function encodeComponent(c: Component, scratch?: Scratch): Uint8Array {
  const p = c.provenance
  const type = p.type === 'local' ? 0 : p.via === undefined ? 1 : 2
  const head = 25 + (type === 0 ? 0 : 32) + (type === 2 ? 32 : 0)
  const out = allocate(head + 32 * c.corroborators.length, scratch)
  const view = viewOf(out, scratch)
  view.setBigUint64(0, c.run)
  writeHlc(view, out, 8, c.hlc)
  out[24] = type
  if (p.type === 'asserted') {
    out.set(p.asserter, 25)
    if (p.via !== undefined) out.set(p.via, 57)
  }
  for (let i = 0; i < c.corroborators.length; i++) out.set(c.corroborators[i]!, head + 32 * i)
  return out
}

export function decodeComponent(stored: Uint8Array): Component {
  const bytes = new Uint8Array(stored)
  const view = dataView(bytes)
  const type = bytes[24]
  let provenance: Provenance
  let offset = 25
  if (type === 0) provenance = { type: 'local' }
  else if (type === 1) {
    provenance = { type: 'asserted', asserter: bytes.slice(25, 57) }
    offset = 57
  } else {
    provenance = { type: 'asserted', asserter: bytes.slice(25, 57), via: bytes.slice(57, 89) }
    offset = 89
  }
  const corroborators: Uint8Array[] = []
  for (; offset + 32 <= bytes.length; offset += 32) corroborators.push(bytes.slice(offset, offset + 32))
  return { run: view.getBigUint64(0), hlc: readHlc(view, bytes, 8), provenance, corroborators }
}

/**
 * Everything about one coordinate in one LMDB value: the coordinate, this node's local evidence,
 * the current evidence of every asserter's register, and the derived view component. One read
 * and one write per recomputation, and no range read: revoking a peer rewrites each of its
 * coordinates once. Mutable while a transaction works on it.
 */
export interface CoordinateEntry {
  coordinate: Uint8Array
  local?: LocalEvidence | undefined
  /** Encoded view component ({@link encodeComponent}). */
  component?: Uint8Array | undefined
  /** One per asserter register, in no particular order. */
  evidence: AssertionEvidence[]
  /**
   * Sequence number of the coordinate's latest history entry (schema 5); each history entry names
   * the one before it, so the coordinate's history is found without an index of its own.
   */
  lastHistory?: number | undefined
}

const ROW_BYTES = 32 + 8 + 16 + 32 + 1 + 32

const HAS_LOCAL = 1
const HAS_HISTORY = 2

/**
 * u16 length ‖ coordinate ‖ flags (bit 0: local evidence, bit 1: history) [‖ local (24)]
 * [‖ last history seq (8)] ‖ u32 length ‖ component ‖ u16 count ‖ rows of asserter (32) ‖ run (8)
 * ‖ hlc (16) ‖ hash (32) ‖ has via (1) ‖ via (32). Schema 4 entries have no bit 1 and decode alike.
 */
export function encodeCoordinateEntry(entry: CoordinateEntry, scratch?: Scratch): Uint8Array {
  const { coordinate, local, component, evidence, lastHistory } = entry
  const componentLength = component?.length ?? 0
  const size =
    2 +
    coordinate.length +
    1 +
    (local === undefined ? 0 : 24) +
    (lastHistory === undefined ? 0 : 8) +
    4 +
    componentLength +
    2
  const out = allocate(size + ROW_BYTES * evidence.length, scratch)
  const view = viewOf(out, scratch)
  view.setUint16(0, coordinate.length)
  out.set(coordinate, 2)
  let offset = 2 + coordinate.length
  out[offset++] = (local === undefined ? 0 : HAS_LOCAL) | (lastHistory === undefined ? 0 : HAS_HISTORY)
  if (local !== undefined) {
    view.setBigUint64(offset, local.run)
    writeHlc(view, out, offset + 8, local.hlc)
    offset += 24
  }
  if (lastHistory !== undefined) {
    writeSeq(view, offset, lastHistory)
    offset += 8
  }
  view.setUint32(offset, componentLength)
  if (component !== undefined) out.set(component, offset + 4)
  offset += 4 + componentLength
  view.setUint16(offset, evidence.length)
  offset += 2
  for (const e of evidence) {
    out.set(e.asserter, offset)
    view.setBigUint64(offset + 32, e.run)
    writeHlc(view, out, offset + 40, e.hlc)
    out.set(e.hash, offset + 56)
    if (e.via !== undefined) {
      out[offset + 88] = 1
      out.set(e.via, offset + 89)
    }
    offset += ROW_BYTES
  }
  return out
}

/**
 * Byte fields are plain Uint8Array views into `stored` (lmdb-js hands out a fresh copy per read,
 * so nothing else writes to it); {@link copyEvidence} before handing evidence out.
 */
export function decodeCoordinateEntry(stored: Uint8Array): CoordinateEntry {
  const view = dataView(stored)
  const at = (offset: number, length: number) =>
    new Uint8Array(stored.buffer, stored.byteOffset + offset, length)
  const coordinateLength = view.getUint16(0)
  const coordinate = at(2, coordinateLength)
  let offset = 2 + coordinateLength
  let local: LocalEvidence | undefined
  const flags = stored[offset++]!
  if (flags & HAS_LOCAL) {
    local = { run: view.getBigUint64(offset), hlc: readHlc(view, stored, offset + 8) }
    offset += 24
  }
  let lastHistory: number | undefined
  if (flags & HAS_HISTORY) {
    lastHistory = readSeq(view, offset)
    offset += 8
  }
  const componentLength = view.getUint32(offset)
  const component = componentLength === 0 ? undefined : at(offset + 4, componentLength)
  offset += 4 + componentLength
  const count = view.getUint16(offset)
  offset += 2
  const evidence: AssertionEvidence[] = new Array(count)
  for (let i = 0; i < count; i++, offset += ROW_BYTES) {
    evidence[i] = {
      asserter: at(offset, 32),
      run: view.getBigUint64(offset + 32),
      hlc: {
        wallMs: view.getUint16(offset + 40) * WALL_HIGH + view.getUint32(offset + 42),
        counter: view.getUint16(offset + 46),
        nodeId: at(offset + 48, 8),
      },
      hash: at(offset + 56, 32),
      via: stored[offset + 88] === 1 ? at(offset + 89, 32) : undefined,
    }
  }
  return { coordinate, local, component, evidence, lastHistory }
}

/** A sequence number (below 2^53) as u64 big-endian at `offset`. */
export function writeSeq(view: DataView, offset: number, seq: number): void {
  view.setUint32(offset, Math.floor(seq / WALL_HIGH))
  view.setUint32(offset + 4, seq % WALL_HIGH)
}

export function readSeq(view: DataView, offset: number): number {
  return view.getUint32(offset) * WALL_HIGH + view.getUint32(offset + 4)
}
