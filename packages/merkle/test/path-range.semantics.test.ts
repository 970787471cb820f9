import { describe, expect, test } from 'vitest'
import { BUCKET_KEY_TAG, bucketRange, PATH_BYTES, prefixBits } from '../src/path.js'

// Exact ends of bucket ranges where the prefix's last byte is 0xfe or 0xff: the increment that
// makes the end stops at a byte that reaches 0xff without overflowing, and carries past one that
// overflows. path.semantics' model property draws random paths, which meet these bytes too rarely
// (found by mutation run O: the stop made `sum < 0xff` survived it).

/** A path whose first bytes are `head`, the rest zero. */
const pathOf = (...head: number[]) => {
  const path = new Uint8Array(PATH_BYTES)
  path.set(head)
  return path
}

describe('bucket range ends at byte boundaries', () => {
  test('a last prefix byte of 0xfe ends at 0xff, with nothing carried', () => {
    // Depth 4 holds a 16-bit prefix: two whole bytes.
    expect(prefixBits(4)).toBe(16)
    expect(bucketRange(pathOf(0x12, 0xfe), 4)).toEqual({
      start: Uint8Array.of(BUCKET_KEY_TAG, 0x12, 0xfe),
      end: Uint8Array.of(BUCKET_KEY_TAG, 0x12, 0xff),
    })
    // Depth 6: 24 bits.
    expect(prefixBits(6)).toBe(24)
    expect(bucketRange(pathOf(0x00, 0x34, 0xfe), 6).end).toEqual(
      Uint8Array.of(BUCKET_KEY_TAG, 0x00, 0x34, 0xff),
    )
  })

  test('a last prefix byte of 0xff carries into the byte before it, and the overflowed byte is dropped', () => {
    expect(bucketRange(pathOf(0x12, 0xff), 4).end).toEqual(Uint8Array.of(BUCKET_KEY_TAG, 0x13))
    expect(bucketRange(pathOf(0x12, 0xfe, 0xff), 6).end).toEqual(Uint8Array.of(BUCKET_KEY_TAG, 0x12, 0xff))
  })
})
