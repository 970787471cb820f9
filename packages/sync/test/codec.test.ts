import { textProblem } from '@provsync/crdt'
import { MalformedFrameError, NonCanonicalFrameError, WireTextError } from '@provsync/sync'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { REFUSAL_CODES } from '../src/errors.js'
import {
  decodeAnnouncement,
  decodeMessage,
  encodeAnnouncement,
  encodeMessage,
  type Message,
} from '../src/wire/codec.js'
import { Announcement, Frame } from '../src/wire/sync.generated.js'

const canonical = (text: string) => textProblem(text) === undefined
const name = fc.string({ minLength: 1, maxLength: 40 }).filter(canonical)
const key = fc.uint8Array({ minLength: 1, maxLength: 40 })
const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    networkId: name,
    trustHash: fc.uint8Array(),
    version: fc.nat(),
  }),
  fc.record({ type: fc.constant('welcome' as const), version: fc.nat() }),
  fc.record(
    {
      type: fc.constant('refusal' as const),
      code: fc.constantFrom(...REFUSAL_CODES),
      message: fc.string({ maxLength: 100 }).filter(canonical),
      store: name,
    },
    { requiredKeys: ['type', 'code', 'message'] },
  ),
  fc.record({ type: fc.constant('reconcile' as const), store: name, payload: fc.uint8Array() }),
  fc.record({ type: fc.constant('offer' as const), store: name, keys: fc.array(key), last: fc.boolean() }),
  fc.record({ type: fc.constant('pulled' as const), store: name, applied: fc.nat(), refused: fc.nat() }),
  fc.record({ type: fc.constant('fetch' as const), store: name, keys: fc.array(key) }),
  fc.record({
    type: fc.constant('records' as const),
    records: fc.array(fc.uint8Array()),
    last: fc.boolean(),
    missing: fc.nat(),
  }),
  fc.record({ type: fc.constant('end' as const) }),
)

describe('wire codec', () => {
  it('round-trips every message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m)
      }),
    )
  })

  it('turns any bytes into a message or a MalformedFrameError, never another failure', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeMessage(bytes)
        } catch (err) {
          expect(err).toBeInstanceOf(MalformedFrameError)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses an empty frame, an empty key and an empty store name', () => {
    expect(() => decodeMessage(new Uint8Array())).toThrow(MalformedFrameError)
    expect(() =>
      decodeMessage(encodeMessage({ type: 'fetch', store: 'assertions', keys: [new Uint8Array()] })),
    ).toThrow(MalformedFrameError)
    expect(() =>
      decodeMessage(Frame.encode({ reconcile: { store: '', payload: new Uint8Array(1) } })),
    ).toThrow(MalformedFrameError)
  })

  it('maps an unknown refusal code to "unknown" instead of trusting it', () => {
    const bytes = encodeMessage({ type: 'refusal', code: 'bogus' as 'busy', message: 'x' })
    expect(decodeMessage(bytes)).toMatchObject({ type: 'refusal', code: 'unknown' })
  })

  it('round-trips announcements and rejects duplicate stores and too many heads', () => {
    const head = fc.record({
      store: name,
      root: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      count: fc.nat(),
    })
    fc.assert(
      fc.property(
        name,
        fc.uint8Array(),
        fc.uniqueArray(head, { selector: (h) => h.store, maxLength: 3 }),
        (id, hash, heads) => {
          expect(
            decodeAnnouncement(encodeAnnouncement({ networkId: id, trustHash: hash, heads }), 3),
          ).toEqual({
            networkId: id,
            trustHash: hash,
            heads,
          })
        },
      ),
    )
    const root = new Uint8Array(32)
    const twice = encodeAnnouncement({
      networkId: 'n',
      trustHash: new Uint8Array(),
      heads: [
        { store: 'assertions', root, count: 1 },
        { store: 'assertions', root, count: 2 },
      ],
    })
    expect(() => decodeAnnouncement(twice)).toThrow(MalformedFrameError)
    const many = encodeAnnouncement({
      networkId: 'n',
      trustHash: new Uint8Array(),
      heads: ['a', 'b', 'c', 'd'].map((store) => ({ store, root, count: 0 })),
    })
    expect(() => decodeAnnouncement(many, 3)).toThrow(MalformedFrameError)
  })
})

describe('blame', () => {
  it('maps each failure the remote causes to its offence, and nothing else', async () => {
    const { offenceFor } = await import('../src/offences.js')
    const {
      FrameTooLargeError,
      NetworkMismatchError,
      ProtocolViolationError,
      BudgetExceededError,
      RefusedError,
      UnexpectedEndError,
    } = await import('@provsync/sync')
    expect(offenceFor(new FrameTooLargeError(10, 1))).toBe('oversized-frame')
    expect(offenceFor(new MalformedFrameError('x'))).toBe('malformed-frame')
    expect(offenceFor(new NonCanonicalFrameError('network id', 'byte-order-mark'))).toBe('malformed-frame')
    expect(offenceFor(new WireTextError('store', 'control-character'))).toBeUndefined()
    expect(offenceFor(new NetworkMismatchError('a', 'b'))).toBe('wrong-network')
    expect(offenceFor(new ProtocolViolationError('lying-tree', 'x'))).toBe('lying-tree')
    expect(offenceFor(new BudgetExceededError('time', 'x'))).toBe('timeout')
    expect(offenceFor(new BudgetExceededError('bytes', 'x'))).toBe('session-bytes')
    // A refusal or a dropped connection is not the remote's misbehaviour.
    expect(offenceFor(new RefusedError('busy', 'x'))).toBeUndefined()
    expect(offenceFor(new UnexpectedEndError('x'))).toBeUndefined()
    expect(offenceFor(new Error('local failure'))).toBeUndefined()
  })
})

