import { describe, expect, test } from 'vitest'
import { ByteReader, ByteWriter } from '../src/bytes.js'
import { InconsistentPeerError } from '../src/errors.js'
import { KeyStream } from '../src/key-stream.js'
import { childPath, PATH_BYTES } from '../src/path.js'
import { type KeyContext, writeKey } from '../src/wire.js'

// The initiator's side of the key stream (key-stream.ts): the keys of subtrees only the responder
// has, checked against the queue of subtrees both sides found. A responder may not skip a subtree
// it claimed, whether it is the first of a stream, one in the middle, or the first of a later
// stream once an earlier one ended. Messages are written by hand, as a lying responder would.

const ctx: KeyContext = { keysAreHashes: true, path: new Uint8Array(PATH_BYTES), depth: 0 }
const ROOT_PATH = new Uint8Array(PATH_BYTES)
/** Child `digit` of the root: the paths whose top 5 bits are `digit`. */
const subtree = (digit: number) => ({ path: childPath(ROOT_PATH, 0, digit), depth: 1 })
/** A uniform key (its own path) under child `digit` of the root. */
const keyUnder = (digit: number, n = 0) => {
  const key = new Uint8Array(PATH_BYTES)
  key[0] = digit << 3
  key[31] = n + 1
  return key
}
/** A responder's key-stream message: the count, the keys, and the end flag. */
function message(keys: Uint8Array[], end: boolean): ByteReader {
  const w = new ByteWriter(64)
  w.varint(keys.length)
  for (const key of keys) writeKey(w, key, ctx)
  w.u8(end ? 1 : 0)
  return new ByteReader(w.written())
}
/** The initiator's stream, expecting the keys of `digits` (children of the root) in that order. */
function expecting(digits: number[]): KeyStream {
  const stream = new KeyStream()
  stream.subtrees.push(...digits.map(subtree))
  stream.done = false
  return stream
}
const read = (stream: KeyStream, keys: Uint8Array[], end: boolean, into: Uint8Array[] = []) =>
  stream.read(message(keys, end), ctx, (key) => key, into)
const refusal = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  return undefined
}

describe('the key stream refuses a responder that skips a subtree it claimed', () => {
  test('every claimed subtree with a key, across messages: accepted, in order', () => {
    const stream = expecting([1, 2, 3])
    const into: Uint8Array[] = []
    expect(read(stream, [keyUnder(1), keyUnder(2)], false, into)).toBe(2)
    expect(stream.done).toBe(false)
    expect(read(stream, [keyUnder(2, 1), keyUnder(3)], true, into)).toBe(2)
    expect(stream.done).toBe(true)
    expect(into).toEqual([keyUnder(1), keyUnder(2), keyUnder(2, 1), keyUnder(3)])
    expect(stream.subtrees).toEqual([])
  })

  test('the middle one of three skipped', () => {
    const error = refusal(() => read(expecting([1, 2, 3]), [keyUnder(1), keyUnder(3)], true))
    expect(error).toBeInstanceOf(InconsistentPeerError)
    expect((error as Error).message).toMatch('a subtree the peer has was sent without keys')
  })

  test('the first one of a later stream skipped, once an earlier stream ended', () => {
    const stream = expecting([1])
    read(stream, [keyUnder(1)], true)
    stream.subtrees.push(subtree(2), subtree(3))
    stream.done = false
    const error = refusal(() => read(stream, [keyUnder(3)], true))
    expect(error).toBeInstanceOf(InconsistentPeerError)
    expect((error as Error).message).toMatch('a subtree the peer has was sent without keys')
  })

  test('a later stream that ends before its only subtree sent a key', () => {
    const stream = expecting([1])
    read(stream, [keyUnder(1)], true)
    stream.subtrees.push(subtree(2))
    stream.done = false
    const error = refusal(() => read(stream, [], true))
    expect(error).toBeInstanceOf(InconsistentPeerError)
    expect((error as Error).message).toMatch('peer ended its key list before every subtree it has')
  })
})
