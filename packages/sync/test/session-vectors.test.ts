import { readFileSync } from 'node:fs'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { encodeFrame, takeFrame } from '../src/framing.js'
import { SESSION_STREAM_VERSION } from '../src/protocol/session-exchange.js'
import { decodeMessage, encodeMessage, PROTOCOL_VERSION } from '../src/wire/codec.js'
import { Frame as ReleaseOneFrame } from './fixtures/sync-release1.generated.js'
import { SESSION } from './vectors/generate.js'

interface Vectors {
  version: number
  frames: Array<{ from: 'i' | 'r'; note: string; type: string; hex: string }>
}
const vectors = JSON.parse(
  readFileSync(new URL('./vectors/session-v3.json', import.meta.url), 'utf8'),
) as Vectors
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'))

describe('protocol 3 session vectors (test/vectors/session-v3.json)', () => {
  it('this release names version 3, the one that runs a session on one stream', () => {
    expect(vectors.version).toBe(SESSION_STREAM_VERSION)
    expect(PROTOCOL_VERSION).toBe(SESSION_STREAM_VERSION)
    expect(vectors.frames).toHaveLength(SESSION.length)
  })

  it.each(
    vectors.frames.map((frame, i) => ({ ...frame, i })),
  )('frame $i ($from, $type) encodes to its vector', ({ hex, i }) => {
    expect(Buffer.from(encodeFrame(encodeMessage(SESSION[i]!.message))).toString('hex')).toBe(hex)
  })

  it('the whole transcript, read as one stream, decodes frame by frame to its messages', () => {
    const stream = new Uint8ArrayList(...vectors.frames.map((f) => bytes(f.hex)))
    const read = []
    for (let frame = takeFrame(stream, 64 * 1024); frame !== undefined; frame = takeFrame(stream, 64 * 1024))
      read.push(decodeMessage(frame.subarray()))
    expect(stream.byteLength).toBe(0)
    expect(read).toEqual(SESSION.map((s) => s.message))
  })

  it('a node of the first release reads the version 3 hello and welcome (and answers as protocol 1)', () => {
    const hello = ReleaseOneFrame.decode(encodeMessage(SESSION[0]!.message))
    expect(hello.hello?.version).toBe(3)
    const welcome = ReleaseOneFrame.decode(encodeMessage(SESSION[1]!.message))
    expect(welcome.welcome?.version).toBe(3)
  })
})
