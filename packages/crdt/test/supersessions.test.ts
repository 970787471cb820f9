import { toHex } from '@provsync/crdt'
import { compareTimestamps, encodeTimestamp } from '@provsync/hlc'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { BASE_MS, hash32, hlc, revocationBytes, signerN, supersessionBytes, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const operator = signerN(100)
const A = signerN(1)
const B = signerN(2)

async function node() {
  return temp.open({ trust: [operator.publicKey] })
}

describe('supersessions', () => {
  it('get picks the latest HLC, then the higher agent key; all keeps every record for audit', async () => {
    const state = await node()
    await state.supersessions.put(supersessionBytes(A, hash32(1), { wallMs: BASE_MS + 5, reason: 'older' }))
    await state.supersessions.put(supersessionBytes(B, hash32(1), { wallMs: BASE_MS + 9, reason: 'newer' }))
    expect(state.supersessions.get(hash32(1))?.record.reason).toBe('newer')
    expect(state.supersessions.all(hash32(1)).map((s) => s.record.reason)).toEqual(['newer', 'older'])
    expect(state.supersessions.isSuperseded(hash32(1))).toBe(true)
    expect(state.supersessions.isSuperseded(hash32(2))).toBe(false)

    // Same HLC: the higher agent key wins.
    await state.supersessions.put(supersessionBytes(A, hash32(3), { wallMs: BASE_MS, reason: 'a' }))
    await state.supersessions.put(supersessionBytes(B, hash32(3), { wallMs: BASE_MS, reason: 'b' }))
    const higher = Buffer.compare(A.publicKey, B.publicKey) > 0 ? 'a' : 'b'
    expect(state.supersessions.get(hash32(3))?.record.reason).toBe(higher)
  })

  it('byAgent lists an agent’s supersessions in an HLC range, newest first, with a limit (property)', async () => {
    const state = await node()
    const times = [3, 1, 7, 5, 9, 2]
    for (const [i, t] of times.entries()) {
      await state.supersessions.put(supersessionBytes(A, hash32(10 + i), { wallMs: BASE_MS + t }))
    }
    await state.supersessions.put(supersessionBytes(B, hash32(99), { wallMs: BASE_MS + 4 }))
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 10 }),
        fc.nat({ max: 10 }),
        fc.integer({ min: 0, max: 8 }),
        async (x, y, limit) => {
          const [lo, hi] = x <= y ? [x, y] : [y, x]
          const got = state.supersessions.byAgent(A.publicKey, {
            from: hlc(BASE_MS + lo, 0, A),
            to: hlc(BASE_MS + hi, 0, A),
            limit,
          })
          const expected = times
            .filter((t) => t >= lo && t <= hi)
            .sort((a, b) => b - a)
            .slice(0, limit)
          expect(got.map((s) => s.record.hlc.wallMs - BASE_MS)).toEqual(expected)
          for (let i = 1; i < got.length; i++) {
            expect(compareTimestamps(got[i - 1]!.record.hlc, got[i]!.record.hlc)).toBe(1)
          }
          expect(got.every((s) => toHex(s.record.agent) === toHex(A.publicKey))).toBe(true)
        },
      ),
      { numRuns: 40 },
    )
    expect(state.supersessions.byAgent(B.publicKey).length).toBe(1)
    expect(encodeTimestamp(hlc(BASE_MS, 0, A)).length).toBe(16)
  })

  it('chain follows replacements to the head and reports invalidation, cycles and missing links', async () => {
    const state = await node()
    const [h1, h2, h3, h4] = [hash32(1), hash32(2), hash32(3), hash32(4)]
    await state.supersessions.put(supersessionBytes(A, h1, { replacement: h2 }))
    await state.supersessions.put(supersessionBytes(A, h2, { kind: 'correct', replacement: h3 }))
    const chain = state.supersessions.chain(h1)
    expect(chain.end).toBe('head')
    expect(chain.head).toEqual(h3)
    expect(chain.path.map(toHex)).toEqual([h1, h2, h3].map(toHex))

    const missing = state.supersessions.chain(h1, { exists: (h) => toHex(h) !== toHex(h3) })
    expect(missing).toMatchObject({ end: 'missing', head: h3 })

    await state.supersessions.put(supersessionBytes(A, h3, { replacement: h1, wallMs: BASE_MS + 1 }))
    const cycle = state.supersessions.chain(h1)
    expect(cycle.end).toBe('cycle')
    expect(cycle.path.length).toBe(3)

    await state.supersessions.put(supersessionBytes(A, h4))
    expect(state.supersessions.chain(h4)).toMatchObject({ end: 'invalidated', head: h4 })
    expect(state.supersessions.chain(hash32(50))).toMatchObject({ end: 'head', path: [hash32(50)] })
  })

  it('a revoked agent’s supersessions stop being in force but stay visible; reinstating restores them', async () => {
    const state = await node()
    await state.supersessions.put(supersessionBytes(A, hash32(1), { wallMs: BASE_MS + 9 }))
    await state.supersessions.put(supersessionBytes(B, hash32(1), { wallMs: BASE_MS + 1 }))
    expect(toHex(state.supersessions.get(hash32(1))!.record.agent)).toBe(toHex(A.publicKey))

    const entry = await state.revocations.revoke(
      { subject: A.publicKey, subjectKind: 'signer', reason: 'key leaked' },
      operator,
    )
    expect(entry.result?.invalidated).toBe(1)
    expect(toHex(state.supersessions.get(hash32(1))!.record.agent)).toBe(toHex(B.publicKey))
    const all = state.supersessions.all(hash32(1))
    expect(all.map((s) => s.inForce)).toEqual([false, true])

    await state.apply('revocations', [revocationBytes(operator, A.publicKey, 'reinstate', Date.now())], {
      from: operator.publicKey,
    })
    expect(toHex(state.supersessions.get(hash32(1))!.record.agent)).toBe(toHex(A.publicKey))
  })

  it('supersede signs with the node key', async () => {
    const state = await node()
    const record = await state.supersessions.supersede({
      target: hash32(7),
      kind: 'invalidate',
      reason: 'bad build',
    })
    expect(record.agent).toEqual(state.publicKey)
    expect(state.supersessions.get(hash32(7))?.record.reason).toBe('bad build')
  })
})
