import { describe, expect, it } from 'vitest'
import { createPullQueue } from '../src/pull-queue.js'

// The scheduling rules of the announcement pull queue, one at a time: the concurrency bound as
// given (rounded down, at least one), a busy peer that does not hold up the others, a slot freed
// by a failed session, and what `skipped` counts.

const settle = () => new Promise((resolve) => setImmediate(resolve))

function harness(concurrency: number, stillNeeded: (key: string, item: string) => boolean = () => true) {
  const started: string[] = []
  const finish = new Map<string, (ok: boolean) => void>()
  const queue = createPullQueue<string>({
    concurrency,
    stillNeeded,
    run: (key, item) => {
      started.push(item)
      return new Promise((resolve, reject) => {
        finish.set(key, (ok) => (ok ? resolve(undefined) : reject(new Error('failed'))))
      })
    },
  })
  return { queue, started, finish: (key: string, ok = true) => finish.get(key)!(ok) }
}

describe('pull queue: rules', () => {
  it('runs floor(concurrency) sessions at once, and at least one', () => {
    for (const [asked, runs] of [
      [0, 1],
      [-3, 1],
      [0.5, 1],
      [1, 1],
      [2.9, 2],
      [3, 3],
    ] as const) {
      const h = harness(asked)
      for (const peer of ['a', 'b', 'c', 'd']) h.queue.offer(peer, `${peer}1`)
      expect(h.queue.running, `concurrency ${asked}`).toBe(runs)
      expect(h.queue.waiting).toBe(4 - runs)
      expect(h.started).toEqual(['a1', 'b1', 'c1', 'd1'].slice(0, runs))
    }
  })

  it('a peer in a session waits; peers behind it in the queue take the free slot', () => {
    const h = harness(2)
    h.queue.offer('a', 'a1')
    h.queue.offer('a', 'a2') // a is running: a2 waits, first in line
    h.queue.offer('b', 'b1') // the second slot goes to b, past a2
    expect(h.started).toEqual(['a1', 'b1'])
    expect(h.queue.waiting).toBe(1)
    expect(h.queue.running).toBe(2)
  })

  it('a failed session frees its slot like a finished one', async () => {
    const h = harness(1)
    h.queue.offer('a', 'a1')
    h.queue.offer('b', 'b1')
    h.finish('a', false)
    await settle()
    expect(h.started).toEqual(['a1', 'b1'])
    expect(h.queue.running).toBe(1)
    expect(h.queue.waiting).toBe(0)
  })

  it('skipped counts each announcement found no longer needed, and only those', async () => {
    const needed = new Set(['b1', 'd1'])
    const h = harness(1, (_key, item) => needed.has(item))
    h.queue.offer('a', 'a0')
    expect(h.started).toEqual([])
    expect(h.queue.skipped).toBe(1)
    h.queue.offer('b', 'b1')
    h.queue.offer('c', 'c1')
    h.queue.offer('d', 'd1')
    expect(h.queue.skipped).toBe(1)
    h.finish('b')
    await settle()
    // c1 is skipped at its turn, and d1 takes the slot in the same pass.
    expect(h.queue.skipped).toBe(2)
    expect(h.started).toEqual(['b1', 'd1'])
    expect(h.queue.running).toBe(1)
  })

  it('drop forgets only what has not started', async () => {
    const h = harness(1)
    h.queue.offer('a', 'a1')
    h.queue.offer('b', 'b1')
    h.queue.drop('a') // running: nothing to forget
    h.queue.drop('b')
    expect(h.queue.waiting).toBe(0)
    expect(h.queue.running).toBe(1)
    h.finish('a')
    await settle()
    expect(h.started).toEqual(['a1'])
    expect(h.queue.running).toBe(0)
  })
})
