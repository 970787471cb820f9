import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { MalformedMessageError } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { bit, has, popcount } from '../src/bits.js'
import {
  decodeBucket,
  encodeBucket,
  mergeRecords,
  type RecordChange,
  type StoredLeaf,
} from '../src/bucket-codec.js'
import { ByteReader, ByteWriter, compareBytes, equalBytes, toHex } from '../src/bytes.js'
import { blake3, hashLeaves, hashRecords, RECORD_BYTES } from '../src/hash.js'
import { encodeEntry, encodeNode, maxEncodedNodeBytes, presenceMask, totalCount } from '../src/node-codec.js'

// The byte-level codecs the tree and the wire are built on, against plain models: LEB128 as
// arithmetic, byte order as lexicographic order, a bucket merge as a sorted map.

/** Minimal unsigned LEB128 of n, by arithmetic. */
function leb128(n: number): number[] {
  const out: number[] = []
  do {
    const low = n % 128
    n = Math.floor(n / 128)
    out.push(n > 0 ? low | 0x80 : low)
  } while (n > 0)
  return out
}

const arbVarint = fc.oneof(
  fc.nat({ max: 300 }),
  fc.constantFrom(127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
)

describe('ByteWriter and ByteReader against a byte-array model (property)', () => {
  type Op =
    | { kind: 'u8'; v: number }
    | { kind: 'u16'; v: number }
    | { kind: 'varint'; v: number }
    | { kind: 'bytes'; v: Uint8Array; cut: number }
  const arbOp: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('u8' as const), v: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('u16' as const), v: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ kind: fc.constant('varint' as const), v: arbVarint }),
    fc.record({
      kind: fc.constant('bytes' as const),
      v: fc.uint8Array({ maxLength: 600 }),
      cut: fc.nat(),
    }),
  )

  test('writes exactly the model bytes through any growth, and reads them back', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 30 }), fc.integer({ min: 1, max: 64 }), (ops, initial) => {
        const w = new ByteWriter(initial)
        const model: number[] = []
        for (const op of ops) {
          if (op.kind === 'u8') {
            w.u8(op.v)
            model.push(op.v)
          } else if (op.kind === 'u16') {
            w.u16(op.v)
            model.push(op.v >>> 8, op.v & 0xff)
          } else if (op.kind === 'varint') {
            w.varint(op.v)
            model.push(...leb128(op.v))
          } else {
            const length = op.v.length === 0 ? 0 : op.cut % (op.v.length + 1)
            w.bytes(op.v, length)
            model.push(...op.v.subarray(0, length))
          }
          expect(w.length).toBe(model.length)
        }
        expect([...w.written()]).toEqual(model)
        const bytes = w.finish()
        expect([...bytes]).toEqual(model)
        const r = new ByteReader(bytes)
        for (const op of ops) {
          if (op.kind === 'u8') expect(r.u8()).toBe(op.v)
          else if (op.kind === 'u16') expect(r.u16()).toBe(op.v)
          else if (op.kind === 'varint') expect(r.varint()).toBe(op.v)
          else {
            const length = op.v.length === 0 ? 0 : op.cut % (op.v.length + 1)
            expect([...r.bytes(length)]).toEqual([...op.v.subarray(0, length)])
          }
        }
        expect(r.remaining).toBe(0)
        expect(r.offset).toBe(model.length)
        r.end()
      }),
    )
  })

  test('append, reset and truncate: a second message reuses the buffer, an undo drops the tail', () => {
    const a = new ByteWriter(2)
    a.u8(1)
    a.u16(0x0203)
    const b = new ByteWriter(1)
    b.u8(9)
    b.append(a)
    b.append(a)
    expect([...b.finish()]).toEqual([9, 1, 2, 3, 1, 2, 3])
    b.truncate(3)
    expect([...b.written()]).toEqual([9, 1, 2])
    b.truncate(10) // longer than written: nothing changes
    expect(b.length).toBe(3)
    b.reset()
    expect(b.length).toBe(0)
    b.u8(7)
    expect([...b.finish()]).toEqual([7])
    // finish is a copy: later writes do not change it.
    const done = b.finish()
    b.reset()
    b.u8(8)
    expect([...done]).toEqual([7])
  })

  test('every read past the end is a MalformedMessageError naming truncation, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat({ max: 12 }), (bytes, extra) => {
        const r = new ByteReader(bytes)
        expect(() => r.bytes(bytes.length + 1 + extra)).toThrow(new MalformedMessageError('truncated'))
        expect(() => r.skip(bytes.length + 1 + extra)).toThrow(new MalformedMessageError('truncated'))
        r.skip(bytes.length)
        expect(r.remaining).toBe(0)
        expect(() => r.u8()).toThrow(new MalformedMessageError('truncated'))
        expect(() => r.u16()).toThrow(new MalformedMessageError('truncated'))
        expect(r.bytes(0)).toHaveLength(0)
      }),
    )
  })

  test('a reader stops at its length even when the buffer holds more', () => {
    const r = new ByteReader(Uint8Array.of(1, 2, 3, 4), 2)
    expect(r.remaining).toBe(2)
    expect(r.u16()).toBe(0x0102)
    expect(() => r.u8()).toThrow(MalformedMessageError)
    r.end()
    const left = new ByteReader(Uint8Array.of(1, 2, 3), 3)
    left.u8()
    expect(() => left.end()).toThrow(new MalformedMessageError('2 trailing bytes'))
  })

  test('varints: minimal only, at most 8 bytes, and at most the given bound', () => {
    expect(() => new ByteReader(Uint8Array.of(0x80, 0x00)).varint()).toThrow(
      new MalformedMessageError('non-minimal varint'),
    )
    expect(() => new ByteReader(Uint8Array.of(0x81, 0x80, 0x00)).varint()).toThrow(/non-minimal/)
    expect(new ByteReader(Uint8Array.of(0x00)).varint()).toBe(0)
    expect(() => new ByteReader(new Uint8Array(9).fill(0x81)).varint()).toThrow(
      new MalformedMessageError('varint too long'),
    )
    // Eight bytes is the longest: 2^56 - 1 still parses (and is refused by the default bound).
    expect(new ByteReader(Uint8Array.of(...new Array(7).fill(0xff), 0x7f)).varint(2 ** 56)).toBe(2 ** 56 - 1)
    expect(() => new ByteReader(Uint8Array.of(...new Array(7).fill(0xff), 0x7f)).varint()).toThrow(
      /above 9007199254740991/,
    )
    fc.assert(
      fc.property(arbVarint, fc.nat({ max: 3 }), (n, slack) => {
        const bytes = Uint8Array.from(leb128(n))
        expect(new ByteReader(bytes).varint(n)).toBe(n)
        expect(new ByteReader(bytes).varint(n + slack)).toBe(n)
        if (n > 0) {
          expect(() => new ByteReader(bytes).varint(n - 1)).toThrow(
            new MalformedMessageError(`varint ${n} above ${n - 1}`),
          )
        }
      }),
    )
  })
})

