import {
  BlobNotFoundError,
  type BlobStore,
  ChunkUnavailableError,
  type Manifest,
  toHex,
} from '@provsync/blobs'
import { afterEach, describe, expect, it } from 'vitest'
import { collect, FakeSource, type Lie, randomBytes, tempStores } from './helpers.js'

const stores = tempStores()
afterEach(() => stores.cleanup())
const KiB = 1024

async function serverWith(
  bytes: Uint8Array,
): Promise<{ store: BlobStore; manifest: Manifest; other: Manifest }> {
  const store = await stores.open()
  const { manifest } = await store.put(bytes, { chunkSize: 16 * KiB })
  const other = (await store.put(randomBytes(40 * KiB, 1234), { chunkSize: 16 * KiB })).manifest
  return { store, manifest, other }
}

describe('lazy fetch through a chunk source', () => {
  it('fetches what is missing from the hinted peer first, stores it and serves later reads locally', async () => {
    const bytes = randomBytes(80 * KiB, 2)
    const a = await serverWith(bytes)
    const b = await serverWith(bytes)
    const source = new FakeSource(
      new Map([
        ['a', { store: a.store, lie: 'honest' }],
        ['b', { store: b.store, lie: 'honest' }],
      ]),
    )
    const reader = await stores.open({ source })
    const part = await reader.range(a.manifest.id, 1, 2, { from: ['b'] })
    expect(Buffer.concat(part).equals(Buffer.from(bytes.subarray(16 * KiB, 48 * KiB)))).toBe(true)
    expect(source.requests).toEqual([{ peer: 'b', indices: [1, 2] }])
    expect((await collect(reader.read(a.manifest.id, { from: ['b'] }))).equals(Buffer.from(bytes))).toBe(true)
    expect(source.requests.at(-1)).toEqual({ peer: 'b', indices: [0, 3, 4] })
    expect(reader.status(a.manifest.id)).toMatchObject({ held: 5, pinned: false, shareable: false })
    const before = source.requests.length
    await collect(reader.read(a.manifest.id))
    expect(source.requests.length).toBe(before)
  })

  const lies: Lie[] = ['wrong-chunk', 'wrong-manifest', 'truncated', 'other-blob-chunk', 'unrequested']
  for (const lie of lies) {
    it(`a peer that lies (${lie}) is blamed and the read completes from an honest peer`, async () => {
      const bytes = randomBytes(64 * KiB + 100, 4)
      const liar = await serverWith(bytes)
      const honest = await serverWith(bytes)
      const source = new FakeSource(
        new Map([
          ['liar', { store: liar.store, lie, other: liar.other }],
          ['honest', { store: honest.store, lie: 'honest' }],
        ]),
      )
      const reader = await stores.open({ source })
      const got = await collect(reader.read(liar.manifest.id, { from: ['liar'] }))
      expect(got.equals(Buffer.from(bytes))).toBe(true)
      expect(source.blames.map((b) => b.peer)).toEqual(['liar'])
      const reason = {
        'wrong-chunk': 'bad-chunk',
        'wrong-manifest': 'bad-manifest',
        truncated: 'truncated',
        'other-blob-chunk': 'bad-chunk',
        unrequested: 'unrequested-chunk',
      }[lie as string]
      expect(source.blames[0]!.reason).toBe(reason)
    })
  }

  it('an interrupted fetch keeps what arrived, and the next read asks only for the rest', async () => {
    const bytes = randomBytes(96 * KiB, 5)
    const a = await serverWith(bytes)
    const source = new FakeSource(new Map([['a', { store: a.store, lie: 'honest' }]]))
    source.cutAfter = 2
    const reader = await stores.open({ source })
    await expect(collect(reader.read(a.manifest.id))).rejects.toThrow(ChunkUnavailableError)
    expect(reader.status(a.manifest.id).held).toBe(2)
    source.cutAfter = undefined
    expect((await collect(reader.read(a.manifest.id))).equals(Buffer.from(bytes))).toBe(true)
    expect(source.requests.at(-1)!.indices).toEqual([2, 3, 4, 5])
  })

  it('names every peer tried when no one has the blob, and blames no one for refusing', async () => {
    const a = await serverWith(randomBytes(20 * KiB))
    const source = new FakeSource(new Map([['a', { store: a.store, lie: 'refuses' }]]))
    const reader = await stores.open({ source })
    const err = await reader.manifest(a.manifest.id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlobNotFoundError)
    expect(Object.keys((err as BlobNotFoundError).attempts)).toEqual(['a'])
    expect((err as BlobNotFoundError).blobId).toBe(toHex(a.manifest.id))
    expect(source.blames).toEqual([])
  })
})
