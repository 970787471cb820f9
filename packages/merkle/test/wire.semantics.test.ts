import { MalformedMessageError } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { full, popcount } from '../src/bits.js'
import { ByteReader, ByteWriter } from '../src/bytes.js'
import type { Children } from '../src/node-codec.js'
import {
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
  writeChildrenDescription,
  writeChildrenReply,
  writeKey,
  writeLeavesDescription,
  writeStatuses,
} from '../src/wire.js'

// The reconciliation grammar (README "Wire format") byte by byte: what each form looks like, and
// the exact refusal of every byte string a correct peer never sends.

const bytesOf = (write: (w: ByteWriter) => void) => {
  const w = new ByteWriter()
  write(w)
  return [...w.finish()]
}
const refusal = (reason: string) => new MalformedMessageError(reason)
const hashKeys = { keysAreHashes: true, path: new Uint8Array(32), depth: 0 }
const textKeys = { keysAreHashes: false, path: new Uint8Array(32), depth: 0 }
const hash = (n: number) => new Uint8Array(32).fill(n)
const childrenOf = (fanout: number, present: number[]): Children =>
  Array.from({ length: fanout }, (_, i) =>
    present.includes(i) ? { hash: hash(i + 1), count: 1 } : undefined,
  )

describe('constants of protocol version 1', () => {
  test('version, leaf statuses and the leaf list bound', () => {
    expect(PROTOCOL_VERSION).toBe(1)
    expect([LEAF_SAME, LEAF_DIFFERS, LEAF_MISSING]).toEqual([0, 1, 2])
    expect(LEAF_LIST_MAX).toBe(32)
  })
})

describe('node descriptions', () => {
  test('all children: 0xff then each 16-byte hash; some: 0xfe, the mask, then the present hashes', () => {
    const all = bytesOf((w) => writeChildrenDescription(w, childrenOf(8, [0, 1, 2, 3, 4, 5, 6, 7])))
    expect(all).toEqual([0xff, ...[1, 2, 3, 4, 5, 6, 7, 8].flatMap((n) => Array(16).fill(n))])
    const some = bytesOf((w) => writeChildrenDescription(w, childrenOf(16, [0, 9])))
    expect(some).toEqual([0xfe, 0x80, 0x40, ...Array(16).fill(1), ...Array(16).fill(10)])
    const description = readDescription(new ByteReader(Uint8Array.from(some)), hashKeys, 16)
    expect(description.kind).toBe('children')
    if (description.kind === 'children') {
      expect(description.bitmap).toBe(0b10_0000_0001)
      expect([...description.hashes]).toEqual([...Array(16).fill(1), ...Array(16).fill(10)])
    }
    const read = readDescription(new ByteReader(Uint8Array.from(all)), hashKeys, 8)
    expect(read.kind === 'children' && read.bitmap).toBe(0xff)
  })

  test('refuses no children, a mask that should have been 0xff, and headers above the leaf bound', () => {
    const read =
      (bytes: number[], fanout = 8) =>
      () =>
        readDescription(new ByteReader(Uint8Array.from(bytes)), hashKeys, fanout)
    expect(read([0xfe, 0x00])).toThrow(refusal('node described with no children'))
    expect(read([0xfe, 0xff, ...Array(8 * 16).fill(0)])).toThrow(refusal('non-canonical description'))
    expect(read([0xfe, 0xff, 0xff, 0xff, 0xff, ...Array(32 * 16).fill(0)], 32)).toThrow(
      refusal('non-canonical description'),
    )
    for (const head of [LEAF_LIST_MAX + 1, 0x80, 0xfd])
      expect(read([head]), `header ${head}`).toThrow(refusal(`unknown description header ${head}`))
    // The bound itself is a leaf list (of 32 keys).
    expect(read([LEAF_LIST_MAX])).toThrow(refusal('truncated'))
    // Hashes are read for exactly the children present.
    expect(read([0xfe, 0x81, ...Array(31).fill(0)])).toThrow(refusal('truncated'))
  })

  test('leaf lists: count, then each key and its 16-byte value hash', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.uint8Array({ minLength: 1, maxLength: 40 }),
            valueHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          }),
          {
            maxLength: LEAF_LIST_MAX,
          },
        ),
        (leaves) => {
          const bytes = bytesOf((w) => writeLeavesDescription(w, leaves, textKeys))
          const expected = [
            leaves.length,
            ...leaves.flatMap((l) => [l.key.length, ...l.key, ...l.valueHash.subarray(0, 16)]),
          ]
          expect(bytes).toEqual(expected)
          const read = readDescription(new ByteReader(Uint8Array.from(bytes)), textKeys, 16)
          expect(read).toEqual({
            kind: 'leaves',
            leaves: leaves.map((l) => ({ key: l.key, valueHash: l.valueHash.subarray(0, 16) })),
          })
        },
      ),
    )
  })
})