describe('byte comparisons', () => {
  test('compareBytes is lexicographic order, a prefix first (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (a, b) => {
        const expected = Buffer.compare(Buffer.from(a), Buffer.from(b))
        expect(Math.sign(compareBytes(a, b))).toBe(expected)
        expect(compareBytes(a, a)).toBe(0)
      }),
    )
  })

  test('equalBytes compares the first `length` bytes, false when either is shorter', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 6 }),
        fc.uint8Array({ maxLength: 6 }),
        fc.nat({ max: 7 }),
        (a, b, n) => {
          const both = a.length >= n && b.length >= n
          const expected = both && Buffer.from(a.subarray(0, n)).equals(Buffer.from(b.subarray(0, n)))
          expect(equalBytes(a, b, n)).toBe(expected)
          expect(equalBytes(a, b)).toBe(Buffer.from(a).equals(Buffer.from(b)))
        },
      ),
    )
  })

  test('toHex of a view is the hex of the view only', () => {
    const bytes = Uint8Array.of(0, 1, 0xab, 0xff)
    expect(toHex(bytes.subarray(1, 3))).toBe('01ab')
  })
})

describe('masks', () => {
  test('popcount and has agree with the bits of the number (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (mask) => {
        const bits = mask.toString(2).padStart(32, '0').split('').reverse()
        expect(popcount(mask)).toBe(bits.filter((b) => b === '1').length)
        bits.forEach((b, i) => {
          expect(has(mask, i)).toBe(b === '1')
        })
        expect(bit(31)).toBe(0x80000000)
      }),
    )
  })
})

