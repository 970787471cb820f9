import { MalformedMessageError } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { and, full } from '../src/bits.js'
import { ByteReader, ByteWriter } from '../src/bytes.js'
import { digitAt, fanoutAt, prefixBits, sharesPrefix } from '../src/path.js'
import {
  readChildrenReply,
  readDescription,
  readKey,
  readStatuses,
  writeChildrenReply,
  writeKey,
  writeLeavesDescription,
  writeStatuses,
} from '../src/wire.js'

const arbFanout = fc.constantFrom(8, 16, 32)
const arbMask = (fanout: number) => fc.nat({ max: full(fanout) }).map((m) => m >>> 0)

describe('wire codecs round-trip and refuse what they would never write', () => {
  test('answers to children descriptions', () => {
    fc.assert(
      fc.property(
        arbFanout.chain((fanout) =>
          fc.tuple(fc.constant(fanout), arbMask(fanout), arbMask(fanout), arbMask(fanout)),
        ),
        ([fanout, theirs, mine, diffBits]) => {
          const differing = and(and(theirs, mine), diffBits)
          const w = new ByteWriter()
          writeChildrenReply(w, fanout, theirs, mine, differing)
          const r = new ByteReader(w.finish())
          expect(readChildrenReply(r, fanout, theirs)).toEqual({ bitmap: mine, differing })
          r.end()
        },
      ),
    )
  })

  test('leaf statuses, two bits each', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 40 }), (statuses) => {
        const w = new ByteWriter()
        writeStatuses(w, statuses)
        const r = new ByteReader(w.finish())
        expect(readStatuses(r, statuses.length)).toEqual(statuses)
        r.end()
      }),
    )
  })

  test('uniform keys leave out the bytes their node implies, and come back whole', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 64 }),
        (key, depth) => {
          const ctx = { keysAreHashes: true, path: key, depth }
          const w = new ByteWriter()
          writeKey(w, key, ctx)
          const bytes = w.finish()
          expect(bytes.length).toBe(32 - (prefixBits(depth) >>> 3))
          expect(readKey(new ByteReader(bytes), ctx)).toEqual(key)
        },
      ),
    )
  })

  test('a leaf list parses back under its node', () => {
    const key = new Uint8Array(32).fill(0xab)
    const w = new ByteWriter()
    const ctx = { keysAreHashes: true, path: key, depth: 5 }
    writeLeavesDescription(w, [{ key, valueHash: new Uint8Array(32).fill(7) }], ctx)
    const description = readDescription(new ByteReader(w.finish()), ctx, fanoutAt(5))
    expect(description).toEqual({ kind: 'leaves', leaves: [{ key, valueHash: new Uint8Array(16).fill(7) }] })
  })

  test.each([
    ['an unknown answer flag', [40], 0xffff],
    ['a redundant presence mask', [1, 0xff, 0xff], 0xffff],
    ['a single difference in long form', [0, 0x80, 0x00], 0xffff],
    ['set padding bits', [0, 0x00, 0x01], 0x0fff],
  ])('refuses %s', (_, bytes, theirs) => {
    expect(() => readChildrenReply(new ByteReader(Uint8Array.from(bytes)), 16, theirs)).toThrow(
      MalformedMessageError,
    )
  })
})

describe('paths', () => {
  test('each level takes the next bits of the path, and children share their parent prefix', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 63 }),
        (path, depth) => {
          const digit = digitAt(path, depth)
          expect(digit).toBeLessThan(fanoutAt(depth))
          const bits = prefixBits(depth + 1) - prefixBits(depth)
          let expected = 0
          for (let b = prefixBits(depth); b < prefixBits(depth + 1); b++) {
            expected = (expected << 1) | ((path[b >>> 3]! >>> (7 - (b & 7))) & 1)
          }
          expect(digit).toBe(expected)
          expect(bits).toBeGreaterThan(0)
          const other = path.slice()
          other[31] = other[31]! ^ 1
          expect(sharesPrefix(path, other, 63)).toBe(true)
          expect(sharesPrefix(path, other, 64)).toBe(false)
        },
      ),
    )
  })
})
