import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  BUCKET_KEY_TAG,
  bucketKey,
  bucketRange,
  childPath,
  digitAt,
  digitBits,
  fanoutAt,
  MAX_DEPTH,
  MAX_FANOUT,
  NODE_KEY_TAG,
  nodeKey,
  PATH_BYTES,
  prefixBits,
  sharesPrefix,
} from '../src/path.js'

// A model of trie positions as bit strings: a node at depth d is named by the first
// MODEL_PREFIX[d] bits of the paths under it (5, 4, 3, then 4 bits per level).
const MODEL_PREFIX = [0]
for (let d = 0; d < 64; d++) MODEL_PREFIX.push(MODEL_PREFIX[d]! + ([5, 4, 3][d] ?? 4))
const bitsOf = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(2).padStart(8, '0')).join('')
const fromBits = (bits: string) => {
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0')
  return Uint8Array.from(padded.match(/.{8}/g) ?? [], (b) => Number.parseInt(b, 2))
}
const prefixOf = (path: Uint8Array, depth: number) => bitsOf(path).slice(0, MODEL_PREFIX[depth])
const compare = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b))

const arbPath = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc.constantFrom(new Uint8Array(32), new Uint8Array(32).fill(0xff)),
  // Ones up to some bit, then anything: prefixes of all ones carry through every byte.
  fc
    .tuple(fc.integer({ min: 0, max: 256 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
    .map(([n, rest]) => fromBits(('1'.repeat(n) + bitsOf(rest)).slice(0, 256))),
)
const arbDepth = fc.integer({ min: 0, max: MAX_DEPTH })
const arbInnerDepth = fc.integer({ min: 0, max: MAX_DEPTH - 1 })

describe('path: the level schedule', () => {
  test('5, 4 and 3 bits at the top, 4 below, covering the 256-bit path', () => {
    expect(Array.from({ length: 65 }, (_, d) => prefixBits(d))).toEqual(MODEL_PREFIX)
    expect([0, 1, 2, 3, 63].map(digitBits)).toEqual([5, 4, 3, 4, 4])
    expect([0, 1, 2, 3, 40].map(fanoutAt)).toEqual([32, 16, 8, 16, 16])
    expect(MAX_FANOUT).toBe(32)
    expect(MAX_DEPTH).toBe(64)
    expect(PATH_BYTES).toBe(32)
    expect(NODE_KEY_TAG).toBe(0x4e)
    expect(BUCKET_KEY_TAG).toBe(0x42)
  })
})

describe('path: digits, prefixes and children against the bit model (property)', () => {
  test('digitAt reads the bits of the level, also from a path inside a larger buffer', () => {
    fc.assert(
      fc.property(
        arbPath,
        arbInnerDepth,
        fc.uint8Array({ maxLength: 40 }),
        fc.nat({ max: 40 }),
        (path, d, noise, at) => {
          const expected = Number.parseInt(bitsOf(path).slice(MODEL_PREFIX[d], MODEL_PREFIX[d + 1]), 2)
          expect(digitAt(path, d)).toBe(expected)
          const buffer = new Uint8Array(at + PATH_BYTES + noise.length)
          buffer.fill(0xff, 0, at)
          buffer.set(path, at)
          buffer.set(noise, at + PATH_BYTES)
          expect(digitAt(buffer, d, at)).toBe(expected)
        },
      ),
    )
  })

  test('sharesPrefix is equality of the first prefixBits(depth) bits, also at an offset', () => {
    fc.assert(
      fc.property(
        arbPath,
        arbPath,
        arbDepth,
        fc.nat({ max: 256 }),
        fc.nat({ max: 8 }),
        (a, b, d, common, at) => {
          // b takes a's first `common` bits, then its own.
          const other = fromBits(bitsOf(a).slice(0, common) + bitsOf(b).slice(common))
          const expected = prefixOf(a, d) === prefixOf(other, d)
          expect(sharesPrefix(a, other, d)).toBe(expected)
          const buffer = new Uint8Array(at + PATH_BYTES).fill(0xa5)
          buffer.set(a, at)
          expect(sharesPrefix(buffer, other, d, at)).toBe(expected)
        },
      ),
    )
  })

  test('childPath is the parent prefix, the digit, then zeros', () => {
    fc.assert(
      fc.property(arbPath, arbInnerDepth, fc.nat(), (path, d, n) => {
        const digit = n % fanoutAt(d)
        const bits = MODEL_PREFIX[d + 1]! - MODEL_PREFIX[d]!
        const expected = (prefixOf(path, d) + digit.toString(2).padStart(bits, '0')).padEnd(256, '0')
        const child = childPath(path, d, digit)
        expect(bitsOf(child)).toBe(expected)
        expect(digitAt(child, d)).toBe(digit)
        expect(sharesPrefix(child, path, d)).toBe(true)
      }),
    )
  })

  test('node and bucket keys: tag, packed prefix (trailing bits zeroed) and depth', () => {
    fc.assert(
      fc.property(arbPath, arbDepth, (path, d) => {
        const packed = fromBits(prefixOf(path, d))
        expect(nodeKey(path, d)).toEqual(Uint8Array.from([NODE_KEY_TAG, d, ...packed]))
        expect(bucketKey(path, d)).toEqual(Uint8Array.from([BUCKET_KEY_TAG, ...packed, d]))
      }),
    )
  })
})

describe('path: bucket ranges at every depth against the model', () => {
  // Is the bucket at (q, dq) under the node at (path, d)? Exactly when q shares path's prefix. Only
  // buckets at dq >= d are asked about: a bucket above the node would hold the node's whole subtree,
  // so it never coexists with buckets under the node (buckets never overlap).
  const inRange = (range: { start: Uint8Array; end: Uint8Array }, key: Uint8Array) =>
    compare(range.start, key) <= 0 && compare(key, range.end) < 0

  test('a range holds exactly the bucket keys of the subtree (property)', () => {
    fc.assert(
      fc.property(
        arbPath,
        arbDepth,
        arbPath,
        fc.nat({ max: 256 }),
        fc.nat({ max: 64 }),
        (path, d, q0, common, below) => {
          const dq = Math.min(MAX_DEPTH, d + below)
          const q = fromBits(bitsOf(path).slice(0, common) + bitsOf(q0).slice(common))
          const range = bucketRange(path, d)
          const under = sharesPrefix(q, path, d)
          expect(inRange(range, bucketKey(q, dq))).toBe(under)
          expect(inRange(range, nodeKey(q, dq))).toBe(false)
        },
      ),
    )
  })

  test('start is the tag and packed prefix; end is the next prefix of the same length', () => {
    fc.assert(
      fc.property(arbPath, arbDepth, (path, d) => {
        const { start, end } = bucketRange(path, d)
        const prefix = prefixOf(path, d)
        expect(start).toEqual(Uint8Array.from([BUCKET_KEY_TAG, ...fromBits(prefix)]))
        // The model end: tag ‖ prefix plus one at its last bit, as a bit string, trailing zero bytes of the carry dropped.
        const whole = BUCKET_KEY_TAG.toString(2).padStart(8, '0') + prefix
        const next = (BigInt(`0b${whole}`) + 1n).toString(2).padStart(whole.length, '0')
        let expected = fromBits(next)
        if (prefix.includes('0') || prefix === '') {
          const lastOne = next.lastIndexOf('1')
          expected = expected.subarray(0, Math.floor(lastOne / 8) + 1)
        } else {
          expected = Uint8Array.of(BUCKET_KEY_TAG + 1)
        }
        expect(end).toEqual(expected)
      }),
    )
  })

  test('every depth, the all-ones and all-zeros paths included', () => {
    for (const fill of [0x00, 0xff, 0x5a]) {
      const path = new Uint8Array(32).fill(fill)
      for (let d = 0; d <= MAX_DEPTH; d++) {
        const range = bucketRange(path, d)
        for (let dq = d; dq <= MAX_DEPTH; dq++) expect(inRange(range, bucketKey(path, dq))).toBe(true)
        const flipped = fromBits(
          bitsOf(path).slice(0, Math.max(0, MODEL_PREFIX[d]! - 1)) +
            (bitsOf(path)[MODEL_PREFIX[d]! - 1] === '1' ? '0' : '1') +
            bitsOf(path).slice(MODEL_PREFIX[d]!),
        )
        if (d > 0) expect(inRange(range, bucketKey(flipped, MAX_DEPTH))).toBe(false)
      }
    }
  })
})
