import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type Blake3, loadBlake3, nativeBlake3, wasmBlake3 } from '../src/blake3.js'

function digestOf(h: Blake3, parts: Uint8Array[]): string {
  h.init()
  for (const p of parts) h.update(p)
  return Buffer.from(h.digest()).toString('hex')
}

describe('BLAKE3 implementations', () => {
  it('loadBlake3 takes the native binding where installed (linux-x64: CI, benches), hash-wasm if told', async () => {
    const linuxX64 = process.platform === 'linux' && process.arch === 'x64'
    expect((await loadBlake3()).name).toBe(linuxX64 || nativeBlake3() !== undefined ? 'native' : 'wasm')
    process.env.PROVSYNC_BLAKE3 = 'wasm'
    try {
      expect((await loadBlake3()).name).toBe('wasm')
    } finally {
      delete process.env.PROVSYNC_BLAKE3
    }
  })

  it('native and hash-wasm give the same hash as noble, across update splits and reuse', async () => {
    const native = nativeBlake3()
    const wasm = await wasmBlake3()
    const hashers = native === undefined ? [wasm] : [native, wasm]
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 5000 }), { maxLength: 4 }),
        fc.integer({ min: 0, max: 300_000 }),
        (parts, big) => {
          // One long part too (several 1 KiB chunks of BLAKE3's tree, SIMD lanes in the native one).
          const all = [...parts, new Uint8Array(big).map((_, i) => (i * 31 + big) & 255)]
          const expected = Buffer.from(nobleBlake3(Buffer.concat(all))).toString('hex')
          for (const h of hashers) expect(digestOf(h, all)).toBe(expected)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('a digest is a plain 32-byte Uint8Array that the next hash does not overwrite', () => {
    const h = nativeBlake3()
    if (h === undefined) return
    h.init()
    h.update(Uint8Array.of(1))
    const first = h.digest()
    h.init()
    h.update(Uint8Array.of(2))
    h.digest()
    expect(first.constructor).toBe(Uint8Array)
    expect(Buffer.from(first).toString('hex')).toBe(
      Buffer.from(nobleBlake3(Uint8Array.of(1))).toString('hex'),
    )
  })
})
