import {
  createReconciler,
  createResponder,
  IncompatiblePeerError,
  InconsistentPeerError,
  MalformedMessageError,
  type MerkleTree,
  openMerkleTree,
} from '@provsync/merkle'
import { describe, expect, test } from 'vitest'
import { ByteReader, ByteWriter, compareBytes } from '../src/bytes.js'
import { LEAF_DIFFERS, LEAF_MISSING, LEAF_SAME, readStatuses, writeStatuses } from '../src/wire.js'
import { hashOf, uniqueName, useTempEnv } from './helpers.js'

// The session rules above the frames (session.ts): the hello each side opens with and what it
// refuses in the peer's, the limits both sides agree on, and the refusals of answers that
// contradict what was asked.

const temp = useTempEnv()
const LAST = 0

function tree(keys: number, keysAreHashes = true, from = 0): MerkleTree {
  const t = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes })
  t.update(
    Array.from({ length: keys }, (_, i) => ({
      key: keysAreHashes ? hashOf(`k${from + i}`) : new TextEncoder().encode(`k${from + i}`),
      valueHash: hashOf('v'),
    })),
  )
  return t
}

/** A one-frame message: LAST, then what `body` writes. */
function frame(body: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter()
  w.u8(LAST)
  body(w)
  return w.finish()
}

/** An initiator's hello: version, flags, leaf count, message and frame limits. */
function hello(w: ByteWriter, o: { version?: number; flags?: number; budget?: number; frame?: number } = {}) {
  w.u8(o.version ?? 1)
  w.u8(o.flags ?? 1)
  w.varint(10)
  w.varint(o.budget ?? 1 << 20)
  w.varint(o.frame ?? 1 << 20)
}

const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  return undefined
}

describe('hello', () => {
  test('the initiator opens with version 1, its key mode, its leaf count and both limits', () => {
    const request = createReconciler(tree(7), { maxMessageBytes: 300_000, maxFrameBytes: 5000 }).next()!
    const r = new ByteReader(request)
    expect(r.u8()).toBe(LAST)
    expect(r.u8()).toBe(1) // version
    expect(r.u8()).toBe(1) // keys are hashes
    expect(r.varint()).toBe(7)
    expect(r.varint()).toBe(300_000)
    expect(r.varint()).toBe(5000)
    const plain = new ByteReader(createReconciler(tree(2, false)).next()!)
    plain.u8()
    plain.u8()
    expect(plain.u8()).toBe(0)
    expect(plain.varint()).toBe(2)
  })

  test('the responder answers with its own leaf count and limits, without version or flags', () => {
    const responder = createResponder(tree(4), { maxMessageBytes: 400_000, maxFrameBytes: 6000 })
    const response = responder.respond(createReconciler(tree(3)).next()!)
    const r = new ByteReader(response)
    expect(r.u8()).toBe(LAST)
    expect(r.varint()).toBe(4)
    expect(r.varint()).toBe(400_000)
    expect(r.varint()).toBe(6000)
  })

  test('the responder refuses another version, unknown flags, the other key mode and small limits', () => {
    const cases: Array<[(w: ByteWriter) => void, unknown, string]> = [
      // 2 is protocol 2 (salted-session.ts), served by the same responder.
      [(w) => hello(w, { version: 3 }), IncompatiblePeerError, 'peer speaks version 3, not 1'],
      [(w) => hello(w, { version: 0 }), IncompatiblePeerError, 'peer speaks version 0, not 1'],
      [(w) => hello(w, { flags: 3 }), IncompatiblePeerError, 'unknown tree flags 3'],
      [(w) => hello(w, { flags: 2 }), IncompatiblePeerError, 'unknown tree flags 2'],
      [
        (w) => hello(w, { flags: 0 }),
        IncompatiblePeerError,
        'peer builds its tree with the other key mode (keysAreHashes)',
      ],
      [
        (w) => hello(w, { budget: 256 * 1024 - 1 }),
        MalformedMessageError,
        'peer message limit 262143 too small',
      ],
      [(w) => hello(w, { frame: 4 * 1024 - 1 }), MalformedMessageError, 'peer frame limit 4095 too small'],
    ]
    for (const [body, type, message] of cases) {
      const error = thrown(() => createResponder(tree(1)).respond(frame(body)))
      expect(error, message).toBeInstanceOf(type as typeof Error)
      expect((error as Error).message).toContain(message)
    }
    // A plain-key responder refuses a hashed-key initiator the same way.
    const error = thrown(() => createResponder(tree(1, false)).respond(frame((w) => hello(w, { flags: 1 }))))
    expect((error as Error).message).toBe('peer builds its tree with the other key mode (keysAreHashes)')
    // At the minimums the hello is taken.
    const atMin = frame((w) => {
      hello(w, { budget: 256 * 1024, frame: 4 * 1024 })
      w.varint(0) // no answers
      w.varint(1) // the root, described by its one leaf... of none: an empty leaf list
      w.u8(0)
    })
    expect(createResponder(tree(0)).respond(atMin)).toBeInstanceOf(Uint8Array)
  })

  test('the initiator refuses a responder whose limits are below the minimums', () => {
    for (const [budget, frameLimit, message] of [
      [256 * 1024 - 1, 1 << 20, 'peer message limit 262143 too small'],
      [1 << 20, 4 * 1024 - 1, 'peer frame limit 4095 too small'],
    ] as const) {
      const reconciler = createReconciler(tree(3))
      reconciler.next()
      const response = frame((w) => {
        w.varint(3)
        w.varint(budget)
        w.varint(frameLimit)
      })
      expect(() => reconciler.receive(response)).toThrow(new MalformedMessageError(message))
    }
  })
})

