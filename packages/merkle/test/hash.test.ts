import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { EMPTY_ROOT } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { bucketChildren, recordChildren } from '../src/canonical.js'
import {
  BUCKET_HASH_TAG,
  blake3,
  hashLeaves,
  hashRecords,
  hashTagged,
  INNER_HASH_TAG,
  innerHash,
  pathOfKey,
} from '../src/hash.js'
import { emptyChildren, encodeNode } from '../src/node-codec.js'
import { fanoutAt } from '../src/path.js'
import { hex } from './helpers.js'

// Official BLAKE3 test vectors (BLAKE3-team/BLAKE3, test_vectors/test_vectors.json, hash mode,
// first 32 bytes of each output). Input of length n is the bytes 0, 1, ..., 250, 0, 1, ... .
const VECTORS: Array<[number, string]> = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a'],
  [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
  [3072, 'b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2'],
  [3073, '7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3'],
  [4096, '015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
  [5120, '9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833'],
  [5121, '628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff'],
  [6144, '3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205'],
  [6145, 'f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f'],
  [7168, '61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a'],
  [7169, 'a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817'],
]

const vectorInput = (length: number) => Uint8Array.from({ length }, (_, i) => i % 251)

describe('BLAKE3 (hash-wasm) matches the official test vectors and @noble/hashes', () => {
  test.each(VECTORS)('input of %i bytes', (length, expected) => {
    const input = vectorInput(length)
    expect(hex(blake3(input))).toBe(expected)
    expect(hex(nobleBlake3(input))).toBe(expected)
  })

  test('on random inputs, split into random parts', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 5 }), (parts) => {
        const whole = Uint8Array.from(parts.flatMap((p) => [...p]))
        expect(hex(blake3(...parts))).toBe(hex(nobleBlake3(whole)))
      }),
      { numRuns: 200 },
    )
  })
})

describe('domain separation', () => {
  test('leaf buckets, inner nodes and key paths hash under distinct one-byte tags', () => {
    const bytes = valueBytes(64)
    const asBucket = hashLeaves([{ path: bytes.subarray(0, 32), valueHash: bytes.subarray(32) }])
    expect(hex(asBucket)).toBe(hex(nobleBlake3(Uint8Array.of(0, ...bytes))))
    expect(hex(hashTagged(Uint8Array.of(BUCKET_HASH_TAG, ...bytes)))).toBe(hex(asBucket))
    expect(hex(innerHash(bytes))).toBe(hex(nobleBlake3(Uint8Array.of(1, ...bytes))))
    expect(hex(pathOfKey(bytes))).toBe(hex(nobleBlake3(Uint8Array.of(2, ...bytes))))
    expect(new Set([hex(asBucket), hex(innerHash(bytes)), hex(pathOfKey(bytes))]).size).toBe(3)
  })

  test('a bucket hashed from its leaves and from its tagged stored records agree', () => {
    const leaf = fc.record({
      path: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      valueHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    })
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 40 }), fc.nat(), fc.nat(), (leaves, x, y) => {
        const from = leaves.length === 0 ? 0 : x % leaves.length
        const to = from + (leaves.length === 0 ? 0 : y % (leaves.length - from + 1))
        const records = Uint8Array.from(leaves.slice(from, to).flatMap((l) => [...l.path, ...l.valueHash]))
        const expected = hex(nobleBlake3(Uint8Array.of(0, ...records)))
        expect(hex(hashLeaves(leaves, from, to))).toBe(expected)
        const stored = Uint8Array.from(leaves.flatMap((l) => [...l.path, ...l.valueHash]))
        expect(hex(hashRecords(stored, from * 64, to * 64))).toBe(expected)
        expect(hex(hashTagged(Uint8Array.of(BUCKET_HASH_TAG, ...records)))).toBe(expected)
        expect(hex(hashTagged(Uint8Array.of(INNER_HASH_TAG, ...records)))).toBe(hex(innerHash(records)))
      }),
      { numRuns: 200 },
    )
  })

  test('the children of a bucket listed from its stored records equal those listed from its leaves', () => {
    // Sorted paths sharing a prefix, as in a bucket at `depth`: the children split them by digit.
    const leaf = fc.record({
      path: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      valueHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    })
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 33 }), fc.integer({ min: 1, max: 63 }), (raw, depth) => {
        const leaves = raw
          .map((l) => ({ ...l, path: Uint8Array.of(0xa5, 0x5a, ...l.path.subarray(2)) }))
          .sort((a, b) => Buffer.compare(a.path, b.path))
          .filter((l, i, all) => i === 0 || Buffer.compare(all[i - 1]!.path, l.path) !== 0)
        const records = Uint8Array.from(leaves.flatMap((l) => [...l.path, ...l.valueHash]))
        const show = (c: ReturnType<typeof bucketChildren>) =>
          c.map((e) => (e === undefined ? '-' : `${hex(e.hash)}:${e.count}`))
        expect(show(recordChildren(records, depth))).toEqual(show(bucketChildren(leaves, depth)))
      }),
      { numRuns: 200 },
    )
  })

  test('tagged hashing refuses bytes without a node tag, so no input escapes domain separation', () => {
    expect(() => hashTagged(Uint8Array.of(2, 1, 2, 3))).toThrow(/domain tag/)
    expect(() => hashTagged(new Uint8Array(0))).toThrow(/domain tag/)
  })

  test('the empty root is the inner-node hash of an empty 32-child mask', () => {
    expect(hex(EMPTY_ROOT)).toBe(hex(nobleBlake3(Uint8Array.of(1, 0, 0, 0, 0))))
    // tree.ts writes the constant out; it is the canonical hash of the root with no children.
    expect(hex(EMPTY_ROOT)).toBe(hex(innerHash(encodeNode(emptyChildren(fanoutAt(0))))))
  })
})

function valueBytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff)
}
