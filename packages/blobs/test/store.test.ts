import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import {
  BlobNotFoundError,
  BlobRangeError,
  BlobStoreClosedError,
  BlobTooLargeError,
  hashChunk,
  InvalidChunkSizeError,
  toHex,
} from '@provsync/blobs'
import { open } from 'lmdb'
import { afterEach, describe, expect, it } from 'vitest'
import { collect, randomBytes, tempStores } from './helpers.js'

const stores = tempStores()
afterEach(() => stores.cleanup())
const KiB = 1024

describe('put and local reads', () => {
  it('puts bytes and reads them back whole, by chunk range and by byte range', async () => {
    const store = await stores.open()
    const bytes = randomBytes(100 * KiB + 7)
    const { ref, manifest } = await store.put(bytes, { chunkSize: 16 * KiB })
    expect(ref.size).toBe(bytes.byteLength)
    expect(manifest.chunkCount).toBe(7)
    expect(toHex((await store.manifest(ref.id)).id)).toBe(toHex(ref.id))
    const range = await store.range(ref.id, 2, 3)
    expect(Buffer.concat(range).equals(Buffer.from(bytes.subarray(32 * KiB, 80 * KiB)))).toBe(true)
    expect((await collect(store.read(ref.id))).equals(Buffer.from(bytes))).toBe(true)
    const part = await collect(store.read(ref.id, { start: 16 * KiB - 3, end: 50 * KiB + 1 }))
    expect(part.equals(Buffer.from(bytes.subarray(16 * KiB - 3, 50 * KiB + 1)))).toBe(true)
    expect((await collect(store.read(ref.id, { start: 5, end: 5 }))).byteLength).toBe(0)
  })

  it('puts a stream of uneven pieces with the same id as the bytes', async () => {
    const store = await stores.open()
    const bytes = randomBytes(70 * KiB, 3)
    async function* pieces() {
      for (let o = 0; o < bytes.byteLength; o += 5000) yield bytes.slice(o, o + 5000)
    }
    const a = await store.put(pieces(), { chunkSize: 32 * KiB })
    const b = await store.put(bytes, { chunkSize: 32 * KiB })
    expect(toHex(a.ref.id)).toBe(toHex(b.ref.id))
    expect(store.stats().pinnedBytes).toBe(bytes.byteLength)
  })

  it('an empty blob has an id, a manifest and no chunks', async () => {
    const store = await stores.open()
    const { ref, manifest } = await store.put(new Uint8Array(0))
    expect(manifest.chunkCount).toBe(0)
    expect((await collect(store.read(ref.id))).byteLength).toBe(0)
  })

  it('refuses bad chunk sizes, ranges outside the blob, oversized blobs, unknown ids and use after close', async () => {
    const store = await stores.open({ maxBlobBytes: 40 * KiB })
    await expect(store.put(randomBytes(10), { chunkSize: 1000 })).rejects.toThrow(InvalidChunkSizeError)
    await expect(store.put(randomBytes(41 * KiB), { chunkSize: 16 * KiB })).rejects.toThrow(BlobTooLargeError)
    const { ref } = await store.put(randomBytes(20 * KiB), { chunkSize: 16 * KiB })
    await expect(store.range(ref.id, 1, 2)).rejects.toThrow(BlobRangeError)
    await expect(store.range(ref.id, -1, 1)).rejects.toThrow(BlobRangeError)
    await expect(collect(store.read(ref.id, { start: 0, end: 20 * KiB + 1 }))).rejects.toThrow(BlobRangeError)
    await expect(store.manifest(new Uint8Array(32))).rejects.toThrow(BlobNotFoundError)
    await store.close()
    await expect(store.manifest(ref.id)).rejects.toThrow(BlobStoreClosedError)
  })

  it('stores a chunk shared by two blobs once', async () => {
    const store = await stores.open()
    const a = randomBytes(32 * KiB, 5)
    const b = Buffer.concat([a.subarray(0, 16 * KiB), randomBytes(16 * KiB, 6)])
    await store.put(a, { chunkSize: 16 * KiB })
    await store.put(b, { chunkSize: 16 * KiB })
    expect(store.stats().chunks).toBe(3)
    expect(store.stats().pinnedBytes).toBe(48 * KiB)
  })
  it('a manifest read inside a transaction that rolls back is not held afterwards (the decoded-manifest cache asks LMDB)', async () => {
    const dir = stores.dir()
    const env = open({ path: join(dir, 'env'), noSync: true })
    try {
      const store = await stores.open({ path: dir, env })
      const { manifest } = await (await stores.open()).put(randomBytes(40 * KiB, 9), { chunkSize: 16 * KiB })
      expect(() =>
        env.transactionSync(() => {
          store.adoptManifest(manifest)
          expect(store.localManifest(manifest.id)?.chunkCount).toBe(3)
          throw new Error('roll back')
        }),
      ).toThrow('roll back')
      expect(store.localManifest(manifest.id)).toBeUndefined()
      expect(store.status(manifest.id).manifest).toBe(false)
      store.adoptManifest(manifest)
      expect(toHex(store.localManifest(manifest.id)!.hashes)).toBe(toHex(manifest.hashes))
    } finally {
      await env.close()
    }
  })
})

