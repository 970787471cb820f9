// The stored joins (issue #18): an assertion register keeps one record per (asserter,
// coordinate), the one registerWins picks, whatever order the records arrive in; a duplicate or a
// losing record changes nothing and says so. Supersession queries refuse bad arguments by name.
import {
  assertionKey,
  decodeAssertion,
  encodeAssertion,
  InvalidArgumentError,
  type NodeState,
  recordHash,
  signAssertion,
  toHex,
} from '@provsync/crdt'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { registerWins } from '../src/assertions.js'
import { supersessionWins } from '../src/supersessions.js'
import { BASE_MS, coordinate, hash32, NETWORK, signerN, supersessionBytes, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const A = signerN(1)
const B = signerN(2)
const C = coordinate(1)

function assertion(run: bigint, wallMs: number, method = 'checksum', signer = A): Uint8Array {
  const record = signAssertion({ coordinate: C, run, method, hlc: { wallMs, counter: 0 } }, signer, NETWORK)
  return encodeAssertion(record, NETWORK)
}

const status = async (state: NodeState, bytes: Uint8Array, from = A.publicKey) => {
  const [outcome] = await state.apply('assertions', [bytes], { from })
  expect(outcome!.key).toEqual(assertionKey(decodeAssertion(bytes, NETWORK).asserter, C))
  return outcome!.status
}

describe('assertion registers', () => {
  it('a duplicate, a lower run or an earlier HLC at the same run change nothing and say so', async () => {
    const state = await temp.open({ wallClock: () => BASE_MS + 100 })
    const first = assertion(5n, BASE_MS + 10)
    expect(await status(state, first)).toBe('applied')
    const evidence = state.assertions.evidence(C)
    expect(evidence).toEqual([
      {
        asserter: A.publicKey,
        run: 5n,
        hlc: decodeAssertion(first, NETWORK).hlc,
        hash: recordHash(first),
        via: undefined,
      },
    ])
    const root = state.tree('assertions').root()
    expect(await status(state, first)).toBe('duplicate')
    expect(await status(state, assertion(4n, BASE_MS + 50))).toBe('superseded')
    expect(await status(state, assertion(5n, BASE_MS + 9))).toBe('superseded')
    expect(state.assertions.evidence(C)).toEqual(evidence)
    expect(state.tree('assertions').root()).toEqual(root)
    expect(state.getRecords('assertions', [assertionKey(A.publicKey, C)])).toEqual([first])
  })

  it('a higher run, or a later HLC at the same run, replaces the record; a relayed one names its relay', async () => {
    const state = await temp.open({ wallClock: () => BASE_MS + 100 })
    await status(state, assertion(5n, BASE_MS + 10))
    const later = assertion(5n, BASE_MS + 11)
    expect(await status(state, later, B.publicKey)).toBe('applied')
    expect(state.assertions.evidence(C)).toEqual([
      expect.objectContaining({ run: 5n, hash: recordHash(later), via: B.publicKey }),
    ])
    const higher = assertion(6n, BASE_MS + 1)
    expect(await status(state, higher)).toBe('applied')
    expect(state.assertions.evidence(C)).toEqual([
      expect.objectContaining({ run: 6n, hash: recordHash(higher), via: undefined }),
    ])
    expect(state.assertions.get(A.publicKey, C)).toEqual(decodeAssertion(higher, NETWORK))
    // Another asserter's register is its own: both are kept, in arrival order.
    const byB = assertion(2n, BASE_MS + 1, 'checksum', B)
    expect(await status(state, byB, B.publicKey)).toBe('applied')
    expect(state.assertions.evidence(C).map((e) => [toHex(e.asserter), e.run])).toEqual([
      [toHex(A.publicKey), 6n],
      [toHex(B.publicKey), 2n],
    ])
  })

  it('whatever the order and batching, every node keeps the record registerWins picks (property)', async () => {
    // Same run and HLC with another method: only the record hash tells them apart.
    const records = [
      assertion(3n, BASE_MS + 5),
      assertion(3n, BASE_MS + 5, 'full-read'),
      assertion(3n, BASE_MS + 7),
      assertion(2n, BASE_MS + 9),
      assertion(4n, BASE_MS + 1),
      assertion(4n, BASE_MS + 1, 'sampled'),
    ]
    const decoded = records.map((bytes) => {
      const r = decodeAssertion(bytes, NETWORK)
      return { run: r.run, hlc: r.hlc, hash: recordHash(bytes), bytes }
    })
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(decoded, { minLength: 1 }),
        fc.boolean(),
        async (subset, batched) => {
          const state = await temp.open({ wallClock: () => BASE_MS + 100 })
          if (batched)
            await state.apply(
              'assertions',
              subset.map((d) => d.bytes),
              { from: A.publicKey },
            )
          else for (const d of subset) await state.apply('assertions', [d.bytes], { from: A.publicKey })
          const winner = subset.reduce((best, d) => (registerWins(d, best) ? d : best))
          expect(state.assertions.evidence(C).map((e) => toHex(e.hash))).toEqual([toHex(winner.hash)])
          await temp.cleanup()
        },
      ),
      { numRuns: 15 },
    )
  })
})

