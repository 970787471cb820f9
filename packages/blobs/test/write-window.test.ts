import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WriteWindow } from '../src/write-window.js'

/** A write the test finishes by hand. */
function pendingWrite() {
  let finish!: (err?: Error) => void
  const done = new Promise<void>((resolve, reject) => {
    finish = (err) => (err === undefined ? resolve() : reject(err))
  })
  return { done, finish }
}

describe('WriteWindow: the writes put keeps in flight', () => {
  it('never holds more than its bytes plus the newest write, and waits for the oldest first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 6 })), {
          maxLength: 30,
        }),
        async (writes) => {
          const window = new WriteWindow(64)
          const inFlight = new Set<number>()
          let held = 0
          for (const [i, [bytes, turns]] of writes.entries()) {
            inFlight.add(i)
            held += bytes
            const w = pendingWrite()
            // Finished after `turns` turns of the event loop: slower than `add`'s one turn.
            const later = (n: number): void => {
              if (n > 0) return void setImmediate(() => later(n - 1))
              inFlight.delete(i)
              held -= bytes
              w.finish()
            }
            later(turns)
            await window.add(w.done, bytes)
            expect(held - (inFlight.has(i) ? bytes : 0)).toBeLessThanOrEqual(64)
          }
          await window.drain()
          expect(inFlight.size).toBe(0)
        },
      ),
      { numRuns: 50 },
    )
  })

  it("turns the event loop once per turnBytes added (the pool's completions run while put hashes the next chunks)", async () => {
    const window = new WriteWindow(1000, 100)
    let turned = 0
    setImmediate(() => turned++)
    await window.add(Promise.resolve(), 60)
    expect(turned).toBe(0)
    await window.add(Promise.resolve(), 60)
    expect(turned).toBe(1)
    setImmediate(() => turned++)
    await window.add(Promise.resolve(), 60)
    expect(turned).toBe(1)
  })

  it('rethrows a failed write: from add once it is the oldest over the bound, else from drain', async () => {
    const window = new WriteWindow(10)
    const first = pendingWrite()
    await window.add(first.done, 8)
    first.finish(new Error('disk full'))
    const second = pendingWrite()
    second.finish()
    await expect(window.add(second.done, 8)).rejects.toThrow('disk full')
    const third = pendingWrite()
    await window.add(third.done, 1)
    third.finish(new Error('gone'))
    await window.settle()
    await expect(window.drain()).rejects.toThrow('gone')
  })
})
