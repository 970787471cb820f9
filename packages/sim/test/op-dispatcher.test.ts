import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { OpDispatcher } from '../src/threaded-scenario.js'
import type { WorkloadOp } from '../src/workload.js'

const op = (node: number, n: number): WorkloadOp => ({
  type: 'supersede',
  atMs: n,
  node,
  target: new Uint8Array(32),
  kind: 'invalidate',
  reason: `op ${n}`,
})

/** Sends recorded per thread; each answered when the test says so. */
function fakeThreads() {
  const sent: { thread: number; op: WorkloadOp; answer(): void; fail(e: Error): void }[] = []
  const send = (thread: number, o: WorkloadOp) =>
    new Promise<string>((resolve, reject) => {
      sent.push({ thread, op: o, answer: () => resolve(String(o.atMs)), fail: reject })
    })
  return { sent, send }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('OpDispatcher', () => {
  test('a thread that does not answer holds back only its own ops', async () => {
    const { sent, send } = fakeThreads()
    const acks: string[] = []
    const d = new OpDispatcher(2, send, (a) => acks.push(a), 4)
    // Nodes 0, 2 in thread 0; 1, 3 in thread 1; ten ops each, interleaved in the timeline.
    for (let n = 0; n < 20; n++) d.enqueue(op(n % 4, n))
    expect(d.pending(0)).toEqual({ queued: 6, inFlight: 4 })
    expect(d.pending(1)).toEqual({ queued: 6, inFlight: 4 })
    // Thread 1 answers everything it gets; thread 0 answers nothing.
    for (let round = 0; round < 5; round++) {
      for (const s of sent.filter((s) => s.thread === 1)) s.answer()
      await flush()
    }
    expect(d.pending(1)).toEqual({ queued: 0, inFlight: 0 })
    expect(d.pending(0)).toEqual({ queued: 6, inFlight: 4 })
    expect(acks).toHaveLength(10)
    let allSent = false
    void d.sent().then(() => (allSent = true))
    await flush()
    expect(allSent).toBe(false)
    for (let round = 0; round < 5; round++) {
      for (const s of sent.filter((s) => s.thread === 0)) s.answer()
      await flush()
    }
    expect(allSent).toBe(true)
    await d.settled()
    expect(acks).toHaveLength(20)
  })

  test('each thread gets its ops in timeline order, never more than the window at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(5), { maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        async (nodes, threads, window, picks) => {
          const { sent, send } = fakeThreads()
          const d = new OpDispatcher(threads, send, () => {}, window)
          nodes.forEach((node, n) => {
            d.enqueue(op(node, n))
          })
          const answered = new Set<number>()
          let turn = 0
          while (answered.size < sent.length || sent.length < nodes.length) {
            for (let t = 0; t < threads; t++) expect(d.pending(t).inFlight).toBeLessThanOrEqual(window)
            const open = sent.map((_, i) => i).filter((i) => !answered.has(i))
            const i = open[picks[turn++ % picks.length]! % open.length]!
            answered.add(i)
            sent[i]!.answer()
            await flush()
          }
          await d.settled()
          for (let t = 0; t < threads; t++) {
            const order = sent.filter((s) => s.thread === t).map((s) => s.op.atMs)
            const expected = nodes.flatMap((node, n) => (node % threads === t ? [n] : []))
            expect(order).toEqual(expected)
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  test('a failed op rejects the waits and stops sending', async () => {
    const { sent, send } = fakeThreads()
    const d = new OpDispatcher(1, send, () => {}, 2)
    for (let n = 0; n < 5; n++) d.enqueue(op(0, n))
    const settled = d.settled()
    sent[0]!.fail(new Error('thread died'))
    await expect(settled).rejects.toThrow('thread died')
    await expect(d.sent()).rejects.toThrow('thread died')
    sent[1]!.answer()
    await flush()
    expect(sent).toHaveLength(2)
  })
})