describe('canonical frames (issue #17 item 4)', () => {
  const hello = encodeMessage({ type: 'hello', networkId: 'net', trustHash: new Uint8Array(32), version: 1 })
  const concat = (...parts: Array<Uint8Array | number[]>) => Uint8Array.from(parts.flatMap((p) => [...p]))
  // Hello inside a Frame: field 1, length-delimited.
  const frameOfHello = (body: Uint8Array | number[]) => concat([0x0a, body.length], body)
  const helloBody = hello.subarray(2)

  it.each([
    ['a field written twice', frameOfHello(concat(helloBody, [0x18, 0x02]))],
    [
      'a default written out',
      concat([0x12, 0x02, 0x08, 0x00]), // Welcome { version: 0 }, which encodes as an empty Welcome
    ],
    ['an unknown field in a message no release extends', concat([0x1a, 0x04, 0x0a, 0x00, 0x78, 0x01])],
    ['an unknown field before the known ones', frameOfHello(concat([0x38, 0x01], helloBody))],
    [
      'fields out of order',
      frameOfHello(
        concat(helloBody.subarray(helloBody.length - 2), helloBody.subarray(0, helloBody.length - 2)),
      ),
    ],
    ['a non-minimal varint', concat([0x12, 0x03, 0x08, 0x81, 0x00])],
    ['two bodies', concat(hello, Frame.encode({ end: {} }))],
    ['invalid UTF-8 in the network id', frameOfHello([0x0a, 0x02, 0x6e, 0xff])],
  ])('refuses a frame with %s as NonCanonicalFrameError', (_, bytes) => {
    expect(() => decodeMessage(bytes)).toThrow(NonCanonicalFrameError)
  })

  it.each([
    [
      'network id',
      { type: 'hello', networkId: '\ufeffnet', trustHash: new Uint8Array(), version: 1 },
      'byte-order-mark',
    ],
    ['store', { type: 'fetch', store: 'asser\ntions', keys: [] }, 'control-character'],
    ['refusal message', { type: 'refusal', code: 'busy', message: 'cafe\u0301' }, 'not-nfc'],
    ['refusal message', { type: 'refusal', code: 'busy', message: 'x'.repeat(1025) }, 'too-long'],
  ] as Array<
    [string, Message, string]
  >)('refuses to decode or send a %s that is not canonical text', (field, message, problem) => {
    expect(() => encodeMessage(message)).toThrow(
      expect.objectContaining({ name: 'WireTextError', field, problem }),
    )
    expect(() => encodeMessage(message)).toThrow(WireTextError)
    const raw =
      message.type === 'hello'
        ? Frame.encode({
            hello: {
              ...message,
              trustHash: new Uint8Array(),
              stores: [],
              credential: new Uint8Array(),
              kinds: [],
            },
          })
        : message.type === 'fetch'
          ? Frame.encode({ fetchRequest: { store: message.store, keys: [] } })
          : Frame.encode({
              refusal: { code: 'busy', message: (message as { message: string }).message, store: '' },
            })
    expect(() => decodeMessage(raw)).toThrow(
      expect.objectContaining({ name: 'NonCanonicalFrameError', field, problem }),
    )
  })

  it("accepts a later release's fields after a hello's, a welcome's or an announcement's own", () => {
    expect(decodeMessage(frameOfHello(concat(helloBody, [0x38, 0x01])))).toEqual(decodeMessage(hello))
    const welcome = encodeMessage({ type: 'welcome', version: 1 })
    const extended = concat([0x12, welcome.length - 2 + 3], welcome.subarray(2), [0x2a, 0x01, 0x41])
    expect(decodeMessage(extended)).toEqual(decodeMessage(welcome))
    const good = encodeAnnouncement({ networkId: 'net', trustHash: new Uint8Array(1), heads: [] })
    expect(decodeAnnouncement(concat(good, [0x28, 0x01]))).toEqual(decodeAnnouncement(good))
    // ...but only well formed, in increasing order, and never a field this release knows.
    expect(() => decodeMessage(frameOfHello(concat(helloBody, [0x40, 0x01, 0x38, 0x01])))).toThrow(
      NonCanonicalFrameError,
    )
    expect(() => decodeAnnouncement(concat(good, [0x2a, 0x05, 0x01]))).toThrow(MalformedFrameError)
  })

  it('refuses an announcement whose network id starts with a byte-order mark, or that is not canonical', () => {
    const raw = Announcement.encode({ networkId: '\ufeffnet', trustHash: new Uint8Array(), heads: [] })
    expect(() => decodeAnnouncement(raw)).toThrow(NonCanonicalFrameError)
    const good = encodeAnnouncement({ networkId: 'net', trustHash: new Uint8Array(1), heads: [] })
    expect(() => decodeAnnouncement(concat([0x28, 0x01], good))).toThrow(NonCanonicalFrameError)
    expect(() =>
      encodeAnnouncement({ networkId: 'n\u0000t', trustHash: new Uint8Array(), heads: [] }),
    ).toThrow(WireTextError)
  })
})