/** Overwrites `bytes.byteLength` bytes of a pack window file at `offset` (damage under the store). */
function scribble(path: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(path, existsSync(path) ? 'r+' : 'w+')
  try {
    writeSync(fd, bytes, 0, bytes.byteLength, offset)
  } finally {
    closeSync(fd)
  }
}

describe('on-disk damage and crashes (storage version 2: pack windows)', () => {
  it('keeps a blob in one window file of its pack, chunk i at i × chunkSize, and no chunk files', async () => {
    const dir = stores.dir()
    const store = await stores.open({ path: dir })
    const bytes = randomBytes(40 * KiB, 4)
    const { ref } = await store.put(bytes, { chunkSize: 16 * KiB })
    expect(readdirSync(join(dir, 'packs', toHex(ref.id)))).toEqual(['0'])
    expect(readFileSync(join(dir, 'packs', toHex(ref.id), '0')).equals(Buffer.from(bytes))).toBe(true)
    expect(existsSync(join(dir, 'chunks'))).toBe(false)
    expect(readdirSync(join(dir, 'packs'))).toEqual([toHex(ref.id)]) // the put's temporary pack is gone
  })

  it("a put of a blob held in part copies its new chunks into the blob's existing window", async () => {
    const dir = stores.dir()
    const store = await stores.open({ path: dir })
    const bytes = randomBytes(64 * KiB, 5)
    const other = await stores.open()
    const { manifest } = await other.put(bytes, { chunkSize: 16 * KiB })
    for (const i of [0, 2]) {
      expect(await store.storeChunk(manifest, i, bytes.subarray(i * 16 * KiB, (i + 1) * 16 * KiB))).toBe(true)
    }
    const { ref } = await store.put(bytes, { chunkSize: 16 * KiB })
    expect(store.status(ref.id)).toMatchObject({ chunks: 4, held: 4, pinned: true })
    expect(readdirSync(join(dir, 'packs'))).toEqual([toHex(ref.id)])
    expect(readFileSync(join(dir, 'packs', toHex(ref.id), '0')).equals(Buffer.from(bytes))).toBe(true)
    expect((await collect(store.read(ref.id))).equals(Buffer.from(bytes))).toBe(true)
    expect(store.stats()).toMatchObject({ chunks: 4, pinnedBytes: 64 * KiB, unpinnedBytes: 0 })
  })

  it('never returns a corrupt chunk: it is dropped and reported missing', async () => {
    const dir = stores.dir()
    const store = await stores.open({ path: dir })
    const { ref } = await store.put(randomBytes(48 * KiB), { chunkSize: 16 * KiB })
    scribble(join(dir, 'packs', toHex(ref.id), '0'), 16 * KiB + 100, randomBytes(8, 99))
    const manifest = await store.manifest(ref.id)
    expect(store.localChunk(manifest, 1)).toBeUndefined()
    expect(store.status(ref.id).held).toBe(2)
    await expect(store.range(ref.id, 0, 3)).rejects.toThrow(BlobNotFoundError)
  })

  it("localChunkInto reads into the caller's buffer, and drops a corrupt or truncated chunk as localChunk does", async () => {
    const dir = stores.dir()
    const store = await stores.open({ path: dir })
    const bytes = randomBytes(40 * KiB, 3)
    const { ref, manifest } = await store.put(bytes, { chunkSize: 16 * KiB })
    const scratch = new Uint8Array(16 * KiB)
    const last = store.localChunkInto(manifest, 2, scratch)!
    expect(last.buffer).toBe(scratch.buffer)
    expect(Buffer.from(last).equals(Buffer.from(bytes.subarray(32 * KiB)))).toBe(true)
    const first = store.localChunkInto(manifest, 0, scratch)!
    expect(Buffer.from(first).equals(Buffer.from(bytes.subarray(0, 16 * KiB)))).toBe(true)
    const window = join(dir, 'packs', toHex(ref.id), '0')
    scribble(window, 0, randomBytes(1, 98))
    truncateSync(window, 36 * KiB) // the last chunk cut short
    expect(store.localChunkInto(manifest, 0, scratch)).toBeUndefined()
    expect(store.localChunkInto(manifest, 2, scratch)).toBeUndefined()
    expect(store.status(ref.id).held).toBe(1)
    expect(
      Buffer.from(store.localChunk(manifest, 1)!).equals(Buffer.from(bytes.subarray(16 * KiB, 32 * KiB))),
    ).toBe(true)
  })

  it('after a crash between write and index, adopts only the written chunks that verify, and drops unfinished puts', async () => {
    const dir = stores.dir()
    const server = await stores.open()
    const bytes = randomBytes(64 * KiB, 8)
    const { manifest } = await server.put(bytes, { chunkSize: 16 * KiB })
    const first = await stores.open({ path: dir })
    first.adoptManifest(manifest) // a fetch commits the manifest before any chunk
    await first.close()
    // What a fetch killed before its index commit leaves: chunks 0 and 2 written whole, chunk 3
    // torn; and a put killed before it knew its id (a temporary pack), and one killed before its
    // commit (a pack whose manifest was never stored).
    const window = join(dir, 'packs', toHex(manifest.id), '0')
    mkdirSync(join(window, '..'), { recursive: true })
    scribble(window, 0, bytes.subarray(0, 16 * KiB))
    scribble(window, 32 * KiB, bytes.subarray(32 * KiB, 48 * KiB))
    scribble(window, 48 * KiB, bytes.subarray(48 * KiB, 56 * KiB))
    const unfinished = join(dir, 'packs', 'put-123-0')
    const uncommitted = join(dir, 'packs', toHex(hashChunk(randomBytes(10))))
    for (const d of [unfinished, uncommitted]) {
      mkdirSync(d, { recursive: true })
      writeFileSync(join(d, '0'), randomBytes(100))
    }
    const second = await stores.open({ path: dir })
    expect(existsSync(unfinished) || existsSync(uncommitted)).toBe(false)
    expect(second.missing(manifest.id)).toEqual([1, 3])
    expect(second.stats()).toMatchObject({ chunks: 2, pinnedBytes: 0, unpinnedBytes: 32 * KiB })
    expect(
      Buffer.from(second.localChunk(manifest, 2)!).equals(Buffer.from(bytes.subarray(32 * KiB, 48 * KiB))),
    ).toBe(true)
  })

  it('drops the index entries of a window file that vanished, and deletes a window left holding nothing', async () => {
    const dir = stores.dir()
    const first = await stores.open({ path: dir })
    const { ref } = await first.put(randomBytes(32 * KiB, 9), { chunkSize: 16 * KiB })
    await first.close()
    rmSync(join(dir, 'packs', toHex(ref.id), '0'))
    const second = await stores.open({ path: dir })
    expect(second.status(ref.id)).toMatchObject({ chunks: 2, held: 0, pinned: true })
    expect(second.stats()).toMatchObject({ chunks: 0, pinnedBytes: 0 })
  })
})

