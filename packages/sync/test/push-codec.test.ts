import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MalformedFrameError } from '../src/errors.js'
import { packIhave, packPush } from '../src/push.js'
import {
  decodePush,
  encodePush,
  PushFrameError,
  type PushMessage,
  pushHeaderCost,
  VALUE_PREFIX_BYTES,
} from '../src/push-codec.js'
import frozen from './fixtures/push-v1.json' with { type: 'json' }

// The push protocol's frames after the handshake: one encoding per message, and any bytes a peer
// sends either decode to a message that re-encodes to exactly those bytes or fail as malformed.

const store = fc.constantFrom('revocations', 'supersessions', 'assertions', 'invalidations')
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max })
const message: fc.Arbitrary<PushMessage> = fc.oneof(
  fc.constant({ type: 'prune' as const }),
  fc.constant({ type: 'graft' as const }),
  fc.record({
    type: fc.constant('push' as const),
    store,
    records: fc.array(bytes(1, 300), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant('iwant' as const),
    store,
    keys: fc.array(bytes(1, 40), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant('ihave' as const),
    store,
    entries: fc.array(
      fc.record({ key: bytes(1, 40), prefix: bytes(VALUE_PREFIX_BYTES, VALUE_PREFIX_BYTES) }),
      {
        minLength: 1,
        maxLength: 8,
      },
    ),
  }),
)

const problem = (frame: Uint8Array): string | undefined => {
  try {
    decodePush(frame)
    return undefined
  } catch (err) {
    expect(err).toBeInstanceOf(PushFrameError)
    return (err as PushFrameError).problem
  }
}

/** The messages whose bytes `fixtures/push-v1.json` freezes (protocol /provsync/push/1.0.0). */
const key = new Uint8Array(32).fill(0x11)
const FROZEN: Record<string, PushMessage> = {
  prune: { type: 'prune' },
  graft: { type: 'graft' },
  'push two records, one with a two-byte length': {
    type: 'push',
    store: 'assertions',
    records: [Uint8Array.of(1, 2, 3, 4, 5), new Uint8Array(130).fill(0xab)],
  },
  'ihave one entry': {
    type: 'ihave',
    store: 'supersessions',
    entries: [{ key, prefix: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }],
  },
  'iwant two keys': { type: 'iwant', store: 'revocations', keys: [key, Uint8Array.of(9)] },
}

describe('push codec', () => {
  it('encodes and decodes the frozen bytes of protocol 1 (a change is a new protocol id)', () => {
    expect(frozen.map((v) => v.name).sort()).toEqual(Object.keys(FROZEN).sort())
    for (const { name, hex } of frozen) {
      const bytes = Uint8Array.from(Buffer.from(hex, 'hex'))
      expect(Buffer.from(encodePush(FROZEN[name]!)).toString('hex'), name).toBe(hex)
      expect(decodePush(bytes), name).toEqual(FROZEN[name])
    }
  })

  it('round-trips every message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodePush(encodePush(m))).toEqual(m)
      }),
    )
  })

  it('decodes any bytes to a message that re-encodes to exactly them, or fails as a malformed frame', () => {
    fc.assert(
      fc.property(bytes(0, 64), (frame) => {
        try {
          expect(encodePush(decodePush(frame))).toEqual(frame)
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedFrameError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('names what is wrong with a frame that is not the one encoding', () => {
    const good = encodePush({ type: 'push', store: 'assertions', records: [Uint8Array.of(1, 2)] })
    expect(problem(new Uint8Array(0))).toBe('empty')
    expect(problem(Uint8Array.of(9))).toBe('unknown-type')
    expect(problem(Uint8Array.of(2, 0))).toBe('trailing')
    expect(problem(Uint8Array.of(...good, 0))).toBe('trailing')
    expect(problem(good.subarray(0, good.length - 1))).toBe('truncated')
    // An overlong varint (0x8a 0x00 for 10) for the store name's length.
    expect(problem(Uint8Array.of(1, 0x8a, 0x00, ...good.subarray(2)))).toBe('varint')
    expect(problem(Uint8Array.of(1, 0))).toBe('store')
    expect(problem(encodePush({ type: 'push', store: 'Assertions', records: [Uint8Array.of(1)] }))).toBe(
      'store',
    )
    expect(problem(Uint8Array.of(1, 1, 0x61, 0))).toBe('count')
    expect(problem(Uint8Array.of(5, 1, 0x61, 1, 0))).toBe('count')
    // An ihave entry without its whole value prefix.
    const ihave = encodePush({
      type: 'ihave',
      store: 'a',
      entries: [{ key: Uint8Array.of(7), prefix: new Uint8Array(8) }],
    })
    expect(problem(ihave.subarray(0, ihave.length - 1))).toBe('truncated')
  })

  it('packs records and ihave entries into frames under the frame bound, in order, skipping none that fit', () => {
    fc.assert(
      fc.property(
        fc.array(bytes(1, 900), { maxLength: 60 }),
        fc.integer({ min: 1200, max: 4000 }),
        (records, max) => {
          const frames = packPush('assertions', records, max)
          const decoded = frames.map((f) => decodePush(f))
          for (const f of frames) expect(f.byteLength).toBeLessThanOrEqual(max)
          expect(decoded.flatMap((m) => (m.type === 'push' ? m.records : []))).toEqual(records)
          expect(frames.map((f) => f.count)).toEqual(
            decoded.map((m) => (m.type === 'push' ? m.records.length : 0)),
          )
        },
      ),
    )
    const entries = Array.from({ length: 300 }, (_, i) => ({
      key: new Uint8Array(32).fill(i),
      prefix: new Uint8Array(8),
    }))
    const frames = packIhave('assertions', entries, 4096)
    expect(frames.length).toBeGreaterThan(1)
    expect(frames.flatMap((f) => (decodePush(f) as { entries: unknown[] }).entries)).toEqual(entries)
  })

  it('counts a header as encodePush writes it, for any store name and record count', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 300 }))),
        (asks) => {
          // Names asked in turn (the encoded names are kept per store): each cost is its own name's.
          for (const [name, count] of asks) {
            const records = Array.from({ length: count }, () => Uint8Array.of(7))
            const frame = encodePush({ type: 'push', store: name, records })
            expect(pushHeaderCost(name, count)).toBe(frame.byteLength - 2 * count)
          }
        },
      ),
    )
  })

  it('leaves out a record too large for any frame instead of sending an oversized one', () => {
    const frames = packPush('assertions', [new Uint8Array(5000), Uint8Array.of(1)], 4096)
    expect(frames.map((f) => decodePush(f))).toEqual([
      { type: 'push', store: 'assertions', records: [Uint8Array.of(1)] },
    ])
  })
})
