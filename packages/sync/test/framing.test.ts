import { streamPair } from '@libp2p/utils'
import { BudgetExceededError, FrameTooLargeError, UnexpectedEndError } from '@provsync/sync'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { decodeLength, encodeFrame, encodeLength, framedStream, takeFrame } from '../src/framing.js'

const MAX = 1024

describe('frame codec', () => {
  it('round-trips any frames however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: MAX }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 50 }),
        (frames, cuts) => {
          const wire = Buffer.concat(frames.map((f) => encodeFrame(f, MAX)))
          const buffer = new Uint8ArrayList()
          const out: Uint8Array[] = []
          let at = 0
          let i = 0
          while (at < wire.byteLength) {
            const size = cuts[i++ % cuts.length]!
            buffer.append(wire.subarray(at, at + size))
            at += size
            for (let f = takeFrame(buffer, MAX); f !== undefined; f = takeFrame(buffer, MAX)) out.push(f)
          }
          expect(out.map((f) => Buffer.from(f).toString('hex'))).toEqual(
            frames.map((f) => Buffer.from(f).toString('hex')),
          )
          expect(buffer.byteLength).toBe(0)
        },
      ),
    )
  })

  it('encodes lengths as varints that decode back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (n) => {
        const list = new Uint8ArrayList(encodeLength(n))
        expect(decodeLength(list)).toEqual({ length: n, bytes: encodeLength(n).byteLength })
      }),
    )
  })

  it('refuses an oversized frame from its prefix alone, before the body arrives', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX + 1, max: 2 ** 28 }), (length) => {
        const buffer = new Uint8ArrayList(encodeLength(length))
        expect(() => takeFrame(buffer, MAX)).toThrow(FrameTooLargeError)
      }),
    )
    expect(() => encodeFrame(new Uint8Array(MAX + 1), MAX)).toThrow(FrameTooLargeError)
  })
})

describe('framedStream over a libp2p stream', () => {
  it('delivers frames in order with backpressure, then a clean end', async () => {
    const [a, b] = await streamPair({ capacity: 2 })
    const writer = framedStream(a, { maxFrameBytes: MAX })
    const reader = framedStream(b, { maxFrameBytes: MAX })
    const frames = Array.from({ length: 200 }, (_, i) => new Uint8Array(500).fill(i % 256))
    const writing = (async () => {
      for (const f of frames) await writer.write(f)
      await a.close()
    })()
    const got: Uint8Array[] = []
    for (let f = await reader.read(); f !== undefined; f = await reader.read()) got.push(f)
    await writing
    expect(got).toHaveLength(frames.length)
    expect(got.every((f, i) => f.byteLength === 500 && f[0] === i % 256)).toBe(true)
    expect(reader.bytesRead).toBe(writer.bytesWritten)
  })

  it('fails with FrameTooLargeError when the remote announces an oversized frame', async () => {
    const [a, b] = await streamPair()
    const reader = framedStream(b, { maxFrameBytes: MAX })
    a.send(encodeLength(MAX * 10))
    await expect(reader.read()).rejects.toBeInstanceOf(FrameTooLargeError)
  })

  it('fails with UnexpectedEndError when the remote closes inside a frame', async () => {
    const [a, b] = await streamPair()
    const reader = framedStream(b, { maxFrameBytes: MAX })
    a.send(encodeFrame(new Uint8Array(100), MAX).subarray(0, 50))
    await a.close()
    await expect(reader.read()).rejects.toBeInstanceOf(UnexpectedEndError)
  })

  it('fails with BudgetExceededError once the session byte budget is spent', async () => {
    const [a, b] = await streamPair()
    const writer = framedStream(a, { maxFrameBytes: MAX })
    const reader = framedStream(b, { maxFrameBytes: MAX, maxSessionBytes: 2000 })
    await writer.write(new Uint8Array(900))
    await writer.write(new Uint8Array(900))
    expect(await reader.read()).toHaveLength(900)
    expect(await reader.read()).toHaveLength(900)
    for (let i = 0; i < 3; i++) await writer.write(new Uint8Array(900))
    await expect(reader.read()).rejects.toBeInstanceOf(BudgetExceededError)
  })

  it('honours an abort signal while waiting for a frame', async () => {
    const [, b] = await streamPair()
    const reader = framedStream(b, { maxFrameBytes: MAX })
    await expect(reader.read({ signal: AbortSignal.timeout(20) })).rejects.toThrow()
  })
})
