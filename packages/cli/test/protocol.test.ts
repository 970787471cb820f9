import { ControlProtocolError, lineReader, parseReply, parseRequest } from '@provsync/cli'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

/** Cuts `bytes` at the given offsets, as a socket might deliver them. */
function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let last = 0
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(last, p))
    last = p
  }
  return out
}

describe('lineReader', () => {
  it('yields the same lines however the stream is cut', () => {
    const line = fc.string({ unit: 'grapheme' }).map((s) => s.replaceAll('\n', ' '))
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (lines, cuts) => {
        const seen: string[] = []
        const feed = lineReader(
          (l) => seen.push(l),
          (err) => {
            throw err
          },
        )
        const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8')
        for (const chunk of chunks(bytes, cuts)) feed(chunk)
        expect(seen).toEqual(lines)
      }),
    )
  })

  it('reports a line longer than the limit once, and delivers nothing after it', () => {
    const seen: string[] = []
    const errors: Error[] = []
    const feed = lineReader(
      (l) => seen.push(l),
      (e) => errors.push(e),
      8,
    )
    feed(Buffer.from('short\n12345'))
    feed(Buffer.from('6789'))
    feed(Buffer.from('\nlater\n'))
    expect(seen).toEqual(['short'])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(ControlProtocolError)
  })
})

describe('parseRequest and parseReply', () => {
  it('accept well-formed messages', () => {
    expect(parseRequest('{"id":3,"method":"status"}')).toEqual({ id: 3, method: 'status', params: undefined })
    expect(parseReply('{"id":3,"result":{"ok":true}}')).toEqual({ id: 3, result: { ok: true } })
    expect(parseReply('{"id":3,"progress":{"stage":"v","done":1,"total":2}}')).toEqual({
      id: 3,
      progress: { stage: 'v', done: 1, total: 2 },
    })
    expect(parseReply('{"id":null,"error":{"name":"X","message":"m"}}')).toEqual({
      id: null,
      error: { name: 'X', message: 'm' },
    })
  })

  it('throw only ControlProtocolError on anything else', () => {
    const text = fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    )
    fc.assert(
      fc.property(text, (line) => {
        for (const parse of [parseRequest, parseReply]) {
          try {
            parse(line)
          } catch (err) {
            expect(err).toBeInstanceOf(ControlProtocolError)
          }
        }
      }),
    )
  })

  it('refuse a request without an integer id or a method', () => {
    expect(() => parseRequest('{"method":"status"}')).toThrow('integer id')
    expect(() => parseRequest('{"id":1.5,"method":"status"}')).toThrow('integer id')
    expect(() => parseRequest('{"id":1}')).toThrow('method')
    expect(() => parseReply('{"id":null,"result":1}')).toThrow('null id')
  })
})
