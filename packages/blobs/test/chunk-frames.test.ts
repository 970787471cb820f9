import { encodeLength } from '@provsync/sync'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { DATA_BYTES_PER_FRAME } from '../src/constants.js'
import { prefixFrame } from '../src/protocol/framed.js'
import { encodeChunkFrames, parseChunkFragment } from '../src/wire/chunk-frames.js'
import { decodeBlobMessage, encodeBlobMessage } from '../src/wire/codec.js'
import { randomBytes } from './helpers.js'

/** What the server sent before session 11: each fragment through protons, then sync's framing. */
function framesTheGeneralWay(index: number, bytes: Uint8Array, fragmentBytes: number): Uint8Array {
  const parts: Uint8Array[] = []
  for (let offset = 0; offset < bytes.byteLength; offset += fragmentBytes) {
    const body = encodeBlobMessage({
      type: 'chunk-data',
      index,
      offset,
      data: bytes.subarray(offset, offset + fragmentBytes),
    })
    parts.push(encodeLength(body.byteLength), body)
  }
  return Buffer.concat(parts)
}

/** `bytes` as a list cut at `cuts` (how noise messages and TCP reads split a frame). */
function cutAt(bytes: Uint8Array, cuts: number[]): Uint8ArrayList {
  const list = new Uint8ArrayList()
  let from = 0
  for (const c of [...new Set(cuts.map((x) => x % (bytes.byteLength + 1)))].sort((a, b) => a - b)) {
    if (c > from) list.append(bytes.subarray(from, c))
    from = Math.max(from, c)
  }
  if (from < bytes.byteLength) list.append(bytes.subarray(from))
  return list
}

const indexArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }), fc.constant(2 ** 32 - 1))

describe('chunk-data frames laid out by hand', () => {
  it('are byte for byte what protons and sync framing give, fragment by fragment', () => {
    fc.assert(
      fc.property(
        indexArb,
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 1200 }),
        (index, length, frag) => {
          const bytes = randomBytes(length, index + length)
          expect(Buffer.from(encodeChunkFrames(index, bytes, frag))).toEqual(
            Buffer.from(framesTheGeneralWay(index, bytes, frag)),
          )
        },
      ),
    )
    const chunk = randomBytes(256 * 1024, 7)
    expect(Buffer.from(encodeChunkFrames(5, chunk, DATA_BYTES_PER_FRAME))).toEqual(
      Buffer.from(framesTheGeneralWay(5, chunk, DATA_BYTES_PER_FRAME)),
    )
  })

  it('prefixFrame is sync framing (varint length, then the frame)', () => {
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 60_000, 65_000]) {
      const frame = randomBytes(n, n)
      expect(Buffer.from(prefixFrame(frame))).toEqual(Buffer.concat([encodeLength(n), frame]))
    }
  })

  it('an honest fragment is read in place, however the buffers cut it, with what decoding gives', () => {
    fc.assert(
      fc.property(
        indexArb,
        fc.integer({ min: 0, max: 2 ** 20 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (index, offset, length, cuts) => {
          const data = randomBytes(length, length)
          const body = encodeBlobMessage({ type: 'chunk-data', index, offset, data })
          const fragment = parseChunkFragment(cutAt(body, cuts), 0, body.byteLength)
          expect(fragment).toBeDefined()
          expect(decodeBlobMessage(body)).toEqual({ type: 'chunk-data', index, offset, data })
          expect(fragment!.index).toBe(index)
          expect(fragment!.offset).toBe(offset)
          expect(Buffer.from(fragment!.data.subarray())).toEqual(Buffer.from(data))
        },
      ),
    )
  })

  it('never reads a frame in place as anything but what decoding it means', () => {
    // Any bytes at all (a lying peer's), and near-misses of honest frames: fields reordered,
    // repeated, zero values written out, another message, trailing bytes.
    const honest = fc
      .tuple(indexArb, fc.nat(), fc.integer({ min: 1, max: 40 }))
      .map(([index, offset, n]) =>
        encodeBlobMessage({ type: 'chunk-data', index, offset, data: randomBytes(n, n) }),
      )
    const mutated = fc
      .tuple(
        honest,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.uint8Array({ maxLength: 4 }),
      )
      .map(([body, edits, tail]) => {
        const out = Uint8Array.from([...body, ...tail])
        for (const [at, v] of edits) out[at % out.byteLength] = v
        return out
      })
    const bodies = fc.oneof(fc.uint8Array({ minLength: 0, maxLength: 60 }), mutated)
    // How many bodies were read in place: a parser that read none would pass the property vacuously.
    let readInPlace = 0
    fc.assert(
      fc.property(bodies, fc.array(fc.nat(), { maxLength: 4 }), (body, cuts) => {
        const fragment = parseChunkFragment(cutAt(body, cuts), 0, body.byteLength)
        if (fragment === undefined) return
        readInPlace++
        const decoded = decodeBlobMessage(body)
        expect(decoded.type).toBe('chunk-data')
        if (decoded.type !== 'chunk-data') return
        expect(fragment.index).toBe(decoded.index)
        expect(fragment.offset).toBe(decoded.offset)
        expect(Buffer.from(fragment.data.subarray())).toEqual(Buffer.from(decoded.data))
      }),
      { numRuns: 2000 },
    )
    // Mutated honest frames with no edit and no tail stay honest: 114-127 of the 2,000 runs took
    // the in-place path in three runs; at least 20 must (a parser that reads none fails here).
    expect(readInPlace).toBeGreaterThanOrEqual(20)
  })

  it('leaves a frame with zero values written out, or fields out of order, to the general decoder', () => {
    // index 0 written out (08 00), then offset 3, data [9]: valid protobuf an honest encoder never writes.
    const zeroIndex = Uint8Array.from([0x3a, 7, 0x08, 0x00, 0x10, 0x03, 0x1a, 0x01, 0x09])
    expect(parseChunkFragment(cutAt(zeroIndex, []), 0, zeroIndex.byteLength)).toBeUndefined()
    expect(decodeBlobMessage(zeroIndex)).toMatchObject({ type: 'chunk-data', index: 0, offset: 3 })
    const swapped = Uint8Array.from([0x3a, 7, 0x10, 0x03, 0x08, 0x02, 0x1a, 0x01, 0x09])
    expect(parseChunkFragment(cutAt(swapped, []), 0, swapped.byteLength)).toBeUndefined()
    expect(decodeBlobMessage(swapped)).toMatchObject({ type: 'chunk-data', index: 2, offset: 3 })
  })
})
