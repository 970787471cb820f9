import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TempDirs } from '@provsync/testing'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { PACK_WINDOW_BYTES, PackFiles, type PackSlot, slotOf } from '../src/packs.js'
import { RunWriter } from '../src/run-writer.js'
import { randomBytes } from './helpers.js'

const temp = new TempDirs('provsync-runs-')
afterEach(() => temp.cleanup())
const KiB = 1024

/** PackFiles that counts its gathered writes. */
class CountingPacks extends PackFiles {
  readonly runs: Array<{ slot: PackSlot; chunks: number }> = []
  override writev(slot: PackSlot, chunks: Uint8Array[]): Promise<void> {
    this.runs.push({ slot, chunks: chunks.length })
    return super.writev(slot, chunks)
  }
}

describe('RunWriter: chunks that follow each other in a window go out as one positional writev', () => {
  it('writes every chunk at i × chunkSize, one run per contiguous stretch within a window and the byte cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 60 }),
        fc.constantFrom(16 * KiB, 64 * KiB),
        async (indices, chunkSize) => {
          const packs = new CountingPacks(temp.dir())
          const runs = new RunWriter(packs, 8 * chunkSize)
          const chunks = new Map(indices.map((i) => [i, randomBytes(chunkSize, i + 1)]))
          const written = indices.map((i) => runs.add(slotOf('p', i, chunkSize), chunks.get(i)!))
          runs.flush()
          await Promise.all(written)
          for (const [i, bytes] of chunks) {
            const slot = slotOf('p', i, chunkSize)
            const file = readFileSync(join(packs.dir, 'p', String(slot.window)))
            expect(file.subarray(slot.offset, slot.offset + chunkSize).equals(Buffer.from(bytes))).toBe(true)
          }
          // a new run starts exactly where the order breaks, a window ends or the cap is reached
          let expected = 0
          let length = 0
          indices.forEach((i, k) => {
            const prev = indices[k - 1]
            const sameWindow =
              prev !== undefined &&
              Math.floor((prev * chunkSize) / PACK_WINDOW_BYTES) ===
                Math.floor((i * chunkSize) / PACK_WINDOW_BYTES)
            if (prev !== undefined && prev + 1 === i && sameWindow && length < 8) length++
            else {
              expected++
              length = 1
            }
          })
          expect(packs.runs.length).toBe(expected)
          packs.close()
        },
      ),
      { numRuns: 30 },
    )
  })

  it('settles each chunk only once its run is written, and rejects the chunks of a failed run', async () => {
    const packs = new PackFiles(temp.dir())
    const runs = new RunWriter(packs)
    let settled = false
    const first = runs.add(slotOf('p', 0, 16 * KiB), randomBytes(16 * KiB, 1))
    first.then(() => {
      settled = true
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(settled).toBe(false) // gathered, not submitted
    runs.flush()
    await first
    expect(settled).toBe(true)
    const broken = new PackFiles(join(temp.dir(), 'file'))
    writeFileSync(broken.dir, 'not a directory')
    const failing = new RunWriter(broken)
    const a = failing.add(slotOf('p', 0, 16 * KiB), randomBytes(16 * KiB, 2))
    const b = failing.add(slotOf('p', 1, 16 * KiB), randomBytes(16 * KiB, 3))
    failing.flush()
    await expect(a).rejects.toThrow()
    await expect(b).rejects.toThrow()
    packs.close()
  })
})