describe('keys', () => {
  test('a free-form key is its length then its bytes; empty and over-long keys are refused', () => {
    expect(bytesOf((w) => writeKey(w, Uint8Array.of(7, 8), textKeys))).toEqual([2, 7, 8])
    const longest = new Uint8Array(1024).fill(1)
    const encoded = bytesOf((w) => writeKey(w, longest, textKeys))
    expect(encoded.length).toBe(maxKeyBytes(false))
    expect(readKey(new ByteReader(Uint8Array.from(encoded)), textKeys)).toEqual(longest)
    expect(() => readKey(new ByteReader(Uint8Array.of(0)), textKeys)).toThrow(refusal('empty key'))
    expect(() => readKey(new ByteReader(Uint8Array.of(0x81, 0x08)), textKeys)).toThrow(
      refusal('varint 1025 above 1024'),
    )
  })

  test('a hash key is at most 32 bytes on the wire, and whole when no byte is implied', () => {
    expect(maxKeyBytes(true)).toBe(32)
    const key = Uint8Array.from({ length: 32 }, (_, i) => i)
    expect(bytesOf((w) => writeKey(w, key, hashKeys))).toEqual([...key])
    // Depth 1 fixes 5 bits: no whole byte, the key travels whole.
    expect(bytesOf((w) => writeKey(w, key, { ...hashKeys, path: key, depth: 1 }))).toEqual([...key])
    // Depth 2 fixes 9 bits: one byte is implied and comes back from the node's path.
    expect(bytesOf((w) => writeKey(w, key, { ...hashKeys, path: key, depth: 2 }))).toEqual([
      ...key.subarray(1),
    ])
    expect(readKey(new ByteReader(key.subarray(1)), { ...hashKeys, path: key, depth: 2 })).toEqual(key)
  })
})

