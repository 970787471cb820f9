import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { type Manifest, toHex } from '@provsync/blobs'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { collect, FakeSource, randomBytes, tempStores } from './helpers.js'

const stores = tempStores()
afterEach(() => stores.cleanup())
const KiB = 1024
const BUDGET = 48 * KiB

type Op =
  | { kind: 'put'; blob: number }
  | { kind: 'read'; blob: number }
  | { kind: 'pin'; blob: number }
  | { kind: 'unpin'; blob: number }

const BLOBS = 6
const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('put', 'read', 'read', 'pin', 'unpin'),
  blob: fc.integer({ min: 0, max: BLOBS - 1 }),
}) as fc.Arbitrary<Op>

function contentOf(blob: number): Uint8Array {
  return randomBytes((1 + (blob % 3)) * 16 * KiB - blob, 100 + blob)
}

describe('eviction under a byte budget', () => {
  it('never evicts a pinned chunk, keeps fetched bytes within the budget, and refetches after eviction', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const server = await stores.open()
        const manifests: Manifest[] = []
        for (let b = 0; b < BLOBS; b++)
          manifests.push((await server.put(contentOf(b), { chunkSize: 16 * KiB })).manifest)
        const source = new FakeSource(new Map([['server', { store: server, lie: 'honest' }]]))
        const dir = stores.dir()
        const node = await stores.open({ path: dir, source, budgetBytes: BUDGET })
        const pinned = new Set<number>()
        for (const op of ops) {
          const id = manifests[op.blob]!.id
          if (op.kind === 'put') {
            await node.put(contentOf(op.blob), { chunkSize: 16 * KiB })
            pinned.add(op.blob)
          } else if (op.kind === 'read') {
            expect((await collect(node.read(id))).equals(Buffer.from(contentOf(op.blob)))).toBe(true)
          } else if (op.kind === 'pin') {
            await node.pin(id)
            pinned.add(op.blob)
          } else if (node.localManifest(id) !== undefined) {
            node.unpin(id)
            pinned.delete(op.blob)
          }
          const stats = node.stats()
          expect(stats.unpinnedBytes).toBeLessThanOrEqual(BUDGET)
          expect(stats.pinnedBytes + stats.unpinnedBytes).toBe(diskBytes(dir))
          for (const b of pinned) expect(node.status(manifests[b]!.id).pinned).toBe(true)
          for (const b of pinned) {
            const status = node.status(manifests[b]!.id)
            if (op.kind === 'put' || op.kind === 'read') {
              if (b === op.blob) expect(status.held).toBe(status.chunks)
            }
          }
        }
        // Whatever a pinned blob held once it was read or put stays held to the end.
        for (const b of pinned) {
          const status = node.status(manifests[b]!.id)
          const requests = source.requests.length
          await collect(node.read(manifests[b]!.id))
          if (status.held === status.chunks) expect(source.requests.length).toBe(requests)
        }
        await node.close()
        await server.close()
      }),
      { numRuns: 25 },
    )
  })

  it('a pinned blob read after unrelated traffic stays whole; fetched ones are evicted least recently used first', async () => {
    const server = await stores.open()
    const ids: Uint8Array[] = []
    for (let b = 0; b < 4; b++)
      ids.push((await server.put(randomBytes(32 * KiB, b + 1), { chunkSize: 16 * KiB })).ref.id)
    const source = new FakeSource(new Map([['s', { store: server, lie: 'honest' }]]))
    const node = await stores.open({ source, budgetBytes: 64 * KiB })
    await node.pin(ids[0]!)
    await collect(node.read(ids[0]!))
    await collect(node.read(ids[1]!))
    await collect(node.read(ids[2]!))
    await collect(node.read(ids[1]!)) // 1 is now more recent than 2
    await collect(node.read(ids[3]!))
    expect(node.status(ids[0]!).held).toBe(2)
    expect(node.status(ids[1]!).held).toBe(2)
    expect(node.status(ids[2]!).held).toBe(0)
    expect(node.stats()).toMatchObject({ pinnedBytes: 32 * KiB, unpinnedBytes: 64 * KiB })
    node.unpin(ids[0]!)
    expect(node.stats().unpinnedBytes).toBe(64 * KiB)
    // Unpinned chunks enter the LRU as the most recent: the oldest fetched blob goes instead.
    expect(node.status(ids[0]!).held).toBe(2)
    expect(node.status(ids[1]!).held).toBe(0)
    const requests = source.requests.length
    expect(toHex(Buffer.concat(await node.range(ids[1]!, 0, 2)))).toBe(toHex(randomBytes(32 * KiB, 2)))
    expect(source.requests.length).toBe(requests + 1)
  })
})

describe('eviction by pack window (storage version 2)', () => {
  it('evicts the least recently used window whole and deletes its file; a window holding a pinned chunk stays', async () => {
    // 80 chunks of 64 KiB: window 0 holds chunks 0-63 (4 MiB), window 1 chunks 64-79.
    const MiB = 1024 * KiB
    const bytes = randomBytes(5 * MiB, 21)
    const server = await stores.open()
    const { ref } = await server.put(bytes, { chunkSize: 64 * KiB })
    const source = new FakeSource(new Map([['server', { store: server, lie: 'honest' }]]))
    const dir = stores.dir()
    const node = await stores.open({ path: dir, source, budgetBytes: 4.5 * MiB })
    const pack = join(dir, 'packs', toHex(ref.id))
    await node.range(ref.id, 64, 16) // window 1, then window 0: 5 MiB > 4.5 MiB
    await node.range(ref.id, 0, 64)
    expect(readdirSync(pack)).toEqual(['0'])
    expect(node.missing(ref.id)).toEqual(Array.from({ length: 16 }, (_, i) => 64 + i))
    expect(node.stats()).toMatchObject({ unpinnedBytes: 4 * MiB, chunks: 64 })
    // A pinned blob sharing chunk 70 (fetched into window 1 again): evicting window 1 keeps the
    // file for that chunk, and the pinned blob reads it from there.
    const shared = bytes.subarray(70 * 64 * KiB, 71 * 64 * KiB)
    await node.range(ref.id, 64, 16) // window 0 is now the oldest and goes
    expect(readdirSync(pack)).toEqual(['1'])
    const other = await node.put(Buffer.concat([shared, randomBytes(64 * KiB, 22)]), { chunkSize: 64 * KiB })
    expect(readdirSync(join(dir, 'packs', toHex(other.ref.id)))).toEqual(['0']) // only its own chunk 1
    await node.range(ref.id, 0, 64) // 4 MiB more: window 1 is evicted but for the pinned chunk
    expect(readdirSync(pack).sort()).toEqual(['0', '1'])
    expect(node.status(other.ref.id).held).toBe(2)
    expect(Buffer.from((await node.range(other.ref.id, 0, 1))[0]!).equals(Buffer.from(shared))).toBe(true)
    expect(node.stats()).toMatchObject({ unpinnedBytes: 4 * MiB, pinnedBytes: 128 * KiB })
  })
})

/**
 * Bytes of pack window files on disk: what the store's totals must add up to (here every blob fits
 * one window and is read whole, so a window file is exactly its chunks). A pack directory with no
 * window left must be gone.
 */
function diskBytes(dir: string): number {
  let sum = 0
  const root = join(dir, 'packs')
  if (!existsSync(root)) return 0
  for (const pack of readdirSync(root)) {
    const windows = readdirSync(join(root, pack))
    expect(windows.length).toBeGreaterThan(0)
    for (const f of windows) sum += statSync(join(root, pack, f)).size
  }
  return sum
}
