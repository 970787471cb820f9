import { describe, expect, test } from 'vitest'
import { Fingerprinter, keyOf, MAX_FINGERPRINT_BYTES } from '../src/fingerprint.js'
import { hashOf, hex } from './helpers.js'

// The salted fingerprints of protocol 2 (fingerprint.ts), without a session: what a fingerprint is
// a function of, every byte of it written, and its collision rate. Run by `npm run mutate`
// (the LMDB suite salted-session.test.ts has the same properties through sessions).

const seedA = new Uint8Array(16).fill(1)
const seedB = new Uint8Array(16).fill(2)

/** A fingerprint written into a buffer prefilled with `fill`, at offset 3. */
function write(fp: Fingerprinter, fill: number, kind: 'child' | 'leaf', a: Uint8Array, b?: Uint8Array) {
  const out = new Uint8Array(3 + fp.width + 2).fill(fill)
  if (kind === 'child') fp.child(a, out, 3)
  else fp.leaf(a, b!, out, 3)
  // Nothing outside the fingerprint's own bytes is touched.
  expect([...out.subarray(0, 3), ...out.subarray(3 + fp.width)]).toEqual(new Array(5).fill(fill))
  return out.subarray(3, 3 + fp.width)
}

describe('salted fingerprints', () => {
  test('every byte of every width is written, whatever the buffer held (1 to 8 bytes)', () => {
    const h = hashOf('x')
    for (let width = 1; width <= MAX_FINGERPRINT_BYTES; width++) {
      const fp = new Fingerprinter(seedA, width)
      expect(hex(write(fp, 0x00, 'child', h))).toBe(hex(write(fp, 0xff, 'child', h)))
      expect(hex(write(fp, 0x00, 'leaf', h, hashOf('v')))).toBe(hex(write(fp, 0xff, 'leaf', h, hashOf('v'))))
    }
  })

  test('a function of seed, width and input: a narrower one is a prefix of a wider one, another seed gives others', () => {
    const h = hashOf('x')
    const out = (seed: Uint8Array, width: number) => hex(write(new Fingerprinter(seed, width), 0, 'child', h))
    expect(out(seedA, 4)).toBe(out(seedA, 4))
    expect(out(seedA, 4)).not.toBe(out(seedB, 4))
    for (let width = 1; width < MAX_FINGERPRINT_BYTES; width++)
      expect(out(seedA, width + 1).startsWith(out(seedA, width))).toBe(true)
    // The second lane (bytes 5-8) is not a copy of the first.
    expect(out(seedA, 8).slice(8)).not.toBe(out(seedA, 8).slice(0, 8))
  })

  test('a child fingerprint covers all 32 bytes of the hash; a leaf one the first 16 of path and of value', () => {
    for (const width of [4, 8]) {
      const fp = new Fingerprinter(seedA, width)
      const h = hashOf('child')
      const base = hex(write(fp, 0, 'child', h))
      for (let i = 0; i < 32; i++) {
        const changed = h.slice()
        changed[i]! ^= 1
        expect(hex(write(fp, 0, 'child', changed)), `child byte ${i}`).not.toBe(base)
      }
      const path = hashOf('path')
      const value = hashOf('value')
      const leaf = hex(write(fp, 0, 'leaf', path, value))
      for (let i = 0; i < 32; i++) {
        const p = path.slice()
        p[i]! ^= 1
        const v = value.slice()
        v[i]! ^= 1
        // Bytes 16-31 are not covered (the wire hash is 16 bytes): equal there, different before.
        const expectation = i < 16 ? 'not' : 'same'
        const gotP = hex(write(fp, 0, 'leaf', p, value))
        const gotV = hex(write(fp, 0, 'leaf', path, v))
        if (expectation === 'not') {
          expect(gotP, `path byte ${i}`).not.toBe(leaf)
          expect(gotV, `value byte ${i}`).not.toBe(leaf)
        } else {
          expect(gotP, `path byte ${i}`).toBe(leaf)
          expect(gotV, `value byte ${i}`).toBe(leaf)
        }
      }
      // Path and value are not interchangeable.
      expect(hex(write(fp, 0, 'leaf', value, path))).not.toBe(leaf)
    }
  })

  test('childEquals, leafEquals and leafKey agree with what child and leaf write', () => {
    for (const width of [1, 3, 4, 5, 8]) {
      const fp = new Fingerprinter(seedB, width)
      const h = hashOf(`h${width}`)
      const wire = new Uint8Array(2 + width)
      fp.child(h, wire, 2)
      expect(fp.childEquals(h, wire, 2)).toBe(true)
      expect(fp.childEquals(hashOf('other'), wire, 2)).toBe(false)
      for (let i = 0; i < width; i++) {
        const bad = wire.slice()
        bad[2 + i]! ^= 0x10
        expect(fp.childEquals(h, bad, 2), `byte ${i} of ${width}`).toBe(false)
      }
      const leaf = new Uint8Array(width)
      fp.leaf(h, hashOf('v'), leaf, 0)
      expect(fp.leafEquals(h, hashOf('v'), leaf, 0)).toBe(true)
      expect(fp.leafEquals(h, hashOf('w'), leaf, 0)).toBe(false)
      expect(fp.leafKey(h, hashOf('v'))).toBe(keyOf(leaf, 0, width))
      expect(fp.leafKey(h, hashOf('v'))).toHaveLength(width)
    }
  })

  test('keyOf names exactly `width` bytes at `at`', () => {
    const bytes = Uint8Array.of(9, 0x41, 0x42, 0x43, 7)
    expect(keyOf(bytes, 1, 3)).toBe('ABC')
    expect(keyOf(bytes, 0, 0)).toBe('')
    expect(keyOf(bytes, 4, 1)).toBe('\u0007')
  })

  test('distinct inputs collide about once in 2^(8 × width) salts', () => {
    let collisions = 0
    for (let i = 0; i < 3000; i++) {
      const fp = new Fingerprinter(hashOf(`seed${i}`).subarray(0, 16), 1)
      const x = new Uint8Array(1)
      const y = new Uint8Array(1)
      fp.leaf(hashOf(`p${i}`), hashOf('v'), x, 0)
      fp.leaf(hashOf(`p${i}`), hashOf('w'), y, 0)
      if (x[0] === y[0]) collisions++
    }
    // Expected 3000 / 256 ≈ 11.7; a biased hash (one that ignored the value) would be far off.
    expect(collisions).toBeGreaterThan(2)
    expect(collisions).toBeLessThan(30)
  })
})
