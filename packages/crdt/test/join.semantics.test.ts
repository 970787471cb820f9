// The joins of the registers and supersessions, and the byte and key helpers they rest on
// (issue #18): each rule stated as a total order, checked against a model.
import { assertionKey, blake3, encodeCoordinate, fromHex, toHex } from '@provsync/crdt'
import { compareTimestamps, type Timestamp } from '@provsync/hlc'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { registerWins } from '../src/assertions.js'
import {
  compareBytes,
  concat,
  copyBytes,
  equalBytes,
  readU64,
  sliceBytes,
  startsWith,
  u64Bytes,
} from '../src/bytes.js'
import { cachedNodeIdFor, coordinateId, isPublicKey, nodeIdFor } from '../src/keys.js'
import { type StoredSupersession, supersessionWins } from '../src/supersessions.js'
import { hash32, signerN } from './helpers.js'

const ts = (wallMs: number, counter = 0, node = 0): Timestamp => ({
  wallMs,
  counter,
  nodeId: Uint8Array.of(node, 0, 0, 0, 0, 0, 0, 0),
})

const arbTs = fc
  .record({
    wallMs: fc.integer({ min: 0, max: 3 }),
    counter: fc.integer({ min: 0, max: 2 }),
    node: fc.nat(2),
  })
  .map(({ wallMs, counter, node }) => ts(wallMs, counter, node))
const arbHash = fc.integer({ min: 0, max: 3 }).map(hash32)

describe('registerWins: the max-register of one (asserter, coordinate)', () => {
  const reg = (run: bigint, hlc: Timestamp, hash: Uint8Array) => ({ run, hlc, hash })

  it('the higher run wins whatever the HLC and hash', () => {
    expect(registerWins(reg(2n, ts(0), hash32(0)), reg(1n, ts(9), hash32(9)))).toBe(true)
    expect(registerWins(reg(1n, ts(9), hash32(9)), reg(2n, ts(0), hash32(0)))).toBe(false)
  })

  it('at equal runs the later HLC, then the higher hash; a record never beats itself', () => {
    expect(registerWins(reg(1n, ts(2), hash32(0)), reg(1n, ts(1), hash32(9)))).toBe(true)
    expect(registerWins(reg(1n, ts(1), hash32(9)), reg(1n, ts(2), hash32(0)))).toBe(false)
    expect(registerWins(reg(1n, ts(1), hash32(2)), reg(1n, ts(1), hash32(1)))).toBe(true)
    expect(registerWins(reg(1n, ts(1), hash32(1)), reg(1n, ts(1), hash32(2)))).toBe(false)
    expect(registerWins(reg(1n, ts(1), hash32(1)), reg(1n, ts(1), hash32(1)))).toBe(false)
  })

  it('is the strict order (run, HLC, hash) (property)', () => {
    const arb = fc.record({ run: fc.bigInt({ min: 0n, max: 2n }), hlc: arbTs, hash: arbHash })
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        const order =
          a.run !== b.run
            ? a.run > b.run
              ? 1
              : -1
            : compareTimestamps(a.hlc, b.hlc) || Math.sign(compareBytes(a.hash, b.hash))
        expect(registerWins(a, b)).toBe(order > 0)
      }),
    )
  })
})

describe('supersessionWins: the winner among supersessions of one target', () => {
  const sup = (hlc: Timestamp, agent: Uint8Array, hash: Uint8Array): StoredSupersession => ({
    hash,
    inForce: true,
    record: {
      target: hash32(0),
      kind: 'invalidate',
      reason: '',
      hlc,
      agent,
      signature: new Uint8Array(64),
    },
  })

  it('the latest HLC, then the higher agent key, then the higher hash; none beats itself', () => {
    expect(supersessionWins(sup(ts(2), hash32(0), hash32(0)), sup(ts(1), hash32(9), hash32(9)))).toBe(true)
    expect(supersessionWins(sup(ts(1), hash32(9), hash32(9)), sup(ts(2), hash32(0), hash32(0)))).toBe(false)
    expect(supersessionWins(sup(ts(1), hash32(2), hash32(0)), sup(ts(1), hash32(1), hash32(9)))).toBe(true)
    expect(supersessionWins(sup(ts(1), hash32(1), hash32(9)), sup(ts(1), hash32(2), hash32(0)))).toBe(false)
    expect(supersessionWins(sup(ts(1), hash32(1), hash32(2)), sup(ts(1), hash32(1), hash32(1)))).toBe(true)
    expect(supersessionWins(sup(ts(1), hash32(1), hash32(1)), sup(ts(1), hash32(1), hash32(2)))).toBe(false)
    expect(supersessionWins(sup(ts(1), hash32(1), hash32(1)), sup(ts(1), hash32(1), hash32(1)))).toBe(false)
  })

  it('is the strict order (HLC, agent, hash) (property)', () => {
    const arb = fc
      .record({ hlc: arbTs, agent: arbHash, hash: arbHash })
      .map((r) => sup(r.hlc, r.agent, r.hash))
    fc.assert(
      fc.property(arb, arb, (a, b) => {
        const order =
          compareTimestamps(a.record.hlc, b.record.hlc) ||
          Math.sign(compareBytes(a.record.agent, b.record.agent)) ||
          Math.sign(compareBytes(a.hash, b.hash))
        expect(supersessionWins(a, b)).toBe(order > 0)
      }),
    )
  })
})

