import { MalformedMessageError } from '@provsync/merkle'
import { describe, expect, test } from 'vitest'
import { ByteReader, ByteWriter } from '../src/bytes.js'
import { Fingerprinter } from '../src/fingerprint.js'
import type { Children } from '../src/node-codec.js'
import {
  readLeafAnswerHead,
  readSaltedDescription,
  SALTED_PROTOCOL_VERSION,
  writeChildrenFingerprints,
  writeExpandAnswer,
  writeKeyedLeaves,
  writeLeafAnswer,
  writeLeafFingerprints,
} from '../src/salted-wire.js'
import { LEAF_LIST_MAX, readKey } from '../src/wire.js'

// Protocol 2's grammar (salted-wire.ts) byte by byte: each form as written and read back, and the
// exact refusal of every byte string a correct peer never sends.

const bytesOf = (write: (w: ByteWriter) => void) => {
  const w = new ByteWriter()
  write(w)
  return [...w.finish()]
}
const reader = (bytes: number[]) => new ByteReader(Uint8Array.from(bytes))
const refusal = (reason: string) => new MalformedMessageError(reason)
const hashKeys = { keysAreHashes: true, path: new Uint8Array(32), depth: 0 }
const textKeys = { keysAreHashes: false, path: new Uint8Array(32), depth: 0 }
const hash = (n: number) => new Uint8Array(32).fill(n)
const childrenOf = (fanout: number, present: number[]): Children =>
  Array.from({ length: fanout }, (_, i) =>
    present.includes(i) ? { hash: hash(i + 1), count: 1 } : undefined,
  )
// A function, not a module-level constant: code run at load makes the mutants it reaches static.
const fingerprinter = () => new Fingerprinter(new Uint8Array(16).fill(7), 3)
const fpOf = (write: (out: Uint8Array) => void) => {
  const out = new Uint8Array(3)
  write(out)
  return [...out]
}

describe('protocol 2 descriptions', () => {
  test('the version is 2', () => {
    expect(SALTED_PROTOCOL_VERSION).toBe(2)
  })

  test('children: 0xff then a fingerprint per child; some: 0xfe, the mask, the present ones; read back', () => {
    const fp3 = fingerprinter()
    let mask = -1
    const all = bytesOf((w) => {
      mask = writeChildrenFingerprints(w, childrenOf(8, [0, 1, 2, 3, 4, 5, 6, 7]), fp3)
    })
    expect(mask).toBe(0xff)
    const each = [1, 2, 3, 4, 5, 6, 7, 8].flatMap((n) => fpOf((out) => fp3.child(hash(n), out, 0)))
    expect(all).toEqual([0xff, ...each])
    const some = bytesOf((w) => {
      mask = writeChildrenFingerprints(w, childrenOf(16, [0, 9]), fp3)
    })
    expect(mask).toBe(0b10_0000_0001)
    const two = [1, 10].flatMap((n) => fpOf((out) => fp3.child(hash(n), out, 0)))
    expect(some).toEqual([0xfe, 0x80, 0x40, ...two])
    const read = readSaltedDescription(reader(some), hashKeys, 16, 3, true)
    expect(read).toEqual({ kind: 'children', bitmap: 0b10_0000_0001, fps: Uint8Array.from(two) })
    const readAll = readSaltedDescription(reader(all), hashKeys, 8, 3, false)
    expect(readAll).toEqual({ kind: 'children', bitmap: 0xff, fps: Uint8Array.from(each) })
  })

  test('leaf lists: a count then fingerprints (initiator) or keys and fingerprints (responder)', () => {
    const fp3 = fingerprinter()
    const leaves = [1, 2].map((n) => ({ key: hash(n), path: hash(n), valueHash: hash(n + 10) }))
    const fps = leaves.flatMap((l) => fpOf((out) => fp3.leaf(l.path, l.valueHash, out, 0)))
    const listed = bytesOf((w) => writeLeafFingerprints(w, leaves, fp3))
    expect(listed).toEqual([2, ...fps])
    expect(readSaltedDescription(reader(listed), hashKeys, 32, 3, true)).toEqual({
      kind: 'fingerprints',
      count: 2,
      fps: Uint8Array.from(fps),
    })
    const keyed = bytesOf((w) => writeKeyedLeaves(w, leaves, hashKeys, fp3))
    expect(keyed).toEqual([2, ...hash(1), ...fps.slice(0, 3), ...hash(2), ...fps.slice(3)])
    expect(readSaltedDescription(reader(keyed), hashKeys, 32, 3, false)).toEqual({
      kind: 'keyed',
      leaves: [
        { key: hash(1), fp: Uint8Array.from(fps.slice(0, 3)) },
        { key: hash(2), fp: Uint8Array.from(fps.slice(3)) },
      ],
    })
    // Text keys carry their length.
    const text = [{ key: Uint8Array.of(0x61, 0x62), path: hash(3), valueHash: hash(4) }]
    const textBytes = bytesOf((w) => writeKeyedLeaves(w, text, textKeys, fp3))
    const r = reader(textBytes)
    expect(r.u8()).toBe(1)
    expect([...readKey(r, textKeys)]).toEqual([0x61, 0x62])
    expect(r.bytes(3).length).toBe(3)
    r.end()
    // An empty list (a node the responder lacks) is one byte.
    expect(bytesOf((w) => writeLeafFingerprints(w, [], fp3))).toEqual([0])
    expect(readSaltedDescription(reader([0]), hashKeys, 32, 3, false)).toEqual({ kind: 'keyed', leaves: [] })
  })

  test('refuses no children, a mask that should have been 0xff, and headers above the leaf bound', () => {
    const read =
      (bytes: number[], fanout = 8) =>
      () =>
        readSaltedDescription(reader(bytes), hashKeys, fanout, 3, true)
    expect(read([0xfe, 0x00])).toThrow(refusal('node described with no children'))
    expect(read([0xfe, 0x00, 0x00], 16)).toThrow(refusal('node described with no children'))
    expect(read([0xfe, 0xff, ...Array(8 * 3).fill(0)])).toThrow(refusal('non-canonical description'))
    expect(read([0xfe, 0xff, 0xff, 0xff, 0xff, ...Array(32 * 3).fill(0)], 32)).toThrow(
      refusal('non-canonical description'),
    )
    // One child short of full is a canonical 0xfe description.
    expect(read([0xfe, 0xfe, ...Array(7 * 3).fill(0)])().kind).toBe('children')
    for (const head of [LEAF_LIST_MAX + 1, 0x80, 0xfd])
      expect(read([head]), `header ${head}`).toThrow(refusal(`unknown description header ${head}`))
    // The bound itself is a leaf list (of 32 fingerprints).
    expect(read([LEAF_LIST_MAX, ...Array(32 * 3).fill(0)])()).toMatchObject({
      kind: 'fingerprints',
      count: 32,
    })
    expect(read([LEAF_LIST_MAX])).toThrow(refusal('truncated'))
    // Fingerprints are read for exactly the children present.
    expect(read([0xfe, 0x81, ...Array(2 * 3 - 1).fill(0)])).toThrow(refusal('truncated'))
  })
})

