/**
 * `scanAssertion`, the apply path's in-place read of an assertion (issue #16): it may only accept
 * what `decodeAssertion` accepts, and must then give the same signer, run and HLC; whatever it
 * leaves (undefined) the full decoder handles, so a refusal is always the decoder's own.
 */
import { decodeAssertion, encodeAssertion, signAssertion } from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { scanAssertion } from '../src/codec/records.js'
import { hlc, NETWORK, signerN } from './helpers.js'

const asserter = signerN(1)
const printable = fc.string({
  minLength: 1,
  maxLength: 20,
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
})
const anyText = fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }).map((t) => t.normalize('NFC'))
const arbRecord = fc.record({
  volume: printable,
  destination: printable,
  origin: printable,
  method: fc.oneof(printable, fc.constant('')),
  run: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 53n })),
  wallMs: fc.integer({ min: 0, max: 2 ** 47 }),
  counter: fc.integer({ min: 0, max: 65535 }),
  evidence: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
})

function encode(r: {
  volume: string
  destination: string
  origin: string
  method: string
  run: bigint
  wallMs: number
  counter: number
  evidence: Uint8Array | undefined
}): Uint8Array {
  const fields = {
    coordinate: { volume: r.volume, destination: r.destination, origin: r.origin },
    run: r.run,
    method: r.method,
    hlc: hlc(r.wallMs, r.counter),
    ...(r.evidence === undefined ? {} : { evidence: r.evidence }),
  }
  return encodeAssertion(signAssertion(fields, asserter, NETWORK), NETWORK)
}

function decodes(bytes: Uint8Array): ReturnType<typeof decodeAssertion> | undefined {
  try {
    return decodeAssertion(bytes, NETWORK)
  } catch {
    return undefined
  }
}

function expectSameHead(bytes: Uint8Array): void {
  const head = scanAssertion(bytes, NETWORK)
  if (head === undefined) return
  const decoded = decodes(bytes)
  expect(decoded).toBeDefined()
  expect(new Uint8Array(head.asserter)).toEqual(decoded!.asserter)
  expect(head.run).toBe(decoded!.run)
  expect({ ...head.hlc, nodeId: new Uint8Array(head.hlc.nodeId) }).toEqual(decoded!.hlc)
}

describe('scanAssertion', () => {
  it('reads every printable-ASCII assertion, v1 and v2, exactly as the decoder does (property)', () => {
    fc.assert(
      fc.property(arbRecord, (r) => {
        const bytes = encode(r)
        expect(scanAssertion(bytes, NETWORK)).toBeDefined()
        expectSameHead(bytes)
      }),
      { numRuns: 300 },
    )
  })

  it('accepts nothing the decoder refuses: one byte changed, cut or added (property)', () => {
    fc.assert(
      fc.property(
        arbRecord,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('set', 'cut', 'add'),
        (r, at, value, how) => {
          const good = encode(r)
          const i = at % good.length
          let bytes: Uint8Array
          if (how === 'set') {
            bytes = good.slice()
            bytes[i] = value
          } else if (how === 'cut') bytes = good.subarray(0, i)
          else bytes = Uint8Array.from([...good.subarray(0, i), value, ...good.subarray(i)])
          expectSameHead(bytes)
        },
      ),
      { numRuns: 2000 },
    )
  })

  it('leaves non-ASCII text, another network and every header fault to the decoder', () => {
    const r = {
      volume: 'v',
      destination: 'd',
      origin: 'o',
      method: 'm',
      run: 1n,
      wallMs: 1,
      counter: 0,
      evidence: undefined,
    }
    fc.assert(
      fc.property(
        anyText.filter((t) => /[^\x20-\x7e]/.test(t)),
        (text) => {
          let bytes: Uint8Array
          try {
            bytes = encode({ ...r, origin: text })
          } catch {
            return // not canonical text: nothing to encode
          }
          expect(scanAssertion(bytes, NETWORK)).toBeUndefined()
          expect(decodes(bytes)?.coordinate.origin).toBe(text)
        },
      ),
      { numRuns: 100 },
    )
    const good = encode(r)
    expect(scanAssertion(good, 'another-net')).toBeUndefined()
    for (const [at, value] of [
      [0, 1],
      [1, 3],
      [1, 0],
    ] as const) {
      const bytes = good.slice()
      bytes[at] = value
      expect(scanAssertion(bytes, NETWORK)).toBeUndefined()
    }
    expect(scanAssertion(new Uint8Array(4097), NETWORK)).toBeUndefined()
  })

  it('reads a run of 2^53 and more through the exact path', () => {
    for (const run of [2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n]) {
      const bytes = encode({
        volume: 'v',
        destination: 'd',
        origin: 'o',
        method: '',
        run,
        wallMs: 2 ** 47,
        counter: 65535,
        evidence: undefined,
      })
      expect(scanAssertion(bytes, NETWORK)?.run).toBe(run)
    }
  })
})
