import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import {
  BudgetExceededError,
  FrameTooLargeError,
  MalformedFrameError,
  SyncError,
  UnexpectedEndError,
} from '../src/errors.js'
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodeLength,
  encodeFrame,
  encodeLength,
  framedStream,
  takeFrame,
} from '../src/framing.js'

// Frame bounds and the stream rules of framedStream, against a scripted stream whose state the
// test sets (pause/resume, buffers, end, failures): the same properties as over libp2p, at the
// exact edges where they change.

const list = (...bytes: number[]) => new Uint8ArrayList(Uint8Array.from(bytes))
const frameOf = (n: number, fill = 1) => encodeFrame(new Uint8Array(n).fill(fill), 1 << 20)

describe('frame prefix: an unsigned LEB128 length of at most five bytes', () => {
  it('encodes the standard varint bytes at each width edge', () => {
    const cases: Array<[number, number[]]> = [
      [0, [0x00]],
      [1, [0x01]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [300, [0xac, 0x02]],
      [16_383, [0xff, 0x7f]],
      [16_384, [0x80, 0x80, 0x01]],
      [2 ** 28 - 1, [0xff, 0xff, 0xff, 0x7f]],
      [2 ** 28, [0x80, 0x80, 0x80, 0x80, 0x01]],
    ]
    for (const [n, bytes] of cases) {
      expect([...encodeLength(n)], `length ${n}`).toEqual(bytes)
      expect(decodeLength(list(...bytes))).toEqual({ length: n, bytes: bytes.length })
    }
  })

  it('an incomplete prefix is undefined up to four bytes; a fifth continuation byte is malformed', () => {
    expect(decodeLength(new Uint8ArrayList())).toBeUndefined()
    for (let n = 1; n <= 4; n++) expect(decodeLength(list(...Array(n).fill(0x80)))).toBeUndefined()
    expect(() => decodeLength(list(0x80, 0x80, 0x80, 0x80, 0x80))).toThrow(MalformedFrameError)
    expect(() => decodeLength(list(0x80, 0x80, 0x80, 0x80, 0x80, 0x01))).toThrow(/prefix is too long/)
    // Only the prefix is read: bytes after a complete prefix do not matter.
    expect(decodeLength(list(0x05, 0x80, 0x80, 0x80, 0x80, 0x80))).toEqual({ length: 5, bytes: 1 })
  })

  it('takeFrame: a frame of exactly the limit passes, one byte more is refused from the prefix', () => {
    const buffer = new Uint8ArrayList(frameOf(100), frameOf(101))
    expect(takeFrame(buffer, 100)).toHaveLength(100)
    expect(() => takeFrame(buffer, 100)).toThrow(new FrameTooLargeError(101, 100))
  })

  it('takeFrame waits for the whole body, and consumes exactly one frame', () => {
    const whole = Uint8Array.of(...frameOf(3, 7), ...frameOf(2, 9))
    const buffer = new Uint8ArrayList(whole.subarray(0, 3))
    expect(takeFrame(buffer, 10)).toBeUndefined()
    expect(buffer.byteLength).toBe(3)
    buffer.append(whole.subarray(3))
    expect([...takeFrame(buffer, 10)!]).toEqual([7, 7, 7])
    expect(buffer.byteLength).toBe(3)
    expect([...takeFrame(buffer, 10)!]).toEqual([9, 9])
    expect(buffer.byteLength).toBe(0)
    expect(takeFrame(buffer, 10)).toBeUndefined()
  })

  it('encodeFrame refuses above the limit, and the default limit plus its prefix fits one Noise message', () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(64 * 1024 - 16)
    expect(encodeFrame(new Uint8Array(DEFAULT_MAX_FRAME_BYTES)).byteLength).toBeLessThanOrEqual(65_535)
    expect(() => encodeFrame(new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1))).toThrow(
      new FrameTooLargeError(DEFAULT_MAX_FRAME_BYTES + 1, DEFAULT_MAX_FRAME_BYTES),
    )
    expect([...encodeFrame(Uint8Array.of(5, 6), 2)]).toEqual([2, 5, 6])
    expect([...encodeFrame(new Uint8Array(0), 0)]).toEqual([0])
  })
})