describe('blobs from elsewhere (bundles): list, missing, adoptManifest, storeChunk', () => {
  it('adopts a manifest, stores only chunks that match it, and lists what is held', async () => {
    const source = await stores.open()
    const target = await stores.open()
    const bytes = randomBytes(50 * KiB, 11)
    const { ref, manifest } = await source.put(bytes, { chunkSize: 16 * KiB })
    expect(target.missing(ref.id)).toBeUndefined()
    target.adoptManifest(manifest)
    expect(target.missing(ref.id)).toEqual([0, 1, 2, 3])
    expect([...target.list()].map((l) => [toHex(l.manifest.id), l.pinned, l.local])).toEqual([
      [toHex(ref.id), false, false],
    ])
    // A chunk at the wrong index, cut short, or out of range is refused and nothing is stored.
    expect(await target.storeChunk(manifest, 1, bytes.subarray(0, 16 * KiB))).toBe(false)
    expect(await target.storeChunk(manifest, 3, bytes.subarray(48 * KiB, 50 * KiB - 1))).toBe(false)
    expect(await target.storeChunk(manifest, 4, bytes.subarray(0, 16 * KiB))).toBe(false)
    expect(target.missing(ref.id)).toEqual([0, 1, 2, 3])
    expect(target.stats().chunks).toBe(0)
    expect(await target.storeChunk(manifest, 1, bytes.subarray(16 * KiB, 32 * KiB))).toBe(true)
    expect(await target.storeChunk(manifest, 3, bytes.subarray(48 * KiB))).toBe(true)
    expect(target.missing(ref.id)).toEqual([0, 2])
    expect(target.stats().unpinnedBytes).toBe(16 * KiB + 2 * KiB)
    target.adoptManifest(manifest, { pin: true })
    expect(target.stats()).toMatchObject({ pinnedBytes: 18 * KiB, unpinnedBytes: 0 })
    expect((await target.range(ref.id, 3, 1))[0]!.byteLength).toBe(2 * KiB)
  })
})
