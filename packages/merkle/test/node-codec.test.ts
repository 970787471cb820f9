import { MalformedMessageError } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { has, readMask, writeMask, writeMaskAt } from '../src/bits.js'
import { ByteReader, ByteWriter } from '../src/bytes.js'
import {
  type Children,
  createNodeLayout,
  decodeNode,
  encodeNode,
  maxEncodedNodeBytes,
  readNodeLayout,
} from '../src/node-codec.js'
import { hex } from './helpers.js'

const arbFanout = fc.constantFrom(8, 16, 32)
const arbChildren = (fanout: number) =>
  fc.array(
    fc.option(
      fc.record({
        hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        count: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(Number.MAX_SAFE_INTEGER)),
      }),
      { nil: undefined },
    ),
    { minLength: fanout, maxLength: fanout },
  )
const arbNode = arbFanout.chain((fanout) => arbChildren(fanout).map((children) => ({ fanout, children })))

/** `children` encoded, with the last child's count (a single byte) replaced by the bytes `count`. */
function withCount(children: Children, count: number[]): Uint8Array {
  const encoded = encodeNode(children)
  const out = new Uint8Array(encoded.length - 1 + count.length)
  out.set(encoded.subarray(0, encoded.length - 1))
  out.set(count, encoded.length - 1)
  return out
}

/** LEB128 of 2^56 - 1: eight bytes, the longest varint a reader accepts, above MAX_SAFE_INTEGER. */
const ABOVE_SAFE = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
/** LEB128 of 2^53 - 1. */
const MAX_SAFE = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]

function parseLayout(bytes: Uint8Array, fanout: number) {
  // A buffer longer than the node, as the batch path reads it: bytes past `length` must not count.
  const buffer = new Uint8Array(bytes.length + 7).fill(0xaa)
  buffer.set(bytes)
  const layout = createNodeLayout(fanout)
  readNodeLayout(buffer, bytes.length, fanout, layout)
  return layout
}

describe('node codec', () => {
  test('decodeNode inverts encodeNode, and readNodeLayout locates the same entries', () => {
    fc.assert(
      fc.property(arbNode, ({ fanout, children }) => {
        const encoded = encodeNode(children)
        expect(encoded.length).toBeLessThanOrEqual(maxEncodedNodeBytes(fanout))
        const decoded = decodeNode(encoded, fanout)
        expect(decoded.map((c) => c && { hash: hex(c.hash), count: c.count })).toEqual(
          children.map((c) => c && { hash: hex(c.hash), count: c.count }),
        )
        const layout = parseLayout(encoded, fanout)
        for (let i = 0; i < fanout; i++) {
          const child = children[i]
          if (child === undefined) {
            expect(layout.start[i]).toBe(-1)
            continue
          }
          const start = layout.start[i]!
          expect(hex(encoded.subarray(start, start + 32))).toBe(hex(child.hash))
          expect(layout.count[i]).toBe(child.count)
          expect(layout.end[i]! - start).toBeGreaterThan(32)
        }
      }),
      { numRuns: 200 },
    )
  })

  test('both parsers refuse a count above Number.MAX_SAFE_INTEGER and accept MAX_SAFE_INTEGER itself', () => {
    const children: Children = new Array(16).fill(undefined)
    children[3] = { hash: new Uint8Array(32).fill(3), count: 5 }
    children[9] = { hash: new Uint8Array(32).fill(9), count: 7 }
    const above = withCount(children, ABOVE_SAFE)
    expect(() => decodeNode(above, 16)).toThrow(MalformedMessageError)
    expect(() => parseLayout(above, 16)).toThrow(MalformedMessageError)
    const max = withCount(children, MAX_SAFE)
    expect(decodeNode(max, 16)[9]?.count).toBe(Number.MAX_SAFE_INTEGER)
    expect(parseLayout(max, 16).count[9]).toBe(Number.MAX_SAFE_INTEGER)
  })

  test('both parsers refuse a child with zero leaves, first, middle or last (a stored node never has one)', () => {
    const children: Children = new Array(16).fill(undefined)
    children[0] = { hash: new Uint8Array(32).fill(1), count: 5 }
    children[6] = { hash: new Uint8Array(32).fill(6), count: 1 }
    children[15] = { hash: new Uint8Array(32).fill(15), count: 7 }
    // The last child's count is the node's last byte; a count of 1 is accepted, 0 is not.
    expect(decodeNode(withCount(children, [1]), 16)[15]?.count).toBe(1)
    expect(() => decodeNode(withCount(children, [0]), 16)).toThrow('child with zero leaves')
    expect(() => parseLayout(withCount(children, [0]), 16)).toThrow('child with zero leaves')
    for (const zero of [0, 6]) {
      const encoded = encodeNode(children)
      // Each entry is the mask (2 bytes), then 32 bytes of hash and a one-byte count per child.
      const countAt = 2 + (zero === 0 ? 0 : 1) * 33 + 32
      expect(encoded[countAt]).toBe(children[zero]!.count)
      encoded[countAt] = 0
      expect(() => decodeNode(encoded, 16)).toThrow('child with zero leaves')
      expect(() => parseLayout(encoded, 16)).toThrow('child with zero leaves')
    }
  })

  test('both parsers refuse the same damaged nodes', () => {
    fc.assert(
      fc.property(arbNode, fc.nat(), fc.integer({ min: 0, max: 255 }), ({ fanout, children }, at, byte) => {
        const damaged = encodeNode(children)
        damaged[at % damaged.length] = byte
        let decodeError: unknown
        let layoutError: unknown
        try {
          decodeNode(damaged, fanout)
        } catch (error) {
          decodeError = error
        }
        try {
          parseLayout(damaged, fanout)
        } catch (error) {
          layoutError = error
        }
        expect(String(layoutError)).toBe(String(decodeError))
      }),
      { numRuns: 300 },
    )
  })

  test('writeMask and writeMaskAt write the same bytes, and readMask reads the mask back', () => {
    fc.assert(
      fc.property(arbFanout, fc.integer({ min: 0, max: 0xffffffff }), fc.nat(3), (fanout, raw, at) => {
        const mask = fanout === 32 ? raw >>> 0 : raw & ((1 << fanout) - 1)
        const out = new Uint8Array(at + 4)
        expect(writeMaskAt(out, at, mask, fanout)).toBe(at + fanout / 8)
        const w = new ByteWriter(1)
        writeMask(w, mask, fanout)
        expect(hex(w.finish())).toBe(hex(out.subarray(at, at + fanout / 8)))
        expect(readMask(new ByteReader(out.subarray(at)), fanout)).toBe(mask)
        // Child 0 is the high bit of the first byte.
        expect((out[at]! & 0x80) !== 0).toBe(has(mask, 0))
      }),
    )
  })
})