/** A stream whose state the test drives; records what framedStream asks of it. */
class ScriptedStream extends EventTarget {
  readStatus: 'readable' | 'paused' | 'closed' = 'readable'
  status = 'open'
  readBufferLength = 0
  writeBufferLength = 0
  readableEnded = false
  pauses = 0
  resumes = 0
  sent: Uint8Array[] = []
  accept = true
  sendError: Error | undefined
  drain: Promise<void> = Promise.resolve()
  drained = 0

  pause(): void {
    this.pauses++
    this.readStatus = 'paused'
  }

  resume(): void {
    this.resumes++
    this.readStatus = 'readable'
  }

  send(bytes: Uint8Array): boolean {
    if (this.sendError !== undefined) throw this.sendError
    this.sent.push(bytes)
    return this.accept
  }

  onDrain(): Promise<void> {
    this.drained++
    return this.drain
  }

  deliver(bytes: Uint8Array): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data: bytes }))
  }

  end(): void {
    this.dispatchEvent(new Event('remoteCloseWrite'))
  }

  fail(error?: Error): void {
    this.dispatchEvent(Object.assign(new Event('close'), { error }))
  }

  emit(name: string, error?: Error): void {
    this.dispatchEvent(Object.assign(new Event(name), { error }))
  }
}

const framed = (s: ScriptedStream, options = {}) => framedStream(s as unknown as Stream, options)
const tick = () => new Promise((resolve) => setImmediate(resolve))
const bufferError = () => Object.assign(new Error('read buffer full'), { name: 'StreamBufferError' })

describe('framedStream: read backpressure', () => {
  it('pauses once more than maxBufferedBytes are unread, and only while readable', () => {
    const s = new ScriptedStream()
    framed(s, { maxFrameBytes: 10, maxBufferedBytes: 20 })
    s.deliver(new Uint8Array(20))
    expect(s.pauses).toBe(0)
    s.deliver(new Uint8Array(1))
    expect(s.pauses).toBe(1)
    s.deliver(new Uint8Array(1)) // already paused: not paused again
    expect(s.pauses).toBe(1)
  })

  it('buffers twice a whole frame (limit plus the longest prefix) by default', () => {
    const s = new ScriptedStream()
    framed(s, { maxFrameBytes: 10 })
    s.deliver(new Uint8Array(30))
    expect(s.pauses).toBe(0)
    s.deliver(new Uint8Array(1))
    expect(s.pauses).toBe(1)
  })

  it('resumes once reading brings the unread bytes down to half the bound', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxFrameBytes: 10, maxBufferedBytes: 20 })
    // Four frames of 5 + 1 bytes: 24 buffered.
    s.deliver(Uint8Array.of(...frameOf(5), ...frameOf(5), ...frameOf(5), ...frameOf(5)))
    expect(s.readStatus).toBe('paused')
    await f.read() // 18 left: still above 10
    expect(s.resumes).toBe(0)
    await f.read() // 12 left
    expect(s.resumes).toBe(0)
    await f.read() // 6 left
    expect(s.resumes).toBe(1)
    expect(s.readStatus).toBe('readable')
    await f.read()
    expect(s.resumes).toBe(1)
  })

  it('resumes at exactly half the bound, not above it', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxFrameBytes: 10, maxBufferedBytes: 20 })
    // Frames of 7, 7 and 10 bytes: 24 buffered, then 17, then exactly 10.
    s.deliver(Uint8Array.of(...frameOf(6), ...frameOf(6), ...frameOf(9)))
    expect(s.readStatus).toBe('paused')
    await f.read()
    expect(s.resumes).toBe(0)
    await f.read()
    expect(s.resumes).toBe(1)
  })

  it('resumes a paused stream when no whole frame is buffered (the frame cannot come otherwise)', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxFrameBytes: 100, maxBufferedBytes: 4 })
    s.deliver(frameOf(50).subarray(0, 10))
    expect(s.readStatus).toBe('paused')
    const reading = f.read()
    await tick()
    expect(s.resumes).toBe(1)
    s.deliver(frameOf(50).subarray(10))
    expect(await reading).toHaveLength(50)
  })
})

