import { describe, expect, test } from 'vitest'
import { Fingerprinter, keyOf, MAX_FINGERPRINT_BYTES, randomSalt, SALT_BYTES } from '../src/fingerprint.js'
import { blake3 } from '../src/hash.js'
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

/**
 * The fingerprint as fingerprint.ts documents it, in BigInt: keys are 64-bit big-endian words of
 * BLAKE3(domain, seed, block) reduced mod p = 2^32 - 5, 17 per 32-bit lane; a lane is
 * k0 + Σ m_i k_(i+1) mod p over 16 big-endian 16-bit words m (a child: its 32-byte hash; a leaf:
 * 16 bytes of path then 16 of value hash), written big-endian, lanes cut to the width.
 */
function model(seed: Uint8Array, width: number, a: Uint8Array, b?: Uint8Array): string {
  const p = 4294967291n
  const domain = new TextEncoder().encode('provsync/merkle/fingerprint/v2')
  const lanes = width > 4 ? 2 : 1
  const keys: bigint[] = []
  for (let block = 0; keys.length < lanes * 17; block++) {
    const bytes = blake3(domain, seed, Uint8Array.of(block))
    for (let at = 0; at < 32; at += 8) keys.push(BigInt(`0x${hex(bytes.subarray(at, at + 8))}`) % p)
  }
  const input =
    b === undefined ? a.subarray(0, 32) : Uint8Array.of(...a.subarray(0, 16), ...b.subarray(0, 16))
  const out: number[] = []
  for (let lane = 0; lane < lanes; lane++) {
    let sum = keys[lane * 17]!
    for (let i = 0; i < 16; i++)
      sum += BigInt((input[2 * i]! << 8) | input[2 * i + 1]!) * keys[lane * 17 + 1 + i]!
    const value = Number(sum % p)
    out.push((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff)
  }
  return hex(Uint8Array.from(out.slice(0, width)))
}

describe('salted fingerprints', () => {
  test('equal the documented multilinear hash, for every width, children and leaves (model)', () => {
    for (let n = 0; n < 12; n++) {
      const seed = hashOf(`seed${n}`).subarray(0, 16)
      const a = hashOf(`a${n}`)
      const b = hashOf(`b${n}`)
      // Extremes of the words too: all-ones inputs make the largest products.
      const ones = new Uint8Array(32).fill(0xff)
      for (let width = 1; width <= MAX_FINGERPRINT_BYTES; width++) {
        const fp = new Fingerprinter(seed, width)
        expect(hex(write(fp, 0, 'child', a)), `child ${n} ${width}`).toBe(model(seed, width, a))
        expect(hex(write(fp, 0, 'leaf', a, b)), `leaf ${n} ${width}`).toBe(model(seed, width, a, b))
        expect(hex(write(fp, 0, 'leaf', ones, ones))).toBe(model(seed, width, ones, ones))
      }
    }
  })

  test('a fresh random salt per call, of SALT_BYTES', () => {
    const salts = new Set(Array.from({ length: 8 }, () => hex(randomSalt())))
    expect(salts.size).toBe(8)
    expect(randomSalt()).toHaveLength(SALT_BYTES)
    expect(SALT_BYTES).toBe(16)
  })

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