describe('protocol 2 leaf answers', () => {
  test('an answer is mode 0, the bits (first leaf in the high bit, eight a byte), then the unmatched keys', () => {
    const matched = [true, false, true, true, false, false, false, false, true, false]
    const keys = [hash(5), hash(6)]
    const bytes = bytesOf((w) => writeLeafAnswer(w, matched, keys, hashKeys))
    expect(bytes).toEqual([0, 0b1011_0000, 0b1000_0000, 2, ...hash(5), ...hash(6)])
    const r = reader(bytes)
    expect(readLeafAnswerHead(r, matched.length)).toEqual(matched)
    expect(r.varint()).toBe(2)
    // Exactly eight bits: one byte; none: no byte.
    expect(bytesOf((w) => writeLeafAnswer(w, new Array(8).fill(true), [], hashKeys))).toEqual([0, 0xff, 0])
    expect(bytesOf((w) => writeLeafAnswer(w, [], [], hashKeys))).toEqual([0, 0])
    expect(readLeafAnswerHead(reader([0]), 0)).toEqual([])
    expect(readLeafAnswerHead(reader([0, 0xff]), 8)).toEqual(new Array(8).fill(true))
  })

  test('expand is the single byte 1', () => {
    expect(bytesOf((w) => writeExpandAnswer(w))).toEqual([1])
    expect(readLeafAnswerHead(reader([1]), 5)).toBe('expand')
  })

  test('refuses an unknown mode, padding bits set and a truncated bitmap', () => {
    for (const mode of [2, 0x80, 0xff])
      expect(() => readLeafAnswerHead(reader([mode, 0]), 3)).toThrow(
        refusal(`unknown leaf answer mode ${mode}`),
      )
    expect(() => readLeafAnswerHead(reader([0, 0b1110_0001]), 3)).toThrow(refusal('padding bits set'))
    expect(() => readLeafAnswerHead(reader([0, 0b0001_0000]), 3)).toThrow(refusal('padding bits set'))
    expect(readLeafAnswerHead(reader([0, 0b1110_0000]), 3)).toEqual([true, true, true])
    expect(readLeafAnswerHead(reader([0, 0b0000_0001, 0b1000_0000]), 9)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
    ])
    expect(() => readLeafAnswerHead(reader([0, 0xff]), 9)).toThrow(refusal('truncated'))
  })
})