describe('framedStream: how a read ends', () => {
  it('a clean end between frames is undefined, inside a frame an UnexpectedEndError naming the bytes pending', async () => {
    const clean = new ScriptedStream()
    const f = framed(clean)
    clean.deliver(frameOf(3))
    clean.end()
    expect(await f.read()).toHaveLength(3)
    expect(await f.read()).toBeUndefined()

    const cut = new ScriptedStream()
    const g = framed(cut)
    cut.deliver(frameOf(30).subarray(0, 12))
    cut.end()
    await expect(g.read()).rejects.toThrow(
      new UnexpectedEndError('stream ended inside a frame (12 bytes pending)'),
    )
  })

  it('waits while the stream still holds unread bytes, and ends on each sign of an end', async () => {
    // Closed with its read buffer drained, or readable ended: the end.
    const closed = new ScriptedStream()
    closed.status = 'closed'
    expect(await framed(closed).read()).toBeUndefined()
    const ended = new ScriptedStream()
    ended.readableEnded = true
    expect(await framed(ended).read()).toBeUndefined()
    // Closing but bytes still to come: a frame, not an end.
    const closing = new ScriptedStream()
    closing.status = 'closing'
    closing.readBufferLength = 4
    const f = framed(closing)
    const reading = f.read()
    await tick()
    closing.readBufferLength = 0
    closing.deliver(frameOf(3))
    expect(await reading).toHaveLength(3)
    // A remote end with bytes still in the stream's own buffer is not the end yet either.
    const draining = new ScriptedStream()
    const d = framed(draining)
    draining.readBufferLength = 2
    draining.end()
    const next = d.read()
    await tick()
    draining.readBufferLength = 0
    draining.deliver(frameOf(2))
    expect(await next).toHaveLength(2)
  })

  it('a stream closed with an error fails the read with that cause', async () => {
    const s = new ScriptedStream()
    const f = framed(s)
    const cause = new Error('connection reset')
    s.fail(cause)
    const error = await f.read().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnexpectedEndError)
    expect((error as Error).message).toBe('stream failed: connection reset')
    expect((error as Error).cause).toBe(cause)

    const full = new ScriptedStream()
    const g = framed(full)
    full.fail(bufferError())
    const budget = await g.read().catch((e: unknown) => e)
    expect(budget).toBeInstanceOf(BudgetExceededError)
    expect((budget as BudgetExceededError).budget).toBe('buffer')
    expect((budget as Error).message).toBe('stream reset: read buffer full')

    const typed = new ScriptedStream()
    const h = framed(typed)
    const own = new SyncError('ours')
    typed.fail(own)
    await expect(h.read()).rejects.toBe(own)
  })

  it('a close without an error after a partial frame is an UnexpectedEndError', async () => {
    const s = new ScriptedStream()
    const f = framed(s)
    s.deliver(Uint8Array.of(5, 1))
    s.fail()
    await expect(f.read()).rejects.toThrow(/inside a frame \(2 bytes pending\)/)
  })

  it('a failure with frames still buffered delivers them, then names the lost bytes', async () => {
    const s = new ScriptedStream()
    const f = framed(s)
    s.deliver(Uint8Array.of(...frameOf(2), 9))
    s.fail(new Error('gone'))
    expect(await f.read()).toHaveLength(2)
    await expect(f.read()).rejects.toThrow(/1 bytes pending/)
  })

  it('an abort while waiting rejects with the signal reason; an aborted signal is refused at once', async () => {
    const s = new ScriptedStream()
    const f = framed(s)
    const controller = new AbortController()
    const reading = f.read({ signal: controller.signal })
    await tick()
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(reading).rejects.toBe(reason)
    const aborted = AbortSignal.abort(new Error('already'))
    await expect(f.read({ signal: aborted })).rejects.toThrow('already')
    // A frame that arrives is still read after an abort that came before it waited.
    s.deliver(frameOf(1))
    expect(await f.read()).toHaveLength(1)
  })
})

