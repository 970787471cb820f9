import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createPullQueue } from '../src/pull-queue.js'

const settle = () => new Promise((resolve) => setImmediate(resolve))

type Step =
  | { kind: 'offer'; peer: number }
  | { kind: 'finish'; pick: number; fail: boolean }
  | { kind: 'catch-up'; peer: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('offer' as const), peer: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), fail: fc.boolean() }),
  fc.record({ kind: fc.constant('catch-up' as const), peer: fc.integer({ min: 0, max: 5 }) }),
)

describe('announcement pull queue', () => {
  it('runs at most `concurrency` sessions, one per peer, each on the latest announcement still needed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(step, { maxLength: 60 }),
        async (concurrency, steps) => {
          // An announcement is a version number per peer; "caught up" means we already hold that version.
          const latest = new Map<string, number>()
          const caughtUp = new Map<string, number>()
          const running = new Map<string, { version: number; finish: (ok: boolean) => void }>()
          const started: Array<{ peer: string; version: number }> = []
          let version = 0
          const queue = createPullQueue<number>({
            concurrency,
            stillNeeded: (peer, v) => (caughtUp.get(peer) ?? -1) < v,
            run: (peer, v) => {
              expect(running.has(peer), `${peer} started twice at once`).toBe(false)
              // Only the newest announcement a peer made is ever run.
              expect(v).toBe(latest.get(peer))
              started.push({ peer, version: v })
              return new Promise((resolve, reject) => {
                running.set(peer, {
                  version: v,
                  finish: (ok) => {
                    running.delete(peer)
                    if (ok) resolve(undefined)
                    else reject(new Error('session failed'))
                  },
                })
              })
            },
          })
          for (const s of steps) {
            if (s.kind === 'offer') {
              const peer = `p${s.peer}`
              latest.set(peer, ++version)
              queue.offer(peer, version)
            } else if (s.kind === 'catch-up') {
              const peer = `p${s.peer}`
              caughtUp.set(peer, latest.get(peer) ?? -1)
            } else {
              const entries = [...running.values()]
              entries[s.pick % Math.max(1, entries.length)]?.finish(!s.fail)
            }
            await settle()
            expect(running.size).toBeLessThanOrEqual(concurrency)
            expect(queue.running).toBe(running.size)
          }
          // Drain: finish everything; nothing may be left waiting.
          while (running.size > 0) {
            for (const entry of [...running.values()]) entry.finish(true)
            await settle()
          }
          expect(queue.waiting).toBe(0)
          // Every peer's latest announcement was run, unless we had caught up with it by its turn.
          for (const [peer, last] of latest) {
            const ran = started.some((s) => s.peer === peer && s.version === last)
            expect(
              ran || (caughtUp.get(peer) ?? -1) >= last,
              `${peer}@${last} neither ran nor caught up`,
            ).toBe(true)
          }
          expect(queue.skipped).toBeLessThanOrEqual(steps.filter((s) => s.kind === 'offer').length)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('skips an announcement whose root we reached while it waited, and counts it', async () => {
    const finishers: Array<() => void> = []
    let needed = true
    const ran: string[] = []
    const queue = createPullQueue<string>({
      concurrency: 1,
      stillNeeded: () => needed,
      run: (peer) => {
        ran.push(peer)
        return new Promise<void>((resolve) => finishers.push(resolve))
      },
    })
    queue.offer('a', 'a1')
    queue.offer('b', 'b1')
    expect(ran).toEqual(['a'])
    expect(queue.waiting).toBe(1)
    needed = false
    finishers.shift()!()
    await settle()
    expect(ran).toEqual(['a'])
    expect(queue.skipped).toBe(1)
    expect(queue.waiting).toBe(0)
    expect(queue.running).toBe(0)
  })

  it('runs what a peer announced during its own session afterwards, and forgets a peer that left', async () => {
    const finishers: Array<() => void> = []
    const ran: string[] = []
    const queue = createPullQueue<string>({
      concurrency: 1,
      stillNeeded: () => true,
      run: (_peer, item) => {
        ran.push(item)
        return new Promise<void>((resolve) => finishers.push(resolve))
      },
    })
    queue.offer('a', 'a1')
    queue.offer('a', 'a2')
    queue.offer('a', 'a3')
    queue.offer('b', 'b1')
    queue.drop('b')
    expect(ran).toEqual(['a1'])
    finishers.shift()!()
    await settle()
    expect(ran).toEqual(['a1', 'a3'])
    finishers.shift()!()
    await settle()
    expect(ran).toEqual(['a1', 'a3'])
    expect(queue.waiting).toBe(0)
  })

  it('frees the slot of a session that throws before it starts', async () => {
    let calls = 0
    const queue = createPullQueue<number>({
      concurrency: 1,
      stillNeeded: () => true,
      run: () => {
        calls++
        throw new Error('no connection')
      },
    })
    queue.offer('a', 1)
    await settle()
    queue.offer('b', 2)
    await settle()
    expect(calls).toBe(2)
    expect(queue.running).toBe(0)
  })
})
