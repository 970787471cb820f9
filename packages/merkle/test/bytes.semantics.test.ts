import { describe, expect, test } from 'vitest'
import { ByteReader, equalBytes } from '../src/bytes.js'
import { MalformedMessageError } from '../src/errors.js'

// Edges of the byte helpers (bytes.ts) that codecs.semantics' properties reach too rarely to pin:
// found as survivors of mutation run O (merkle, step 1).

describe('varint length', () => {
  test('a ninth byte is refused as too long, even when it would end the varint', () => {
    // Eight continuation bytes and a terminating ninth: a reader that took up to nine bytes would
    // refuse it only for its value (2^56, above the bound), with another reason.
    const nine = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)
    expect(() => new ByteReader(nine).varint()).toThrow(new MalformedMessageError('varint too long'))
    expect(() => new ByteReader(nine).varint(2 ** 60)).toThrow(new MalformedMessageError('varint too long'))
  })
})

describe('equalBytes with a length', () => {
  test('arrays shorter than the length compared are never equal, even equal ones', () => {
    expect(equalBytes(Uint8Array.of(1), Uint8Array.of(1), 2)).toBe(false)
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0), 1)).toBe(false)
    // One of the two short is enough.
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1), 2)).toBe(false)
    expect(equalBytes(Uint8Array.of(1), Uint8Array.of(1, 2), 2)).toBe(false)
    // The length itself is enough.
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3), 2)).toBe(true)
  })
})