describe('framedStream: no listener outlives the call that added it', () => {
  /** Counts the abort listeners a signal holds. */
  function countedSignal(controller: AbortController) {
    let listeners = 0
    const signal = controller.signal
    const add = signal.addEventListener.bind(signal)
    const remove = signal.removeEventListener.bind(signal)
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      if (args[0] === 'abort') listeners++
      add(...args)
    }) as typeof signal.addEventListener
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      if (args[0] === 'abort') listeners--
      remove(...args)
    }) as typeof signal.removeEventListener
    return { signal, listening: () => listeners }
  }

  it('a read that waited and got its frame leaves no abort listener behind', async () => {
    const s = new ScriptedStream()
    const f = framed(s)
    const { signal, listening } = countedSignal(new AbortController())
    for (let i = 0; i < 3; i++) {
      const reading = f.read({ signal })
      await tick()
      expect(listening()).toBe(1)
      // A readable stream that has no frame yet is waited on, not resumed.
      expect(s.resumes).toBe(0)
      s.deliver(frameOf(1))
      await reading
      expect(listening()).toBe(0)
    }
  })

  it('a write that waited for an idle stream leaves no listener on the signal or the stream', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxFrameBytes: 10, maxBufferedBytes: 8 })
    const streamListeners = new Map<string, number>()
    const add = s.addEventListener.bind(s)
    const remove = s.removeEventListener.bind(s)
    s.addEventListener = ((...args: Parameters<typeof add>) => {
      streamListeners.set(args[0], (streamListeners.get(args[0]) ?? 0) + 1)
      add(...args)
    }) as typeof s.addEventListener
    s.removeEventListener = ((...args: Parameters<typeof remove>) => {
      streamListeners.set(args[0], (streamListeners.get(args[0]) ?? 0) - 1)
      remove(...args)
    }) as typeof s.removeEventListener
    const { signal, listening } = countedSignal(new AbortController())
    s.writeBufferLength = 9
    const writing = f.write(Uint8Array.of(1), { signal })
    await tick()
    expect(listening()).toBe(1)
    expect(streamListeners.get('idle')).toBe(1)
    s.writeBufferLength = 0
    s.emit('idle')
    await writing
    expect(listening()).toBe(0)
    expect(streamListeners.get('idle')).toBe(0)
    expect(streamListeners.get('close')).toBe(0)
  })
})

describe('framedStream: the session byte budget', () => {
  it('reads up to exactly maxSessionBytes; one byte more fails with the bytes budget', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxSessionBytes: 8 })
    s.deliver(Uint8Array.of(...frameOf(3), ...frameOf(3))) // 8 bytes
    expect(await f.read()).toHaveLength(3)
    expect(await f.read()).toHaveLength(3)
    expect(f.bytesRead).toBe(8)
    s.deliver(Uint8Array.of(0))
    const error = await f.read().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BudgetExceededError)
    expect((error as BudgetExceededError).budget).toBe('bytes')
    expect((error as Error).message).toBe('session moved 9 bytes, budget 8')
  })

  it('counts written bytes (prefix included) in the same budget', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxSessionBytes: 10 })
    await f.write(new Uint8Array(4)) // 5 bytes
    s.deliver(frameOf(4)) // 5 bytes: 10 in all
    expect(await f.read()).toHaveLength(4)
    expect([f.bytesWritten, f.bytesRead]).toEqual([5, 5])
    await expect(f.write(new Uint8Array(0))).rejects.toThrow(/session moved 11 bytes, budget 10/)
    expect(s.sent).toHaveLength(2)
  })
})

