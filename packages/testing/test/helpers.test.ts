import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeAssertion, decodeRevocation, decodeSupersession, verifyAssertion } from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import {
  assertionBytes,
  BASE_MS,
  coordinate,
  eventually,
  fillNoise,
  hex,
  mulberry32,
  noiseBytes,
  perRecord,
  revocationBytes,
  seedN,
  signedAssertions,
  signerN,
  sleep,
  supersessionBytes,
  TEST_NETWORK,
  TempDirs,
  timeAlternating,
  waitFor,
  xorshift32,
} from '../src/index.js'

describe('TempDirs', () => {
  it('closes what it adopted, newest first, then removes every directory', async () => {
    const temp = new TempDirs('provsync-testing-')
    const a = temp.dir()
    const b = await temp.make()
    writeFileSync(join(a, 'file'), 'x')
    const closed: string[] = []
    temp.adopt({ close: () => void closed.push('first') })
    temp.adopt({ close: async () => void closed.push(`second, ${existsSync(b)}`) })
    expect(existsSync(a) && existsSync(b)).toBe(true)
    await temp.cleanup()
    expect(closed).toEqual(['second, true', 'first'])
    expect(existsSync(a) || existsSync(b)).toBe(false)
    await temp.cleanup() // nothing left: a second call is harmless
    expect(closed).toHaveLength(2)
  })
})

describe('waitFor and eventually', () => {
  it('waitFor resolves once an async check holds, and names what it waited for when it never does', async () => {
    let polls = 0
    await waitFor(async () => ++polls >= 3, 'three polls', { intervalMs: 1 })
    expect(polls).toBe(3)
    await expect(waitFor(() => false, 'nothing', 30)).rejects.toThrow('timed out waiting for nothing')
  })

  it('eventually returns the accepted value, and reports the last one on timeout', async () => {
    let n = 0
    expect(
      await eventually(
        'n to reach 2',
        () => ++n,
        (v) => v === 2,
        { intervalMs: 1 },
      ),
    ).toBe(2)
    await expect(
      eventually(
        'never',
        () => 'last',
        () => false,
        { timeoutMs: 20, intervalMs: 5 },
      ),
    ).rejects.toThrow('never: not within 0.02 s, last: "last"')
  })
})

describe('seeded generators', () => {
  it('xorshift32 is the 13/17/5 generator, and a zero seed does not stick at zero', () => {
    const next = xorshift32(1)
    expect([next(), next(), next()]).toEqual([270369, 67634689, 2647435461])
    expect(xorshift32(0)()).toBe(xorshift32(1)())
  })

  it('noise is a pure function of the seed, and fillNoise writes only its range', () => {
    expect(hex(noiseBytes(32, 7))).toBe(hex(noiseBytes(32, 7)))
    expect(hex(noiseBytes(32, 7))).not.toBe(hex(noiseBytes(32, 8)))
    const target = new Uint8Array(16)
    fillNoise(target, 7, 4, 8)
    expect([...target.subarray(0, 4), ...target.subarray(8)].every((b) => b === 0)).toBe(true)
    expect(hex(target.subarray(4, 8))).toBe(hex(noiseBytes(4, 7)))
  })

  it('mulberry32 gives floats in [0, 1), the same for the same seed', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const draws = Array.from({ length: 1000 }, () => a())
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true)
    expect(draws.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()))
    expect(new Set(draws).size).toBeGreaterThan(990)
  })
})

describe('signers and records', () => {
  it('signerN is fixed by n and the tag, and the tag keeps suites apart', () => {
    expect(hex(signerN(3).publicKey)).toBe(hex(signerN(3).publicKey))
    expect(hex(signerN(3).publicKey)).not.toBe(hex(signerN(3, 0xb7).publicKey))
    expect(hex(signerN(3).publicKey)).not.toBe(hex(signerN(259).publicKey))
    expect(seedN(0x0102, 9)).toEqual(Uint8Array.from([2, 1, ...new Array(29).fill(0), 9]))
  })

  it('builds records that decode to what was asked and verify under the network they name', () => {
    const signer = signerN(1)
    const assertion = decodeAssertion(assertionBytes(signer, coordinate(4), 9n, BASE_MS + 1, 2), TEST_NETWORK)
    expect(assertion).toMatchObject({
      coordinate: coordinate(4),
      run: 9n,
      hlc: { wallMs: BASE_MS + 1, counter: 2 },
    })
    expect(verifyAssertion(assertion, TEST_NETWORK)).toBe(true)
    expect(verifyAssertion(assertion, 'other-net')).toBe(false)

    const target = new Uint8Array(32).fill(1)
    const supersession = decodeSupersession(supersessionBytes(signer, target, { reason: 'r' }), TEST_NETWORK)
    expect(supersession).toMatchObject({ kind: 'invalidate', reason: 'r', target })
    const revocation = decodeRevocation(
      revocationBytes(signer, signerN(2).publicKey, 'reinstate'),
      TEST_NETWORK,
    )
    expect(revocation).toMatchObject({ action: 'reinstate', subject: signerN(2).publicKey })
  })

  it('signedAssertions gives count distinct coordinates from offset', () => {
    const records = signedAssertions(signerN(1), 3, { offset: 10, networkId: 'n' })
    expect(records.map((r) => decodeAssertion(r, 'n').coordinate.origin)).toEqual([
      'origin-10',
      'origin-11',
      'origin-12',
    ])
  })
})

describe('timeAlternating', () => {
  it('runs apply then verify for each item and sums each side on its own', async () => {
    const order: string[] = []
    const times = await timeAlternating(
      [1, 2],
      async (n) => {
        order.push(`apply ${n}`)
        await sleep(15)
      },
      (n) => void order.push(`verify ${n}`),
    )
    expect(order).toEqual(['apply 1', 'verify 1', 'apply 2', 'verify 2'])
    expect(times.applyMs).toBeGreaterThanOrEqual(28)
    expect(times.verifyMs).toBeLessThan(times.applyMs)
    expect(times.applyCpuUs).toBeGreaterThanOrEqual(0)
    const per = perRecord({ applyMs: 1000, verifyMs: 500, applyCpuUs: 10, verifyCpuUs: 20 }, 10)
    expect(per).toEqual({ applyRate: 10, verifyRate: 20, applyCpuUs: 1, verifyCpuUs: 2 })
  })
})