describe('registers read back', () => {
  it("a node's own advance is an assertion in its own register", async () => {
    const state = await temp.open({ wallClock: () => BASE_MS + 100 })
    const { key, status: advanced } = state.advanceVerified(C, 7n)
    expect(advanced).toBe('applied')
    expect(key).toEqual(assertionKey(state.publicKey, C))
    const own = state.assertions.get(state.publicKey, C)!
    expect([own.run, toHex(own.asserter), own.coordinate]).toEqual([7n, toHex(state.publicKey), C])
    expect(state.assertions.evidence(C)).toEqual([
      expect.objectContaining({ asserter: state.publicKey, run: 7n, via: undefined }),
    ])
  })

  it('a coordinate or asserter with no register reads as none', async () => {
    const state = await temp.open({ wallClock: () => BASE_MS + 100 })
    await status(state, assertion(5n, BASE_MS))
    expect(state.assertions.get(B.publicKey, C)).toBeUndefined()
    expect(state.assertions.get(A.publicKey, coordinate(99))).toBeUndefined()
    expect(state.assertions.evidence(coordinate(99))).toEqual([])
  })

  it('revoking an asserter counts exactly its registers and supersessions, and recomputes only its coordinates', async () => {
    const operator = signerN(100)
    const state = await temp.open({ trust: [operator.publicKey], wallClock: () => BASE_MS + 100 })
    const at = (signer: typeof A, c: ReturnType<typeof coordinate>, run: bigint) =>
      encodeAssertion(
        signAssertion(
          { coordinate: c, run, method: 'm', hlc: { wallMs: BASE_MS, counter: 0 } },
          signer,
          NETWORK,
        ),
        NETWORK,
      )
    await state.apply('assertions', [at(A, coordinate(1), 5n), at(A, coordinate(2), 6n)], {
      from: A.publicKey,
    })
    await state.apply('assertions', [at(B, coordinate(1), 3n), at(B, coordinate(3), 2n)], {
      from: B.publicKey,
    })
    await state.supersessions.put(supersessionBytes(A, hash32(1)))
    const entry = await state.revocations.revoke(
      { subject: A.publicKey, subjectKind: 'signer', reason: 'r' },
      operator,
    )
    expect(entry.result).toEqual({ invalidated: 3, restored: 0, viewChanges: 2 })
    expect([1, 2, 3].map((i) => state.view.get(coordinate(i))?.run)).toEqual([3n, undefined, 2n])
  })
})

