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