describe('bytes', () => {
  const arbBytes = fc.uint8Array({ maxLength: 6 })

  it('hex round-trips, either case; anything but pairs of hex digits is refused', () => {
    expect(toHex(Uint8Array.of(0, 0xab, 0xff))).toBe('00abff')
    expect(fromHex('00ABff')).toEqual(Uint8Array.of(0, 0xab, 0xff))
    expect(fromHex('')).toEqual(new Uint8Array(0))
    for (const bad of ['0', 'abc', 'zz', '0x00', ' 00', '00 ', 'g0']) {
      expect(() => fromHex(bad)).toThrow(new TypeError('not a hex string'))
    }
    // A view into a larger buffer prints only its own bytes.
    expect(toHex(Uint8Array.of(1, 2, 3, 4).subarray(1, 3))).toBe('0203')
  })

  it('concat, compare, equality and prefix agree with a model (property)', () => {
    fc.assert(
      fc.property(arbBytes, arbBytes, arbBytes, (a, b, c) => {
        expect([...concat(a, b, c)]).toEqual([...a, ...b, ...c])
        expect(Math.sign(compareBytes(a, b))).toBe(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))))
        expect(equalBytes(a, b)).toBe(a.length === b.length && a.every((x, i) => x === b[i]))
        const isPrefix = b.length <= a.length && b.every((x, i) => x === a[i])
        expect(startsWith(a, b)).toBe(isPrefix)
        expect(startsWith(concat(a, b), a)).toBe(true)
      }),
    )
    expect(concat()).toEqual(new Uint8Array(0))
  })

  it('undefined equals only undefined; a longer array with a common prefix is not equal', () => {
    expect(equalBytes(undefined, undefined)).toBe(true)
    expect(equalBytes(undefined, new Uint8Array(0))).toBe(false)
    expect(equalBytes(new Uint8Array(0), undefined)).toBe(false)
    expect(equalBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBe(false)
    expect(startsWith(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false)
    expect(startsWith(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false)
    expect(startsWith(Uint8Array.of(1, 2), new Uint8Array(0))).toBe(true)
  })

  it('copies never alias their source, and a slice is exactly [start, end)', () => {
    const source = Buffer.from([9, 1, 2, 3, 4, 5])
    const view = source.subarray(1)
    const copy = copyBytes(view)
    const slice = sliceBytes(view, 1, 3)
    const rest = sliceBytes(view, 2)
    source.fill(0)
    expect(copy).toEqual(Uint8Array.of(1, 2, 3, 4, 5))
    expect(slice).toEqual(Uint8Array.of(2, 3))
    expect(rest).toEqual(Uint8Array.of(3, 4, 5))
    expect(Buffer.isBuffer(slice)).toBe(false)
    expect(Buffer.isBuffer(copy)).toBe(false)
  })

  it('u64 is big-endian, at any offset of a view', () => {
    expect(u64Bytes(0x0102030405060708n)).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))
    const buffer = Uint8Array.of(0xee, ...u64Bytes(2n ** 64n - 2n), ...u64Bytes(7n))
    expect(readU64(buffer.subarray(1))).toBe(2n ** 64n - 2n)
    expect(readU64(buffer.subarray(1), 8)).toBe(7n)
    expect(readU64(buffer, 9)).toBe(7n)
  })
})

describe('keys', () => {
  it('a coordinate id and an assertion key are BLAKE3 of the canonical coordinate (and asserter)', () => {
    const coordinate = { volume: 'v', destination: 'd', origin: 'o' }
    const asserter = signerN(1).publicKey
    expect(coordinateId(coordinate)).toEqual(blake3(encodeCoordinate(coordinate)))
    expect(assertionKey(asserter, coordinate)).toEqual(blake3(concat(asserter, encodeCoordinate(coordinate))))
  })

  it('the cached node id is the node id, whatever the order and number of keys asked (property)', () => {
    const keys = Array.from({ length: 12 }, (_, i) => signerN(100 + i).publicKey)
    fc.assert(
      fc.property(fc.array(fc.nat(11), { minLength: 1, maxLength: 40 }), (picks) => {
        for (const i of picks) expect(cachedNodeIdFor(keys[i]!)).toEqual(nodeIdFor(keys[i]!))
      }),
    )
    // Ten distinct keys in a row, then the first again: it has left the cache and is derived anew.
    for (const key of keys.slice(0, 10)) cachedNodeIdFor(key)
    expect(cachedNodeIdFor(keys[0]!)).toEqual(blake3(keys[0]!).slice(0, 8))
    // The cache holds a copy: changing the caller's array later does not change what it answers.
    const mutable = new Uint8Array(signerN(200).publicKey)
    const id = cachedNodeIdFor(mutable)
    mutable[0]! ^= 1
    expect(cachedNodeIdFor(mutable)).toEqual(nodeIdFor(mutable))
    expect(cachedNodeIdFor(signerN(200).publicKey)).toEqual(id)
  })

  it('a public key is a 32-byte Uint8Array', () => {
    expect(isPublicKey(new Uint8Array(32))).toBe(true)
    expect(isPublicKey(new Uint8Array(31))).toBe(false)
    expect(isPublicKey(new Uint8Array(33))).toBe(false)
    expect(isPublicKey(Array.from({ length: 32 }, () => 0))).toBe(false)
    expect(isPublicKey(undefined)).toBe(false)
  })
})
