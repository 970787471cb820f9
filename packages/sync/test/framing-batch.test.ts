import { streamPair } from '@libp2p/utils'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { encodeFrame, encodeFrames, framedStream, MAX_VARINT_BYTES, takeFrame } from '../src/framing.js'
import { writeGroups } from '../src/push.js'

const MAX = 1024
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const frames = fc.array(fc.uint8Array({ maxLength: MAX }), { minLength: 1, maxLength: 20 })

describe('several frames in one write', () => {
  it('encodes exactly the bytes of the frames written one by one (property)', () => {
    fc.assert(
      fc.property(frames, (list) => {
        expect(hex(encodeFrames(list, MAX))).toBe(hex(Buffer.concat(list.map((f) => encodeFrame(f, MAX)))))
        const buffer = new Uint8ArrayList(encodeFrames(list, MAX))
        const out: string[] = []
        for (let f = takeFrame(buffer, MAX); f !== undefined; f = takeFrame(buffer, MAX)) out.push(hex(f))
        expect(out).toEqual(list.map(hex))
      }),
    )
  })

  it('sends them as one message of the stream, read back as the same frames', async () => {
    const [a, b] = await streamPair()
    const writer = framedStream(a, { maxFrameBytes: MAX })
    const reader = framedStream(b, { maxFrameBytes: MAX })
    let messages = 0
    b.addEventListener('message', () => messages++)
    const list = [new Uint8Array(10).fill(1), new Uint8Array(300).fill(2), new Uint8Array(0)]
    await writer.writeFrames(list)
    await writer.write(new Uint8Array(5).fill(3))
    await a.close()
    const got: string[] = []
    for (let f = await reader.read(); f !== undefined; f = await reader.read()) got.push(hex(f))
    expect(got).toEqual([...list, new Uint8Array(5).fill(3)].map(hex))
    expect(messages).toBe(2)
    expect(reader.bytesRead).toBe(writer.bytesWritten)
    expect(writer.bytesWritten).toBe(encodeFrames(list, MAX).byteLength + 6)
  })

  it('groups frames in order into writes that each fit one largest frame (property)', () => {
    fc.assert(
      fc.property(frames, (list) => {
        const groups = writeGroups(list, MAX)
        expect(groups.flat()).toEqual(list)
        const cost = (group: Uint8Array[]) =>
          group.reduce((sum, f) => sum + f.byteLength + MAX_VARINT_BYTES, 0)
        for (const [i, group] of groups.entries()) {
          expect(group.length).toBeGreaterThan(0)
          expect(cost(group)).toBeLessThanOrEqual(MAX + MAX_VARINT_BYTES)
          // Greedy: the next group's first frame would not have fitted this one.
          const next = groups[i + 1]
          if (next !== undefined) expect(cost([...group, next[0]!])).toBeGreaterThan(MAX + MAX_VARINT_BYTES)
        }
      }),
    )
  })
})
