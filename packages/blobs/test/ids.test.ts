import { readFileSync } from 'node:fs'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import {
  assertChunkSize,
  blobId,
  buildManifest,
  chunksOf,
  chunkTreeRoot,
  decodeManifest,
  encodeManifest,
  HASH_BYTES,
  hashChunk,
  InvalidChunkSizeError,
  MalformedManifestError,
  toHex,
} from '@provsync/blobs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { vectorBytes } from './vectors.js'

interface Vector {
  size: number
  chunkSize: number
  firstChunkHash: string | null
  id: string
  manifestHead: string
}
const vectors: Vector[] = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8'))
const text = new TextEncoder()

async function hashesOf(bytes: Uint8Array, chunkSize: number): Promise<Uint8Array> {
  const hashes: Uint8Array[] = []
  for await (const chunk of chunksOf(bytes, chunkSize)) hashes.push(hashChunk(chunk))
  return Buffer.concat(hashes)
}

/** RFC 6962's recursive definition with an independent BLAKE3 (noble), to check the iterative one. */
function referenceRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return nobleBlake3(text.encode('provsync/blob/node/v1\0'))
  if (leaves.length === 1) return leaves[0]!
  let k = 1
  while (k * 2 < leaves.length) k *= 2
  const tag = text.encode('provsync/blob/node/v1\0')
  return nobleBlake3(Buffer.concat([tag, referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k))]))
}

describe('chunk hashes and blob ids', () => {
  it('match the committed vectors', async () => {
    expect(vectors.length).toBeGreaterThan(5)
    for (const v of vectors) {
      const hashes = await hashesOf(vectorBytes(v.size), v.chunkSize)
      const manifest = buildManifest(v.chunkSize, v.size, hashes)
      expect(toHex(manifest.id)).toBe(v.id)
      expect(toHex(encodeManifest(manifest).subarray(0, 10))).toBe(v.manifestHead)
      expect(v.firstChunkHash === null ? null : toHex(hashes.subarray(0, HASH_BYTES))).toBe(v.firstChunkHash)
    }
  })

  it('chunk hashes are BLAKE3 under the chunk domain tag (checked with noble)', () => {
    const chunk = vectorBytes(1000)
    const expected = nobleBlake3(Buffer.concat([text.encode('provsync/blob/chunk/v1\0'), chunk]))
    expect(toHex(hashChunk(chunk))).toBe(toHex(expected))
    expect(toHex(hashChunk(chunk))).not.toBe(toHex(nobleBlake3(chunk)))
  })

  it('the chunk tree root follows the RFC 6962 split for any number of leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70 }), fc.integer(), (n, seed) => {
        const leaves = Array.from({ length: n }, (_, i) => nobleBlake3(Uint8Array.of(i & 255, seed & 255, n)))
        expect(toHex(chunkTreeRoot(Buffer.concat(leaves)))).toBe(toHex(referenceRoot(leaves)))
      }),
    )
  })

  it('the id binds chunk size and total size as well as the chunk hashes', () => {
    const hashes = nobleBlake3(Uint8Array.of(1))
    const base = toHex(blobId(16384, 100, hashes))
    expect(toHex(blobId(32768, 100, hashes))).not.toBe(base)
    expect(toHex(blobId(16384, 101, hashes))).not.toBe(base)
    expect(toHex(blobId(16384, 100, nobleBlake3(Uint8Array.of(2))))).not.toBe(base)
  })

  it('a manifest round-trips and its decoded id is recomputed, never trusted', async () => {
    const bytes = vectorBytes(40_000)
    const manifest = buildManifest(16384, bytes.byteLength, await hashesOf(bytes, 16384))
    const decoded = decodeManifest(encodeManifest(manifest))
    expect(toHex(decoded.id)).toBe(toHex(manifest.id))
    expect(decoded.chunkCount).toBe(3)
    const tampered = encodeManifest(manifest)
    tampered[20] = tampered[20]! ^ 1
    expect(toHex(decodeManifest(tampered).id)).not.toBe(toHex(manifest.id))
  })

  it('refuses malformed manifests with typed errors', () => {
    expect(() => decodeManifest(new Uint8Array(3))).toThrow(MalformedManifestError)
    const wrongCount = Uint8Array.from([1, 14, 0, 0, 0, 0, 0, 0, 0x40, 1])
    expect(() => decodeManifest(wrongCount)).toThrow(MalformedManifestError)
    const badSize = Uint8Array.from([1, 13, 0, 0, 0, 0, 0, 0, 0, 0])
    expect(() => decodeManifest(badSize)).toThrow(InvalidChunkSizeError)
    const huge = Uint8Array.from([1, 14, 255, 255, 255, 255, 255, 255, 255, 255])
    expect(() => decodeManifest(huge)).toThrow(MalformedManifestError)
  })

  it('chunk sizes are powers of two from 16 KiB to 1 MiB', () => {
    for (const ok of [16384, 32768, 262144, 1048576]) expect(() => assertChunkSize(ok)).not.toThrow()
    for (const bad of [0, 8192, 16383, 20000, 2097152, 1.5, Number.NaN]) {
      expect(() => assertChunkSize(bad)).toThrow(InvalidChunkSizeError)
    }
  })
})

describe('chunking', () => {
  it('any split of the input into pieces gives the same chunks: full ones, then a shorter last', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 70_000 }),
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 8 }),
        async (size, cuts) => {
          const bytes = vectorBytes(size)
          const pieces: Uint8Array[] = []
          for (let o = 0, i = 0; o < size; i++) {
            const n = cuts[i % cuts.length]!
            pieces.push(bytes.slice(o, o + n))
            o += n
          }
          const whole: Uint8Array[] = []
          for await (const c of chunksOf(bytes, 16384)) whole.push(Uint8Array.from(c))
          const split: Uint8Array[] = []
          for await (const c of chunksOf(pieces, 16384)) split.push(Uint8Array.from(c))
          expect(split.map(toHex)).toEqual(whole.map(toHex))
          expect(whole.length).toBe(Math.ceil(size / 16384))
          for (const c of whole.slice(0, -1)) expect(c.byteLength).toBe(16384)
          expect(Buffer.concat(whole).equals(Buffer.from(bytes))).toBe(true)
        },
      ),
      { numRuns: 40 },
    )
  })
})
