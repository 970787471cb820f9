import { getEventListeners, once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { streamPair } from '@libp2p/utils'
import { BudgetExceededError } from '@provsync/sync'
import { describe, expect, it } from 'vitest'
import {
  createStallClock,
  IdleDeadline,
  resetThreadStallClock,
  stalledMs,
  startDeadline,
  threadStallClock,
  withDeadline,
} from '../src/deadline.js'
import { framedStream } from '../src/framing.js'
import { DEFAULT_PROTOCOL_LIMITS, receive, type SessionContext } from '../src/protocol/context.js'

describe('deadlines', () => {
  it('fire with a TimeoutError once their time is up', async () => {
    const deadline = startDeadline(20)
    expect(deadline.signal.aborted).toBe(false)
    // Polled: a stall of this (loaded) thread meanwhile is not counted, so a fixed sleep could be short.
    await until(() => deadline.signal.aborted)
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError')
  })

  it('fire with the parent reason when the parent aborts first, and not again on time', async () => {
    const parent = new AbortController()
    const deadline = startDeadline(20, parent.signal)
    let fired = 0
    deadline.signal.addEventListener('abort', () => fired++)
    const reason = new Error('service stopped')
    parent.abort(reason)
    expect(deadline.signal.reason).toBe(reason)
    await sleep(60)
    expect(fired).toBe(1)
    expect(deadline.signal.reason).toBe(reason)
  })

  it('start aborted under an aborted parent', () => {
    const parent = new AbortController()
    parent.abort(new Error('gone'))
    expect(startDeadline(1_000, parent.signal).signal.aborted).toBe(true)
  })

  it('never fire once cleared', async () => {
    const parent = new AbortController()
    const deadline = startDeadline(20, parent.signal)
    deadline.clear()
    await sleep(60)
    parent.abort()
    expect(deadline.signal.aborted).toBe(false)
  })

  it('leave nothing on a long-lived parent, however many were started', async () => {
    const parent = new AbortController()
    for (let i = 0; i < 10_000; i++) startDeadline(60_000, parent.signal).clear()
    for (let i = 0; i < 100; i++) await withDeadline(60_000, { signal: parent.signal }, async () => i)
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0)
    // a deadline that fired detaches too
    const fired = startDeadline(5, parent.signal)
    await until(() => fired.signal.aborted)
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0)
  })

  it('pass the caller signal through when unbounded and hand the operation its result', async () => {
    const parent = new AbortController()
    const seen: Array<AbortSignal | undefined> = []
    const value = await withDeadline(Number.POSITIVE_INFINITY, { signal: parent.signal }, async (signal) => {
      seen.push(signal)
      return 42
    })
    expect(value).toBe(42)
    expect(seen[0]).toBe(parent.signal)
  })

  it('detach even when the operation fails', async () => {
    const parent = new AbortController()
    await expect(
      withDeadline(60_000, { signal: parent.signal }, async () => {
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0)
  })

  it('turn a silent remote into a time budget error on the session, leaving the session signal clean', async () => {
    const [, b] = await streamPair()
    const framed = framedStream(b)
    const ctx = { limits: { ...DEFAULT_PROTOCOL_LIMITS, idleTimeoutMs: 30 } } as SessionContext
    const session = new AbortController()
    const err = await receive(framed, ctx, { signal: session.signal }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BudgetExceededError)
    expect((err as BudgetExceededError).message).toContain('30 ms')
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0)
  })

  it('do not count a stall of this thread against the remote, and fire once the time is really up', async () => {
    const deadline = startDeadline(600)
    const before = stalledMs()
    // This thread cannot read anything for 1.5 s: an answer could not have been seen.
    blockThread(1_500)
    expect(stalledMs() - before).toBeGreaterThanOrEqual(1_000)
    await sleep(10)
    expect(deadline.signal.aborted).toBe(false)
    // It still fires, once the remote had its 600 ms of this thread's time.
    await until(() => deadline.signal.aborted)
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError')
  })

  it('let an answer that arrived while this thread was blocked be read before the time is up', async () => {
    const { client, server, close } = await socketPair()
    try {
      const answer = withDeadline(50, {}, (signal) => {
        signal?.throwIfAborted()
        return new Promise<string>((resolve, reject) => {
          server.once('data', (data) => resolve(String(data)))
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
        })
      })
      client.write('answer')
      // The answer waits in the socket while this thread is busy past the deadline's time.
      blockThread(300)
      await expect(answer).resolves.toBe('answer')
    } finally {
      close()
    }
  })
})

describe('the stall clock', () => {
  it('counts a stall of this thread, not the time it was stopped, and the thread default can be replaced', async () => {
    const clock = createStallClock()
    clock.start()
    blockThread(700)
    expect(clock.stalledMs()).toBeGreaterThanOrEqual(300)
    const before = clock.stalledMs()
    clock.stop()
    await sleep(400) // stopped: no ticker, the gap is not a stall
    clock.start()
    expect(clock.stalledMs()).toBeGreaterThanOrEqual(before) // the stall in progress at stop kept
    expect(clock.stalledMs()).toBeLessThan(before + 100) // the 400 ms stopped not counted
    clock.stop()

    const replaced = threadStallClock()
    const injected = createStallClock()
    expect(resetThreadStallClock(injected)).toBe(injected)
    expect(threadStallClock()).toBe(injected)
    resetThreadStallClock()
    expect(threadStallClock()).not.toBe(replaced)
  })
})

describe('the idle deadline of a conversation', () => {
  it('does not count a stall of this thread against the remote, and fires once the time is really up', async () => {
    const watch = new IdleDeadline(600)
    const signal = watch.begin()
    await sleep(0)
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        blockThread(1_500)
        resolve()
      }),
    )
    await sleep(10)
    expect(signal.aborted).toBe(false)
    await until(() => signal.aborted)
    expect((signal.reason as DOMException).name).toBe('TimeoutError')
    watch.dispose()
  })

  it('lets an answer that arrived while this thread was blocked end the wait before it fails', async () => {
    const { client, server, close } = await socketPair()
    const watch = new IdleDeadline(50)
    try {
      const signal = watch.begin()
      const answer = new Promise<string>((resolve, reject) => {
        server.once('data', (data) => {
          watch.end()
          resolve(String(data))
        })
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      })
      client.write('answer')
      blockThread(300)
      await expect(answer).resolves.toBe('answer')
    } finally {
      watch.dispose()
      close()
    }
  })
})

/** Keeps this thread busy, as a long synchronous apply or a snapshot does. */
function blockThread(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {}
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10)
  expect(condition()).toBe(true)
}

/** Two ends of one TCP connection on loopback. */
async function socketPair(): Promise<{ client: Socket; server: Socket; close(): void }> {
  const listener = createServer()
  listener.listen(0, '127.0.0.1')
  await once(listener, 'listening')
  const address = listener.address() as { port: number }
  const accepted = once(listener, 'connection') as Promise<[Socket]>
  const client = connect(address.port, '127.0.0.1')
  await once(client, 'connect')
  const [server] = await accepted
  return {
    client,
    server,
    close: () => {
      client.destroy()
      server.destroy()
      listener.close()
    },
  }
}