describe('node entries', () => {
  test('an entry is the hash then the count as minimal LEB128; the node bound holds the widest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), arbVarint, (hash, count) => {
        const out = new Uint8Array(32 + 8 + 3).fill(0xee)
        const end = encodeEntry({ hash, count }, out, 3)
        expect([...out.subarray(3, 35)]).toEqual([...hash])
        expect([...out.subarray(35, end)]).toEqual(leb128(count))
      }),
    )
    for (const fanout of [8, 16, 32]) {
      const children = Array.from({ length: fanout }, () => ({
        hash: new Uint8Array(32),
        count: Number.MAX_SAFE_INTEGER,
      }))
      expect(encodeNode(children).length).toBeLessThanOrEqual(maxEncodedNodeBytes(fanout))
      expect(totalCount(children)).toBe(fanout * Number.MAX_SAFE_INTEGER)
      expect(presenceMask(children)).toBe(fanout === 32 ? 0xffffffff : 2 ** fanout - 1)
    }
    expect(totalCount([undefined, { hash: new Uint8Array(32), count: 4 }, undefined])).toBe(4)
  })
})

describe('buckets', () => {
  const arbPath = fc.uint8Array({ minLength: 32, maxLength: 32 })
  const arbLeaves = (uniform: boolean) =>
    fc.uniqueArray(arbPath, { minLength: 1, maxLength: 12, selector: toHex }).chain((paths) =>
      fc.tuple(
        ...paths.sort(compareBytes).map((path) =>
          fc.record({
            path: fc.constant(path),
            valueHash: arbPath,
            key: uniform ? fc.constant(path) : fc.uint8Array({ minLength: 1, maxLength: 200 }),
          }),
        ),
      ),
    )

  const plain = (leaves: StoredLeaf[]) => leaves.map((l) => [toHex(l.path), toHex(l.valueHash), toHex(l.key)])

  test('uniform keys: the records alone, back to back; hashed keys: count, records, then keys', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean().chain((u) => arbLeaves(u).map((l) => [u, l] as const)),
        (_, [uniform, leaves]) => {
          const bytes = encodeBucket(leaves, uniform)
          if (uniform) {
            expect(bytes.length).toBe(leaves.length * RECORD_BYTES)
            leaves.forEach((leaf, i) => {
              expect(toHex(bytes.subarray(i * RECORD_BYTES, i * RECORD_BYTES + 32))).toBe(toHex(leaf.path))
              expect(toHex(bytes.subarray(i * RECORD_BYTES + 32, (i + 1) * RECORD_BYTES))).toBe(
                toHex(leaf.valueHash),
              )
            })
          } else {
            const w = new ByteWriter()
            w.varint(leaves.length)
            for (const leaf of leaves) {
              w.bytes(leaf.path)
              w.bytes(leaf.valueHash)
            }
            for (const leaf of leaves) {
              w.varint(leaf.key.length)
              w.bytes(leaf.key)
            }
            expect(toHex(bytes)).toBe(toHex(w.finish()))
          }
          expect(plain(decodeBucket(bytes, uniform))).toEqual(plain(leaves))
        },
      ),
    )
  })

  test('decoding refuses an empty bucket, a partial record, and trailing or missing key bytes', () => {
    expect(() => decodeBucket(new Uint8Array(0), true)).toThrow('bucket of 0 bytes')
    expect(() => decodeBucket(new Uint8Array(RECORD_BYTES + 1), true)).toThrow(
      `bucket of ${RECORD_BYTES + 1} bytes`,
    )
    expect(() => decodeBucket(new Uint8Array(RECORD_BYTES - 1), true)).toThrow(/bucket of/)
    expect(() => decodeBucket(Uint8Array.of(0), false)).toThrow('empty bucket')
    const one = encodeBucket(
      [{ path: new Uint8Array(32), valueHash: new Uint8Array(32), key: Uint8Array.of(5) }],
      false,
    )
    expect(decodeBucket(one, false)[0]!.key).toEqual(Uint8Array.of(5))
    expect(() => decodeBucket(Uint8Array.of(...one, 0), false)).toThrow(MalformedMessageError)
    expect(() => decodeBucket(one.subarray(0, one.length - 1), false)).toThrow(MalformedMessageError)
    // A count larger than the bytes could hold is refused before anything is read.
    expect(() => decodeBucket(Uint8Array.of(0x05), false)).toThrow(MalformedMessageError)
  })

  test('mergeRecords is a sorted-map merge: puts replace or insert, deletes remove (property)', () => {
    // Paths share their first four bytes often, so the comparison past the head is exercised.
    const arbShared = fc
      .tuple(fc.constantFrom(0, 1, 0xffffffff), fc.uint8Array({ minLength: 28, maxLength: 28 }))
      .map(([head, rest]) => {
        const p = new Uint8Array(32)
        new DataView(p.buffer).setUint32(0, head)
        p.set(rest, 4)
        return p
      })
    const arbP = fc.oneof(arbPath, arbShared)
    fc.assert(
      fc.property(
        fc.uniqueArray(arbP, { maxLength: 10, selector: toHex }),
        fc.uniqueArray(fc.tuple(arbP, fc.option(arbPath, { nil: null })), {
          maxLength: 10,
          selector: ([p]) => toHex(p),
        }),
        // Changes to paths the bucket holds (index into it): a replaced value or a removed path.
        fc.array(fc.tuple(fc.nat({ max: 9 }), fc.option(arbPath, { nil: null })), { maxLength: 4 }),
        fc.nat({ max: 3 }),
        fc.nat({ max: 40 }),
        (existing, fresh, onExisting, extraRecord, at) => {
          const value = (p: Uint8Array) => Uint8Array.from(p, (b) => b ^ 0x5a)
          const sortedExisting = existing.sort(compareBytes)
          // Independent random paths almost never meet the bucket's own, so some changes are made to hit them.
          const changeList = [...fresh]
          const changed = new Set(fresh.map(([p]) => toHex(p)))
          for (const [i, valueHash] of onExisting) {
            const path = sortedExisting[i]
            if (path === undefined || changed.has(toHex(path))) continue
            changed.add(toHex(path))
            changeList.push([path, valueHash])
          }
          // `n` bytes of records, followed by junk the merge must not read (a reused buffer).
          const records = new Uint8Array((sortedExisting.length + extraRecord) * RECORD_BYTES).fill(0x77)
          sortedExisting.forEach((p, i) => {
            records.set(p, i * RECORD_BYTES)
            records.set(value(p), i * RECORD_BYTES + 32)
          })
          const changes: RecordChange[] = changeList
            .sort(([a], [b]) => compareBytes(a, b))
            .map(([path, valueHash]) => ({ path, valueHash, head: new DataView(path.buffer).getUint32(0) }))
          // Padding changes outside [lo, hi) must be ignored.
          const pad: RecordChange = { path: new Uint8Array(32), valueHash: null, head: 0 }
          const all = [pad, ...changes, pad]
          const model = new Map(sortedExisting.map((p) => [toHex(p), toHex(value(p))]))
          for (const c of changes) {
            if (c.valueHash === null) model.delete(toHex(c.path))
            else model.set(toHex(c.path), toHex(c.valueHash))
          }
          const expected = [...model.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([p, v]) => p + v)
          const out = new Uint8Array(at + records.length + changes.length * RECORD_BYTES).fill(0x33)
          const n = sortedExisting.length * RECORD_BYTES
          const written = mergeRecords(records, n, all, 1, 1 + changes.length, out, at)
          expect(written).toBe(expected.length * RECORD_BYTES)
          const got = Array.from({ length: expected.length }, (_, i) =>
            toHex(out.subarray(at + i * RECORD_BYTES, at + (i + 1) * RECORD_BYTES)),
          )
          expect(got).toEqual(expected)
          // Nothing is written before `at`.
          expect(out.subarray(0, at).every((b) => b === 0x33)).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
  })

  test('mergeRecords replaces and removes paths the bucket holds, in place of their records', () => {
    const path = (b: number) => new Uint8Array(32).fill(b)
    const record = (p: number, v: number) => [...path(p), ...new Uint8Array(32).fill(v)]
    // Records of paths 0x10, 0x20, 0x30 (values 1, 2, 3) and a junk record past `n`.
    const records = Uint8Array.from([
      ...record(0x10, 1),
      ...record(0x20, 2),
      ...record(0x30, 3),
      ...record(0x99, 9),
    ])
    const changes: RecordChange[] = [
      { path: path(0x08), valueHash: new Uint8Array(32).fill(7), head: 0x08080808 },
      { path: path(0x20), valueHash: new Uint8Array(32).fill(5), head: 0x20202020 },
      { path: path(0x30), valueHash: null, head: 0x30303030 },
    ]
    const out = new Uint8Array(6 * RECORD_BYTES)
    const written = mergeRecords(records, 3 * RECORD_BYTES, changes, 0, 3, out)
    expect(written).toBe(3 * RECORD_BYTES)
    expect(toHex(out.subarray(0, written))).toBe(
      toHex(Uint8Array.from([...record(0x08, 7), ...record(0x10, 1), ...record(0x20, 5)])),
    )
    // The first record replaced, the last removed.
    const first = mergeRecords(
      records,
      3 * RECORD_BYTES,
      [{ ...changes[1]!, path: path(0x10), head: 0x10101010 }],
      0,
      1,
      out,
    )
    expect(toHex(out.subarray(0, first))).toBe(
      toHex(Uint8Array.from([...record(0x10, 5), ...record(0x20, 2), ...record(0x30, 3)])),
    )
  })
})

describe('bucket hashes past the scratch buffer', () => {
  test('buckets of any size hash as BLAKE3(0x00 ‖ records), before and after the buffer grows', () => {
    const record = (i: number) => Uint8Array.from({ length: RECORD_BYTES }, (_, j) => (i * 31 + j) & 0xff)
    const leafOf = (i: number) => ({ path: record(i).subarray(0, 32), valueHash: record(i).subarray(32) })
    for (const n of [1, 64, 65, 200, 1000, 3, 64]) {
      const leaves = Array.from({ length: n }, (_, i) => leafOf(i))
      const records = Uint8Array.from(leaves.flatMap((l) => [...l.path, ...l.valueHash]))
      const expected = toHex(nobleBlake3(Uint8Array.of(0, ...records)))
      expect(toHex(hashLeaves(leaves)), `${n} leaves`).toBe(expected)
      expect(toHex(hashRecords(records, 0, records.length)), `${n} records`).toBe(expected)
      // A sub-range is the bucket of those leaves only.
      const to = Math.max(1, n >> 1)
      const part = toHex(nobleBlake3(Uint8Array.of(0, ...records.subarray(0, to * RECORD_BYTES))))
      expect(toHex(hashLeaves(leaves, 0, to))).toBe(part)
      expect(toHex(hashRecords(records, 0, to * RECORD_BYTES))).toBe(part)
    }
    expect(toHex(blake3(Uint8Array.of(1), Uint8Array.of(2, 3)))).toBe(
      toHex(nobleBlake3(Uint8Array.of(1, 2, 3))),
    )
    expect(toHex(blake3())).toBe(toHex(nobleBlake3(new Uint8Array(0))))
  })
})
