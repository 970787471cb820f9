import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type BlobStore, encodeManifest, openBlobStore } from '@provsync/blobs'
import { blake3, toHex } from '@provsync/crdt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BadBlobError,
  BundleError,
  exportBundle,
  importBundle,
  PartMismatchError,
  PendingImportError,
  pendingPath,
  UnsupportedPartError,
} from '../src/index.js'
import { craft, partsOffset, sourceNode } from './fixtures.js'
import { NETWORK, operator, snapshot, TempDirs } from './helpers.js'

const CHUNK = 16 * 1024
const hex = (bytes: Uint8Array) => toHex(blake3(bytes))

async function readAll(store: BlobStore, id: Uint8Array): Promise<Buffer> {
  const pieces: Uint8Array[] = []
  for await (const piece of store.read(id)) pieces.push(piece)
  return Buffer.concat(pieces)
}

describe('bundles carry blobs', () => {
  const temp = new TempDirs()
  afterAll(() => temp.cleanup())
  let sourceBlobs: BlobStore
  const stores: BlobStore[] = []
  const pinnedBytes = randomBytes(5 * CHUNK + 100)
  const fetchedBytes = randomBytes(3 * CHUNK)
  let pinnedId: Uint8Array
  let fetchedId: Uint8Array
  let source: Awaited<ReturnType<typeof sourceNode>>

  const blobStore = async () => {
    const store = await openBlobStore({ path: temp.dir(), noSync: true })
    stores.push(store)
    return store
  }

  beforeAll(async () => {
    source = await sourceNode(temp, 30)
    sourceBlobs = await blobStore()
    pinnedId = (await sourceBlobs.put(pinnedBytes, { chunkSize: CHUNK })).ref.id
    fetchedId = (await sourceBlobs.put(fetchedBytes, { chunkSize: CHUNK })).ref.id
    sourceBlobs.unpin(fetchedId)
  }, 60_000)
  afterAll(async () => {
    for (const s of stores) await s.close()
  })

  async function exportWith(chunks: 'none' | 'held', ids = [pinnedId, fetchedId]) {
    const path = join(temp.dir(), 'blobs.bundle')
    const result = await exportBundle(source, path, {
      signers: [operator],
      density: chunks === 'none' ? 'lite' : 'strict',
      blobs: { store: sourceBlobs, ids, chunks },
    })
    return { path, result }
  }

  it('gives the same roots and the same blobs on the importing node, every chunk verified', async () => {
    const { path, result } = await exportWith('held')
    expect(result.manifest.parts.slice(0, 2).map((p) => [p.kind, p.count])).toEqual([
      ['blob-manifests', 2],
      ['blob-chunks', 9],
    ])
    const target = await temp.node()
    const blobs = await blobStore()
    const imported = await importBundle(target, path, {
      trustedKeys: [operator.publicKey],
      registry: join(temp.dir(), 'r.json'),
      blobs,
    })
    expect(imported.blobs).toEqual({ manifests: 2, chunks: 9 })
    expect(snapshot(target).roots).toEqual(snapshot(source).roots)
    expect((await readAll(blobs, pinnedId)).equals(pinnedBytes)).toBe(true)
    expect((await readAll(blobs, fetchedId)).equals(fetchedBytes)).toBe(true)
    // Chunks carried by a bundle cannot be fetched again on an air-gapped node: they are pinned.
    expect(blobs.status(pinnedId)).toMatchObject({ pinned: true, held: 6 })
  })

  it('carries manifests only at density lite', async () => {
    const { path } = await exportWith('none')
    const blobs = await blobStore()
    const imported = await importBundle(await temp.node(), path, {
      trustedKeys: [operator.publicKey],
      registry: join(temp.dir(), 'r.json'),
      blobs,
    })
    expect(imported.blobs).toEqual({ manifests: 2, chunks: 0 })
    expect(blobs.missing(pinnedId)).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('refuses blob parts whole: a flipped chunk bit, a lying chunk, a stray chunk, no blob store', async () => {
    const { path } = await exportWith('held')
    const target = await temp.node()
    const blobs = await blobStore()
    const before = snapshot(target)
    const registry = join(temp.dir(), 'r.json')
    const refused = async (file: string, withBlobs = true) => {
      const error = await importBundle(target, file, {
        trustedKeys: [operator.publicKey],
        registry,
        ...(withBlobs ? { blobs } : {}),
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(BundleError)
      expect(snapshot(target)).toEqual(before)
      expect([...blobs.list()]).toEqual([])
      expect(existsSync(registry)).toBe(false)
      return error as BundleError
    }
    const bytes = new Uint8Array(readFileSync(path))
    const start = partsOffset(bytes)
    const manifestsPart =
      4 * 2 +
      encodeManifest(sourceBlobs.localManifest(pinnedId)!).length +
      encodeManifest(sourceBlobs.localManifest(fetchedId)!).length
    bytes[start + manifestsPart + 100]! ^= 1
    const flipped = join(temp.dir(), 'flipped.bundle')
    writeFileSync(flipped, bytes)
    expect(await refused(flipped)).toBeInstanceOf(PartMismatchError)
    expect(await refused(path, false)).toBeInstanceOf(UnsupportedPartError)

    // Signed manifests over crafted parts: the part hashes match, the chunk content does not.
    const manifest = sourceBlobs.localManifest(pinnedId)!
    const encoded = encodeManifest(manifest)
    const manifests = Buffer.concat([u32(encoded.length), encoded])
    const chunk = (id: Uint8Array, index: number, data: Uint8Array) =>
      Buffer.concat([id, u32(index), u32(data.length), data])
    const lying = chunk(pinnedId, 1, pinnedBytes.subarray(0, CHUNK))
    const stray = chunk(fetchedId, 0, fetchedBytes.subarray(0, CHUNK))
    for (const [part, problem] of [
      [lying, 'does not match its hash'],
      [stray, 'no manifest for'],
    ] as const) {
      const file = join(temp.dir(), 'crafted.bundle')
      craft(
        file,
        bundleManifest([
          { kind: 'blob-manifests', count: 1, size: manifests.length, blake3: hex(manifests) },
          { kind: 'blob-chunks', count: 1, size: part.length, blake3: hex(part) },
        ]),
        [manifests, part],
      )
      const error = await refused(file)
      expect(error).toBeInstanceOf(BadBlobError)
      expect(error.message).toContain(problem)
    }
  })

  it('rolls forward: a failure mid-import blocks other bundles until the same bundle completes it', async () => {
    const big = await sourceNode(temp, 1200) // 2,520 assertions: three apply batches
    const path = join(temp.dir(), 'big.bundle')
    await exportBundle(big, path, { signers: [operator], density: 'lite' })
    const target = await temp.node()
    const registry = join(temp.dir(), 'r.json')
    const options = { trustedKeys: [operator.publicKey], registry }
    const failure = await importBundle(target, path, {
      ...options,
      faults: {
        afterBatch: (_part, batch) => {
          if (batch === 1) throw new Error('injected: the disk went away')
        },
      },
    }).catch((e: unknown) => e)
    expect((failure as Error).message).toContain('injected')
    expect(existsSync(pendingPath(registry))).toBe(true)
    expect(snapshot(target).roots).not.toEqual(snapshot(big).roots)
    const other = join(temp.dir(), 'other.bundle')
    await exportBundle(source, other, { signers: [operator], density: 'lite' })
    const blocked = await importBundle(target, other, options).catch((e: unknown) => e)
    expect(blocked).toBeInstanceOf(PendingImportError)
    const done = await importBundle(target, path, options)
    expect(done.resumed).toBe(true)
    expect(snapshot(target).roots).toEqual(snapshot(big).roots)
    expect(existsSync(pendingPath(registry))).toBe(false)
    expect((await importBundle(target, other, options)).resumed).toBe(false)
  }, 120_000)
})

function u32(n: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(n)
  return out
}

function bundleManifest(parts: object[]) {
  return {
    format: 'provsync-bundle',
    version: 1,
    networkId: NETWORK,
    exporter: 'ab'.repeat(32),
    sequence: '2026-01-01T00:00:00.000Z/0/0000000000000000',
    density: 'strict',
    stores: [],
    sinceLedger: 0,
    parts,
  }
}