describe('framedStream: writes', () => {
  it('sends one prefixed frame per write, refusing one above the limit before sending', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxFrameBytes: 4 })
    await f.write(Uint8Array.of(1, 2))
    expect(s.sent.map((b) => [...b])).toEqual([[2, 1, 2]])
    await expect(f.write(new Uint8Array(5))).rejects.toThrow(new FrameTooLargeError(5, 4))
    await expect(f.write(new Uint8Array(1), { signal: AbortSignal.abort() })).rejects.toThrow()
    expect(s.sent).toHaveLength(1)
    expect(f.bytesWritten).toBe(3)
  })

  it('a send that throws is a typed failure', async () => {
    const s = new ScriptedStream()
    const f = framed(s)
    s.sendError = new Error('closed')
    const error = await f.write(Uint8Array.of(1)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnexpectedEndError)
    expect((error as Error).message).toBe('stream failed: closed')
    expect((error as Error).cause).toBe(s.sendError)
    s.sendError = bufferError()
    await expect(f.write(Uint8Array.of(1))).rejects.toBeInstanceOf(BudgetExceededError)
  })

  it('waits for drain only when the stream refused more, and a full buffer there is a budget', async () => {
    const s = new ScriptedStream()
    const f = framed(s)
    await f.write(Uint8Array.of(1))
    expect(s.drained).toBe(0)
    s.accept = false
    await f.write(Uint8Array.of(1))
    expect(s.drained).toBe(1)
    s.drain = Promise.reject(bufferError())
    await expect(f.write(Uint8Array.of(1))).rejects.toBeInstanceOf(BudgetExceededError)
    const other = new Error('aborted')
    s.drain = Promise.reject(other)
    await expect(f.write(Uint8Array.of(1))).rejects.toBe(other)
    // Whatever the stream rejects with passes through, even nothing.
    s.drain = Promise.reject(undefined)
    await expect(f.write(Uint8Array.of(1))).rejects.toBeUndefined()
  })

  it('waits until the write buffer is empty once more than maxBufferedBytes pile up', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxFrameBytes: 10, maxBufferedBytes: 8 })
    s.writeBufferLength = 8
    await f.write(Uint8Array.of(1)) // at the bound: no wait
    s.writeBufferLength = 9
    let done = false
    const writing = f.write(Uint8Array.of(1)).then(() => {
      done = true
    })
    await tick()
    expect(done).toBe(false)
    s.writeBufferLength = 0
    s.emit('idle')
    await writing
    expect(done).toBe(true)
  })

  it('a stream that closes while the write buffer drains fails the write, typed by its cause', async () => {
    const closes = async (error?: Error) => {
      const s = new ScriptedStream()
      const f = framed(s, { maxFrameBytes: 10, maxBufferedBytes: 8 })
      s.writeBufferLength = 9
      const writing = f.write(Uint8Array.of(1)).catch((e: unknown) => e)
      await tick()
      s.emit('close', error)
      return writing
    }
    expect(await closes()).toEqual(new UnexpectedEndError('stream closed while writing'))
    expect(await closes(new Error('reset'))).toEqual(new UnexpectedEndError('stream closed while writing'))
    const reset = bufferError()
    const budget = await closes(reset)
    expect(budget).toBeInstanceOf(BudgetExceededError)
    expect((budget as BudgetExceededError).budget).toBe('buffer')
    expect((budget as Error).cause).toBe(reset)
  })

  it('a stream no longer open with a full write buffer fails at once; an abort stops the wait', async () => {
    const s = new ScriptedStream()
    const f = framed(s, { maxFrameBytes: 10, maxBufferedBytes: 8 })
    s.writeBufferLength = 9
    s.status = 'closing'
    await expect(f.write(Uint8Array.of(1))).rejects.toThrow(
      new UnexpectedEndError('stream closed while writing'),
    )
    s.status = 'open'
    const controller = new AbortController()
    const writing = f.write(Uint8Array.of(1), { signal: controller.signal })
    await tick()
    const reason = new Error('give up')
    controller.abort(reason)
    await expect(writing).rejects.toBe(reason)
    // The listeners are gone: a later idle or close settles nothing twice.
    s.emit('idle')
    s.emit('close')
  })
})