describe('answers to children descriptions', () => {
  test('one differing child under the same presence is the single byte 2 + its index', () => {
    for (const fanout of [8, 16, 32]) {
      for (const i of [0, 1, fanout - 1]) {
        const mask = full(fanout)
        expect(bytesOf((w) => writeChildrenReply(w, fanout, mask, mask, 2 ** i))).toEqual([2 + i])
        expect(readChildrenReply(new ByteReader(Uint8Array.of(2 + i)), fanout, mask)).toEqual({
          bitmap: mask,
          differing: 2 ** i,
        })
      }
    }
  })

  test('otherwise a flag, our mask when it differs, then one bit per child both have', () => {
    // Same presence (children 0..7 of 8), two differ (1 and 6): flag 0, then bits 0100_0010.
    expect(bytesOf((w) => writeChildrenReply(w, 8, 0xff, 0xff, 0b0100_0010))).toEqual([0, 0b0100_0010])
    // Nothing differs under the same presence (only the root answers so): flag 0 and zero bits.
    expect(bytesOf((w) => writeChildrenReply(w, 8, 0xff, 0xff, 0))).toEqual([0, 0])
    // Our presence differs: flag 1, our mask (child 0 in the high bit), then bits over the common
    // children (0 and 2), the second of which differs.
    expect(bytesOf((w) => writeChildrenReply(w, 8, 0b0000_0111, 0b0000_0101, 0b100))).toEqual([
      1, 0b1010_0000, 0b0100_0000,
    ])
    // No common child: no bits at all.
    expect(bytesOf((w) => writeChildrenReply(w, 8, 0b01, 0b10, 0))).toEqual([1, 0b0100_0000])
    // Nine common children take two bytes, the second padded with zeros.
    expect(bytesOf((w) => writeChildrenReply(w, 16, 0x1ff, 0x1ff, 0b1_0000_0011))).toEqual([
      0, 0b1100_0000, 0b1000_0000,
    ])
  })

  test('refuses every reply a correct peer never writes, naming why', () => {
    const read =
      (bytes: number[], theirs: number, fanout = 8) =>
      () =>
        readChildrenReply(new ByteReader(Uint8Array.from(bytes)), fanout, theirs)
    expect(read([2 + 3], 0b0111)).toThrow(refusal('differing child that was not described'))
    expect(read([2 + 8], 0xff)).toThrow(refusal('unknown reply flag 10'))
    expect(read([2 + 16], 0xffff, 16)).toThrow(refusal('unknown reply flag 18'))
    expect(read([1, 0xff, 0], 0xff)).toThrow(refusal('redundant presence mask'))
    expect(read([0, 0b0001_0000], 0xff)).toThrow(refusal('non-canonical reply'))
    expect(read([0, 0b0000_0001], 0b0111_1111)).toThrow(refusal('padding bits set'))
    // Under our own presence the long form of one difference is canonical (the short form needs
    // the same presence), and the padding after 7 bits may be zero.
    expect(read([1, 0b0111_1111, 0b1000_0000], 0xff)()).toEqual({ bitmap: 0b1111_1110, differing: 0b10 })
    expect(read([0, 0b0000_0000], 0b0111_1111)()).toEqual({ bitmap: 0b0111_1111, differing: 0 })
  })

  test('round-trips every answer, and its length is what the grammar says (property)', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(8, 16, 32)
          .chain((fanout) =>
            fc.tuple(
              fc.constant(fanout),
              fc.nat({ max: full(fanout) }),
              fc.nat({ max: full(fanout) }),
              fc.nat({ max: full(fanout) }),
            ),
          ),
        ([fanout, theirs, mine, bits]) => {
          const common = (theirs & mine) >>> 0
          const differing = (common & bits) >>> 0
          const bytes = bytesOf((w) => writeChildrenReply(w, fanout, theirs, mine, differing))
          const short = mine === theirs && popcount(differing) === 1
          const length = short ? 1 : 1 + (mine === theirs ? 0 : fanout / 8) + Math.ceil(popcount(common) / 8)
          expect(bytes.length).toBe(length)
          const r = new ByteReader(Uint8Array.from(bytes))
          expect(readChildrenReply(r, fanout, theirs)).toEqual({ bitmap: mine, differing })
          r.end()
        },
      ),
    )
  })
})

describe('leaf statuses', () => {
  test('two bits each, first leaf in the high bits, four to a byte, zero padding', () => {
    expect(bytesOf((w) => writeStatuses(w, [1, 2, 0, 1, 2]))).toEqual([0b01_10_00_01, 0b10_00_00_00])
    expect(bytesOf((w) => writeStatuses(w, []))).toEqual([])
    expect(readStatuses(new ByteReader(Uint8Array.of(0b01_10_00_01, 0b10_00_00_00)), 5)).toEqual([
      1, 2, 0, 1, 2,
    ])
  })

  test('refuses status 3 and set padding bits', () => {
    expect(() => readStatuses(new ByteReader(Uint8Array.of(0b11_00_00_00)), 1)).toThrow(
      refusal('unknown leaf status 3'),
    )
    expect(() => readStatuses(new ByteReader(Uint8Array.of(0b00_11_00_00)), 4)).toThrow(
      refusal('unknown leaf status 3'),
    )
    expect(() => readStatuses(new ByteReader(Uint8Array.of(0b00_00_00_01)), 3)).toThrow(
      refusal('padding bits set'),
    )
    expect(() => readStatuses(new ByteReader(Uint8Array.of(0b00_01_00_00)), 1)).toThrow(
      refusal('padding bits set'),
    )
    expect(readStatuses(new ByteReader(Uint8Array.of(0b10_00_00_00)), 1)).toEqual([2])
  })
})