describe('agreed limits', () => {
  /** Runs a session; returns every frame each side sent, and each side's reassembled messages. */
  function run(a: MerkleTree, b: MerkleTree, optionsA = {}, optionsB = {}) {
    const reconciler = createReconciler(a, optionsA)
    const responder = createResponder(b, optionsB)
    const frames = { a: [] as Uint8Array[], b: [] as Uint8Array[] }
    const messages = { a: [] as number[], b: [] as number[] }
    let pendingA = 0
    let pendingB = 0
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      frames.a.push(request)
      if (request[0] !== 2) {
        pendingA += request.length - 1
        if (request[0] === 0) messages.a.push(pendingA)
        if (request[0] === 0) pendingA = 0
      }
      const response = responder.respond(request)
      frames.b.push(response)
      if (response[0] !== 2) {
        pendingB += response.length - 1
        if (response[0] === 0) messages.b.push(pendingB)
        if (response[0] === 0) pendingB = 0
      }
      reconciler.receive(response)
    }
    return { frames, messages, result: reconciler.result() }
  }

  test('both sides send frames no larger than the smaller of the two frame limits', () => {
    const a = tree(0)
    const b = tree(4000)
    const small = 4096
    const one = run(a, b, { maxFrameBytes: small }, {})
    expect(one.result.remoteOnly).toHaveLength(4000)
    expect(Math.max(...one.frames.b.map((f) => f.length))).toBe(small)
    const other = run(b, a, {}, { maxFrameBytes: small })
    expect(other.result.localOnly).toHaveLength(4000)
    // The initiator's first frame goes out before it knows the responder's limit; it is small.
    expect(Math.max(...other.frames.a.map((f) => f.length))).toBeLessThanOrEqual(small)
  })

  test('each side builds messages no larger than the smaller of the two message limits', () => {
    const limit = 256 * 1024
    const a = tree(0)
    const b = tree(10_000)
    const bounded = run(a, b, { maxMessageBytes: limit }, {})
    expect(bounded.result.remoteOnly).toHaveLength(10_000)
    expect(Math.max(...bounded.messages.b)).toBeLessThanOrEqual(limit)
    // Without the bound the same keys travel in fewer, larger messages.
    const free = run(a, b)
    expect(Math.max(...free.messages.b)).toBeGreaterThan(limit)
    expect(free.messages.b.length).toBeLessThan(bounded.messages.b.length)
  })
})

describe('answers that contradict the question', () => {
  test('a responder that answers the root with no children and no keys, then stops, is inconsistent', () => {
    // Initiator with leaves; responder reply: hello, one answer (the root's children reply,
    // saying the responder has none of them), no descriptions, no keys, enumeration done.
    const a = tree(500)
    const reconciler = createReconciler(a)
    reconciler.next()
    const reply = frame((w) => {
      w.varint(0)
      w.varint(1 << 20)
      w.varint(1 << 20)
      w.varint(0) // answers
      w.varint(0) // descriptions
      w.varint(0) // keys
      w.u8(1)
    })
    expect(() => reconciler.receive(reply)).toThrow(new InconsistentPeerError('message makes no progress'))
  })

  test('an unknown enumeration flag is refused', () => {
    const reconciler = createReconciler(tree(0))
    reconciler.next()
    const reply = frame((w) => {
      w.varint(0)
      w.varint(1 << 20)
      w.varint(1 << 20)
      w.varint(1) // the answer to the root's empty leaf list
      w.u8(0) // mode: statuses and keys
      w.varint(0) // no keys of its own in the root
      w.varint(0) // descriptions
      w.varint(0) // streamed keys
      w.u8(2) // enumeration flag: neither 0 nor 1
    })
    expect(() => reconciler.receive(reply)).toThrow(new MalformedMessageError('unknown enumeration flag 2'))
  })
})