describe('supersession queries refuse bad arguments by name', () => {
  const refusal = (run: () => unknown) => {
    try {
      run()
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError)
      return `${(error as InvalidArgumentError).argument} | ${(error as Error).message}`
    }
    return 'accepted'
  }

  it('targets, agents, limits and wall times', async () => {
    const state = await temp.open()
    const s = state.supersessions
    for (const target of [hash32(1).subarray(1), new Uint8Array(33), 'ab' as never]) {
      expect(refusal(() => s.all(target))).toBe('target | target: must be 32 bytes')
      expect(refusal(() => s.chain(target))).toBe('target | target: must be 32 bytes')
    }
    expect(refusal(() => s.byAgent(new Uint8Array(31)))).toBe('agent | agent: must be a 32-byte public key')
    expect(refusal(() => s.byAgent([...A.publicKey] as never))).toBe(
      'agent | agent: must be a 32-byte public key',
    )
    for (const limit of [-1, 1.5, Number.NaN]) {
      expect(refusal(() => s.byAgent(A.publicKey, { limit }))).toBe(
        'limit | limit: must be a non-negative integer',
      )
    }
    const wall = 'must be a wall time in ms (a non-negative integer below 2^48)'
    expect(refusal(() => s.byAgent(A.publicKey, { from: 2 ** 48 }))).toBe(`from | from: ${wall}`)
    expect(refusal(() => s.byAgent(A.publicKey, { to: -1 }))).toBe(`to | to: ${wall}`)
    expect(refusal(() => s.byAgent(A.publicKey, { to: Number.NaN }))).toBe(`to | to: ${wall}`)
    expect(s.byAgent(A.publicKey, { from: 0, to: 2 ** 48 - 1, limit: 0 })).toEqual([])
  })

  it('byAgent lists at most 100 unless asked; a limit of 0 lists nothing', async () => {
    const state = await temp.open({ wallClock: () => BASE_MS + 1_000 })
    const records = Array.from({ length: 101 }, (_, i) =>
      supersessionBytes(A, hash32(i + 1), { wallMs: BASE_MS + i }),
    )
    await state.apply('supersessions', records, { from: A.publicKey })
    const listed = state.supersessions.byAgent(A.publicKey)
    expect(listed).toHaveLength(100)
    expect(listed[0]!.record.hlc.wallMs).toBe(BASE_MS + 100)
    expect(state.supersessions.byAgent(A.publicKey, { limit: 101 })).toHaveLength(101)
    expect(state.supersessions.byAgent(A.publicKey, { limit: 0 })).toEqual([])
  })

  it('storing a supersession twice is a duplicate; every one of a target is listed strongest first', async () => {
    const state = await temp.open({ wallClock: () => BASE_MS + 100 })
    const first = supersessionBytes(A, hash32(1), { wallMs: BASE_MS + 3 })
    expect((await state.supersessions.put(first)).status).toBe('applied')
    expect((await state.supersessions.put(first)).status).toBe('duplicate')
    const agents = [B, A, signerN(3), B, signerN(4)]
    const times = [1, 5, 2, 4, 5]
    for (const [i, agent] of agents.entries()) {
      await state.supersessions.put(
        supersessionBytes(agent, hash32(1), { wallMs: BASE_MS + times[i]!, reason: `r${i}` }),
      )
    }
    const all = state.supersessions.all(hash32(1))
    expect(all).toHaveLength(6)
    for (let i = 1; i < all.length; i++) expect(supersessionWins(all[i - 1]!, all[i]!)).toBe(true)
    expect(all.map((s) => s.record.hlc.wallMs - BASE_MS)).toEqual([5, 5, 4, 3, 2, 1])
  })

  it('a chain longer than maxLength links ends too-long at the last hash it reached', async () => {
    const state = await temp.open()
    const [h1, h2, h3, h4] = [hash32(1), hash32(2), hash32(3), hash32(4)]
    await state.supersessions.put(supersessionBytes(A, h1, { replacement: h2 }))
    await state.supersessions.put(supersessionBytes(A, h2, { replacement: h3 }))
    await state.supersessions.put(supersessionBytes(A, h3, { replacement: h4 }))
    const hex = (path: readonly Uint8Array[]) => path.map(toHex)
    const full = state.supersessions.chain(h1, { maxLength: 3 })
    expect({ ...full, path: hex(full.path), head: toHex(full.head) }).toEqual({
      end: 'head',
      head: toHex(h4),
      path: hex([h1, h2, h3, h4]),
    })
    const cut = state.supersessions.chain(h1, { maxLength: 2 })
    expect({ ...cut, path: hex(cut.path), head: toHex(cut.head) }).toEqual({
      end: 'too-long',
      head: toHex(h3),
      path: hex([h1, h2, h3]),
    })
    const missing = state.supersessions.chain(h1, { exists: (h) => toHex(h) !== toHex(h3) })
    expect({ ...missing, path: hex(missing.path), head: toHex(missing.head) }).toEqual({
      end: 'missing',
      head: toHex(h3),
      path: hex([h1, h2, h3]),
    })
    // The path is the caller's: changing it changes nothing stored.
    full.path[0]!.fill(0)
    expect(hex(state.supersessions.chain(h1).path)).toEqual(hex([h1, h2, h3, h4]))
  })
})
