import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chunkHashAt, parseBlobId, toHex } from '@provsync/blobs'
import { afterEach, describe, expect, it } from 'vitest'
import { collect, FakeSource, randomBytes, tempStores } from './helpers.js'

const stores = tempStores()
afterEach(() => stores.cleanup())
const KiB = 1024
/** Written by `fixtures/make-v1-store.mjs` with storage version 1's code (files named by hash). */
const FIXTURE = new URL('./fixtures/v1-store/', import.meta.url).pathname
const A = parseBlobId('fc6833c385f6dbf381eda33ab5bac17bd265e1a22ef1ecca5b5887d3dda5e650')
const B = parseBlobId('b9496a4d7795fc2397207ded98e915741e46a7a6c7f55a8eae5a3e8af7f0869b')
const aBytes = randomBytes(40 * KiB, 5)
const bBytes = randomBytes(48 * KiB, 6)

function v1Copy(): string {
  const dir = stores.dir()
  cpSync(FIXTURE, dir, { recursive: true })
  return dir
}

function chunkFile(dir: string, hash: Uint8Array): string {
  const hex = toHex(hash)
  return join(dir, 'chunks', hex.slice(0, 2), hex)
}

describe('a store of storage version 1 (chunk files named by hash), opened by version 2', () => {
  it('keeps every blob, pin and total, and reads its chunk files', async () => {
    const store = await stores.open({ path: v1Copy() })
    expect(store.status(A)).toMatchObject({ chunks: 3, held: 3, pinned: true, local: true })
    expect(store.status(B)).toMatchObject({ chunks: 3, held: 2, pinned: false })
    expect(store.stats()).toMatchObject({ chunks: 5, pinnedBytes: 40 * KiB, unpinnedBytes: 32 * KiB })
    expect((await collect(store.read(A))).equals(Buffer.from(aBytes))).toBe(true)
    const b = await store.range(B, 0, 2)
    expect(Buffer.concat(b).equals(Buffer.from(bBytes.subarray(0, 32 * KiB)))).toBe(true)
  })

  it('detects and deletes a corrupt or oversized chunk file', async () => {
    const dir = v1Copy()
    const store = await stores.open({ path: dir })
    const manifest = store.localManifest(A)!
    writeFileSync(chunkFile(dir, chunkHashAt(manifest, 0)), randomBytes(16 * KiB, 99))
    writeFileSync(chunkFile(dir, chunkHashAt(manifest, 1)), randomBytes(16 * KiB + 1, 98))
    expect(store.localChunk(manifest, 0)).toBeUndefined()
    expect(store.localChunkInto(manifest, 1, new Uint8Array(16 * KiB))).toBeUndefined()
    expect(existsSync(chunkFile(dir, chunkHashAt(manifest, 0)))).toBe(false)
    expect(existsSync(chunkFile(dir, chunkHashAt(manifest, 1)))).toBe(false)
    expect(store.status(A).held).toBe(1)
  })

  it('fetches what it lacks into a pack and evicts version-1 files under the budget', async () => {
    const server = await stores.open()
    await server.put(bBytes, { chunkSize: 16 * KiB })
    const source = new FakeSource(new Map([['server', { store: server, lie: 'honest' }]]))
    const dir = v1Copy()
    const store = await stores.open({ path: dir, source, budgetBytes: 32 * KiB })
    const manifest = store.localManifest(B)!
    expect((await collect(store.read(B))).equals(Buffer.from(bBytes))).toBe(true)
    expect(source.requests.flatMap((r) => r.indices)).toEqual([2])
    expect(readdirSync(join(dir, 'packs', toHex(B)))).toEqual(['0'])
    // The least recently used fetched chunk (B's chunk 0, a version-1 file) went to keep 32 KiB.
    expect(store.stats()).toMatchObject({ pinnedBytes: 40 * KiB, unpinnedBytes: 32 * KiB })
    expect(existsSync(chunkFile(dir, chunkHashAt(manifest, 0)))).toBe(false)
    expect(store.missing(B)).toEqual([0])
  })

  it('adopts a version-1 chunk file the index missed, and removes temporary files', async () => {
    const dir = v1Copy()
    const server = await stores.open()
    const { manifest: bm } = await server.put(bBytes, { chunkSize: 16 * KiB })
    mkdirSync(join(chunkFile(dir, chunkHashAt(bm, 2)), '..'), { recursive: true })
    writeFileSync(chunkFile(dir, chunkHashAt(bm, 2)), bBytes.subarray(32 * KiB))
    const tmp = `${chunkFile(dir, chunkHashAt(bm, 2))}.123.0.tmp`
    writeFileSync(tmp, randomBytes(100))
    const store = await stores.open({ path: dir })
    expect(existsSync(tmp)).toBe(false)
    expect(store.status(B).held).toBe(3)
    expect(store.stats()).toMatchObject({ chunks: 6, unpinnedBytes: 48 * KiB })
  })
})
