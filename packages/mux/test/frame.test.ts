import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import {
  BadFrameTypeError,
  BadVersionError,
  decodeHeader,
  encodeHeader,
  FrameDecoder,
  type FrameHeader,
  FrameTooLargeError,
  FrameType,
} from '../src/index.js'
import { thrownBy } from './helpers.js'

interface Vectors {
  headers: { name: string; header: FrameHeader; hex: string }[]
  invalid: { name: string; hex: string; error: string; field: Record<string, number> }[]
}
const vectors = JSON.parse(
  readFileSync(new URL('./vectors/headers.json', import.meta.url), 'utf8'),
) as Vectors
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'))
const ERRORS = { BadVersionError, BadFrameTypeError } as const

describe('frame header vectors', () => {
  it('cover every type and every flag', () => {
    expect(new Set(vectors.headers.map((v) => v.header.type))).toEqual(new Set(Object.values(FrameType)))
    expect(vectors.headers.reduce((all, v) => all | v.header.flags, 0)).toBe(0b1111)
  })

  it.each(vectors.headers)('$name encodes to its vector', ({ header, hex }) => {
    expect(Buffer.from(encodeHeader(header)).toString('hex')).toBe(hex)
  })

  it.each(vectors.headers)('$name decodes from its vector, as bytes and as a list', ({ header, hex }) => {
    expect(decodeHeader(bytes(hex))).toEqual(header)
    const b = bytes(hex)
    expect(decodeHeader(new Uint8ArrayList(b.subarray(0, 5), b.subarray(5)))).toEqual(header)
  })

  it.each(vectors.invalid)('$name is refused with $error naming the field', ({ hex, error, field }) => {
    const thrown = thrownBy(() => decodeHeader(bytes(hex)))
    expect(thrown).toBeInstanceOf(ERRORS[error as keyof typeof ERRORS])
    expect(thrown).toMatchObject({ ...field, code: 1 })
  })
})

const headerArb = fc.record({
  type: fc.constantFrom(...Object.values(FrameType)),
  flags: fc.integer({ min: 0, max: 15 }),
  streamId: fc.nat({ max: 0xffffffff }),
  length: fc.nat({ max: 300 }),
})

describe('FrameDecoder', () => {
  it('yields the same frames however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(headerArb, { maxLength: 20 }),
        fc.array(fc.nat({ max: 2000 })),
        (headers, cuts) => {
          const parts: Uint8Array[] = []
          for (const [i, h] of headers.entries()) {
            parts.push(encodeHeader(h))
            if (h.type === FrameType.Data) parts.push(new Uint8Array(h.length).fill(i))
          }
          const whole = Buffer.concat(parts)
          const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b)
          const decoder = new FrameDecoder(1_000)
          const got: { header: FrameHeader; payload?: number[] }[] = []
          let from = 0
          for (const to of [...points, whole.length]) {
            for (const f of decoder.decode(whole.subarray(from, to))) {
              got.push({ header: f.header, ...(f.payload ? { payload: [...f.payload.subarray()] } : {}) })
            }
            from = to
          }
          expect(got).toEqual(
            headers.map((h, i) => ({
              header: h,
              ...(h.type === FrameType.Data ? { payload: Array(h.length).fill(i) } : {}),
            })),
          )
          expect(decoder.bufferedBytes).toBe(0)
        },
      ),
    )
  })

  it('refuses a data frame over its bound from the header alone, a window update of any size passes', () => {
    const decoder = new FrameDecoder(100)
    const wu = encodeHeader({ type: FrameType.WindowUpdate, flags: 0, streamId: 1, length: 0xffffffff })
    expect([...decoder.decode(wu)]).toHaveLength(1)
    const big = encodeHeader({ type: FrameType.Data, flags: 0, streamId: 1, length: 101 })
    expect(() => [...decoder.decode(big)]).toThrow(FrameTooLargeError)
    const exact = new FrameDecoder(100)
    const ok = encodeHeader({ type: FrameType.Data, flags: 0, streamId: 1, length: 100 })
    expect([...exact.decode(ok)]).toHaveLength(0)
    expect(exact.bufferedBytes).toBe(0)
    expect(thrownBy(() => [...new FrameDecoder(100).decode(big)])).toMatchObject({
      length: 101,
      max: 100,
      code: 1,
    })
  })
})