describe('leaf lists at the root', () => {
  // Hashed keys are their own paths; a tree of at most two leaves is described by its leaves.
  const sortedKeys = (...names: string[]) => names.map((n) => hashOf(n)).sort(compareBytes)
  function treeOf(keys: Uint8Array[], value = 'v'): MerkleTree {
    const t = openMerkleTree(temp.env, { name: uniqueName(), keysAreHashes: true })
    t.update(keys.map((key) => ({ key, valueHash: hashOf(value) })))
    return t
  }
  /** The responder's first message: hello, the answer to the root's leaf list, nothing else. */
  function leafAnswer(o: { mode?: number; statuses?: number[]; keys?: Uint8Array[] }): Uint8Array {
    return frame((w) => {
      w.varint(5)
      w.varint(1 << 20)
      w.varint(1 << 20)
      w.varint(1) // one answer
      w.u8(o.mode ?? 0)
      writeStatuses(w, o.statuses ?? [])
      w.varint((o.keys ?? []).length)
      for (const key of o.keys ?? []) w.bytes(key)
      w.varint(0) // descriptions
      w.varint(0) // streamed keys
      w.u8(1) // enumeration done
    })
  }
  const hex = (keys: Uint8Array[]) => keys.map((k) => Buffer.from(k).toString('hex'))

  test('the initiator reads each status of its listed leaves, and the keys only the peer has', () => {
    const [k0, k1] = sortedKeys('a', 'b')
    const [x] = sortedKeys('x')
    const reconciler = createReconciler(treeOf([k0!, k1!]))
    reconciler.next()
    reconciler.receive(leafAnswer({ statuses: [LEAF_DIFFERS, LEAF_MISSING], keys: [x!] }))
    expect(reconciler.done).toBe(true)
    const result = reconciler.result()
    expect(hex(result.differing)).toEqual(hex([k0!]))
    expect(hex(result.localOnly)).toEqual(hex([k1!]))
    expect(hex(result.remoteOnly)).toEqual(hex([x!]))
  })

  test('the initiator refuses an unknown answer mode, a key of its own listed as missing, and keys out of order', () => {
    const [k0, k1] = sortedKeys('a', 'b')
    const [x, y] = sortedKeys('x', 'y')
    const cases: Array<[Parameters<typeof leafAnswer>[0], Error]> = [
      [{ mode: 2 }, new MalformedMessageError('unknown leaf answer mode 2')],
      [
        { statuses: [LEAF_SAME, LEAF_SAME], keys: [k1!] },
        new InconsistentPeerError('peer lists as missing a key we sent'),
      ],
      [{ statuses: [LEAF_SAME, LEAF_SAME], keys: [y!, x!] }, new InconsistentPeerError('keys out of order')],
      [{ statuses: [LEAF_SAME, LEAF_SAME], keys: [x!, x!] }, new InconsistentPeerError('keys out of order')],
    ]
    for (const [answer, error] of cases) {
      const reconciler = createReconciler(treeOf([k0!, k1!]))
      reconciler.next()
      expect(() => reconciler.receive(leafAnswer(answer)), error.message).toThrow(error)
    }
  })

  /** The initiator's first message: hello, then the root described by `leaves`. */
  function leafRequest(leaves: Array<{ key: Uint8Array; value: string }>): Uint8Array {
    return frame((w) => {
      hello(w)
      w.varint(0) // answers
      w.varint(1) // the root
      w.u8(leaves.length)
      for (const leaf of leaves) {
        w.bytes(leaf.key)
        w.bytes(hashOf(leaf.value), 16)
      }
    })
  }

  test('the responder answers each listed leaf as same, differing or missing, then lists its own', () => {
    const [k0, k1, k2] = sortedKeys('a', 'b', 'c')
    const [x] = sortedKeys('x')
    const responder = createResponder(treeOf([k0!, k1!, x!]))
    // The initiator lists k0 (same value), k1 (another value) and k2 (the responder lacks it).
    const listed = [
      { key: k0!, value: 'v' },
      { key: k1!, value: 'w' },
      { key: k2!, value: 'v' },
    ].sort((p, q) => compareBytes(p.key, q.key))
    const r = new ByteReader(responder.respond(leafRequest(listed)))
    r.u8()
    // Its count, and the limits agreed: the smaller of its own (16 MiB, 4 MiB) and the initiator's.
    expect([r.varint(), r.varint(), r.varint()]).toEqual([3, 1 << 20, 1 << 20])
    expect(r.varint()).toBe(1) // one answer
    expect(r.u8()).toBe(0) // statuses and keys
    const expected = listed.map((l) =>
      compareBytes(l.key, k2!) === 0 ? LEAF_MISSING : l.value === 'v' ? LEAF_SAME : LEAF_DIFFERS,
    )
    expect(readStatuses(r, 3)).toEqual(expected)
    expect(r.varint()).toBe(1)
    expect(hex([r.bytes(32)])).toEqual(hex([x!]))
    expect(r.varint()).toBe(0) // descriptions
    expect(r.varint()).toBe(0) // streamed keys
    expect(r.u8()).toBe(1) // enumeration done
    r.end()
    expect(responder.done).toBe(true)
  })

  test('the responder refuses listed leaves out of order or repeated', () => {
    const [k0, k1] = sortedKeys('a', 'b')
    for (const order of [
      [k1!, k0!],
      [k0!, k0!],
    ]) {
      const responder = createResponder(treeOf([k0!]))
      const request = leafRequest(order.map((key) => ({ key, value: 'v' })))
      expect(() => responder.respond(request)).toThrow(new InconsistentPeerError('keys out of order'))
    }
  })
})
