import {
  type AssertionEvidence,
  anyEvidence,
  atLeastAsserters,
  type GateEvidence,
  type GatePolicy,
  InvalidArgumentError,
  InvalidRunError,
  ignoring,
  type LocalEvidence,
  locallyVerifiedOnly,
  toHex,
} from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decideGate, describeEvidence, validatePolicy } from '../src/gate.js'
import { coordinate, hlc, signerN } from './helpers.js'

const [A, B, C, D] = [1, 2, 3, 4].map((n) => signerN(n).publicKey) as [
  Uint8Array,
  Uint8Array,
  Uint8Array,
  Uint8Array,
]
const keys = [A, B, C, D]
const relay = signerN(9).publicKey
const c = coordinate(1)
const where = (run: bigint) => `run ${run} of vol/dst/origin-1`
const names = new Map([
  ...keys.map((k, i) => [toHex(k), `peer-${i + 1}`] as const),
  [toHex(relay), 'peer-relay'],
])
const describeKey = (key: Uint8Array) => names.get(toHex(key)) ?? 'unknown'

function ev(asserter: Uint8Array, run: bigint, wallMs = 10, opts: { via?: Uint8Array; hash?: number } = {}) {
  const hash = new Uint8Array(32).fill(opts.hash ?? Number(run))
  return { asserter, run, hlc: hlc(wallMs), hash, via: opts.via } satisfies AssertionEvidence
}
const local = (run: bigint): LocalEvidence => ({ run, hlc: hlc(1) })
const gate = (
  run: bigint,
  policy: GatePolicy,
  l: LocalEvidence | undefined,
  assertions: AssertionEvidence[],
) => decideGate({ coordinate: c, run, policy, local: l, assertions, describeKey })

describe('gate: the reason and evidence it names', () => {
  it('the named policies decide as their names say', () => {
    const peers = [ev(A, 6n), ev(B, 6n)]
    expect(gate(5n, anyEvidence, undefined, peers)).toMatchObject({ allowed: true, policy: { type: 'any' } })
    expect(gate(5n, locallyVerifiedOnly, undefined, peers)).toMatchObject({
      allowed: false,
      policy: { type: 'local-only' },
    })
    expect(gate(5n, atLeastAsserters(2), undefined, peers)).toMatchObject({
      allowed: true,
      policy: { type: 'min-asserters', k: 2 },
    })
    expect(gate(5n, atLeastAsserters(3), undefined, peers).allowed).toBe(false)
    expect(gate(5n, ignoring([A, B]), undefined, peers)).toMatchObject({
      allowed: false,
      policy: { type: 'ignore', asserters: [A, B] },
    })
  })

  it('any evidence: local evidence that covers the run decides first', () => {
    const d = gate(5n, { type: 'any' }, local(6n), [ev(A, 9n)])
    expect(d.allowed).toBe(true)
    expect(d.reason).toBe(`${where(5n)} is durable: locally verified at run 6`)
    expect(d.evidence).toEqual([{ source: 'local', run: 6n, hlc: hlc(1) }])
  })

  it('any evidence: else the strongest covering assertion, naming asserter and relay', () => {
    const d = gate(5n, { type: 'any' }, local(4n), [
      ev(B, 6n, 1),
      ev(A, 7n, 30, { via: relay }),
      ev(C, 7n, 40),
    ])
    expect(d.reason).toBe(`${where(5n)} is durable: asserted by peer-1 via peer-relay at run 7`)
    expect(d.evidence).toEqual([
      { source: 'asserted', asserter: A, via: relay, run: 7n, hlc: hlc(30), hash: ev(A, 7n).hash },
    ])
  })

  it('a relay equal to the asserter is no relay', () => {
    const d = gate(1n, { type: 'any' }, undefined, [ev(A, 1n, 10, { via: A })])
    expect(d.evidence[0]).toEqual({
      source: 'asserted',
      asserter: A,
      via: undefined,
      run: 1n,
      hlc: hlc(10),
      hash: ev(A, 1n).hash,
    })
    expect(d.reason).toBe(`${where(1n)} is durable: asserted by peer-1 at run 1`)
  })

  it('any evidence: refused names the best evidence there was, local then the strongest assertion', () => {
    const d = gate(9n, { type: 'any' }, local(2n), [ev(A, 3n, 5), ev(B, 4n, 8), ev(C, 4n, 6)])
    expect(d.allowed).toBe(false)
    expect(d.reason).toBe(
      `${where(9n)} not gated: nothing covers it (best evidence: locally verified at run 2; asserted by peer-3 at run 4)`,
    )
    expect(d.evidence.map((e) => e.source)).toEqual(['local', 'asserted'])
    const none = gate(1n, { type: 'any' }, undefined, [])
    expect(none).toMatchObject({ allowed: false, evidence: [] })
    expect(none.reason).toBe(`${where(1n)} not gated: nothing covers it (no evidence)`)
  })

  it('local only: refused names local evidence and the assertion it did not accept', () => {
    const noLocal = gate(3n, { type: 'local-only' }, undefined, [ev(A, 9n)])
    expect(noLocal.allowed).toBe(false)
    expect(noLocal.reason).toBe(
      `${where(3n)} not gated: no local evidence (also asserted by peer-1 at run 9, not accepted)`,
    )
    expect(noLocal.evidence.map((e) => e.source)).toEqual(['asserted'])
    const lower = gate(3n, { type: 'local-only' }, local(2n), [ev(A, 1n)])
    expect(lower.reason).toBe(`${where(3n)} not gated: locally verified only up to run 2`)
    expect(lower.evidence).toEqual([{ source: 'local', run: 2n, hlc: hlc(1) }])
    const ok = gate(2n, { type: 'local-only' }, local(2n), [ev(A, 9n)])
    expect(ok).toMatchObject({ allowed: true, reason: `${where(2n)} is durable: locally verified at run 2` })
  })

  it('ignoring: the ignored asserters are neither counted nor named', () => {
    const d = gate(5n, ignoring([A]), undefined, [ev(A, 9n, 1), ev(B, 6n, 9)])
    expect(d.reason).toBe(`${where(5n)} is durable: asserted by peer-2 at run 6`)
    const refused = gate(7n, ignoring([A, B]), undefined, [ev(A, 9n, 1), ev(B, 6n, 9)])
    expect(refused.reason).toBe(`${where(7n)} not gated: nothing covers it (no evidence)`)
  })

  it('k asserters: counts distinct asserters, with plurals right', () => {
    const one = gate(5n, atLeastAsserters(1), undefined, [ev(A, 6n)])
    expect(one.reason).toBe(
      `${where(5n)} is durable: 1 distinct asserter (need 1): asserted by peer-1 at run 6`,
    )
    const two = gate(5n, atLeastAsserters(2), undefined, [ev(B, 5n, 2), ev(A, 6n, 9)])
    expect(two.reason).toBe(
      `${where(5n)} is durable: 2 distinct asserters (need 2): asserted by peer-1 at run 6; asserted by peer-2 at run 5`,
    )
    const short = gate(5n, atLeastAsserters(2), local(9n), [ev(A, 6n), ev(B, 4n)])
    expect(short.allowed).toBe(false)
    expect(short.reason).toBe(
      `${where(5n)} not gated: 1 distinct asserter covers it, need 2: asserted by peer-1 at run 6`,
    )
    const none = gate(5n, atLeastAsserters(1), undefined, [ev(B, 4n)])
    expect(none.reason).toBe(`${where(5n)} not gated: 0 distinct asserters cover it, need 1`)
    expect(none.evidence).toEqual([])
  })

  it('k asserters: one asserter listed twice counts once, by its strongest evidence', () => {
    const d = gate(5n, atLeastAsserters(2), undefined, [ev(A, 6n, 3), ev(A, 8n, 7)])
    expect(d.allowed).toBe(false)
    expect(d.evidence).toHaveLength(1)
    expect(d.evidence[0]).toMatchObject({ asserter: A, run: 8n })
    const k2 = gate(5n, atLeastAsserters(2), undefined, [ev(A, 6n, 3), ev(B, 5n), ev(A, 8n, 7)])
    expect(k2.allowed).toBe(true)
    expect(k2.evidence.map((e) => (e.source === 'asserted' ? e.run : -1n))).toEqual([8n, 5n])
  })

  it('names keys in hex unless told otherwise, in reason and evidence text alike', () => {
    const d = decideGate({
      coordinate: c,
      run: 1n,
      policy: { type: 'any' },
      local: undefined,
      assertions: [ev(A, 1n, 1, { via: B })],
    })
    expect(d.reason).toBe(`${where(1n)} is durable: asserted by ${toHex(A)} via ${toHex(B)} at run 1`)
    expect(describeEvidence(d.evidence[0]!)).toBe(`asserted by ${toHex(A)} via ${toHex(B)} at run 1`)
    expect(describeEvidence(d.evidence[0]!, describeKey)).toBe('asserted by peer-1 via peer-2 at run 1')
  })

  it('copies the evidence: later changes to the input buffers do not reach the decision', () => {
    const item = ev(new Uint8Array(A), 2n, 4, { via: new Uint8Array(B) })
    const d = gate(1n, { type: 'any' }, undefined, [item])
    item.asserter.fill(0)
    item.via?.fill(0)
    item.hash.fill(7)
    item.hlc.nodeId.fill(5)
    const e = d.evidence[0] as Extract<GateEvidence, { source: 'asserted' }>
    expect(e.asserter).toEqual(A)
    expect(e.via).toEqual(B)
    expect(e.hash).toEqual(new Uint8Array(32).fill(2))
    expect(e.hlc).toEqual(hlc(4))
  })
})

const arbItems = fc.array(
  fc.record({
    who: fc.nat({ max: 3 }),
    run: fc.bigInt({ min: 0n, max: 6n }),
    wallMs: fc.nat({ max: 3 }),
    hash: fc.nat({ max: 2 }),
    relayed: fc.boolean(),
  }),
  { maxLength: 8 },
)
const arbPolicy: fc.Arbitrary<GatePolicy> = fc.oneof(
  fc.constant({ type: 'any' } as const),
  fc.constant({ type: 'local-only' } as const),
  fc.integer({ min: 1, max: 4 }).map((k) => ({ type: 'min-asserters', k }) as const),
  fc.subarray(keys).map((asserters) => ({ type: 'ignore', asserters }) as const),
)
type Item = { who: number; run: bigint; wallMs: number; hash: number; relayed: boolean }
// A record hash names one record: items with the same asserter and hash are one record, kept once.
const toEvidence = (items: Item[]) =>
  items
    .filter((i, n) => items.findIndex((o) => o.who === i.who && o.hash === i.hash) === n)
    .map((i) => ev(keys[i.who]!, i.run, i.wallMs, { hash: i.hash, via: i.relayed ? relay : undefined }))

/** The model of "strongest first": higher run, then earlier HLC, then key bytes, then record hash. */
function compareStrength(a: AssertionEvidence, b: AssertionEvidence): number {
  if (a.run !== b.run) return a.run > b.run ? -1 : 1
  return (
    a.hlc.wallMs - b.hlc.wallMs ||
    Buffer.compare(Buffer.from(a.asserter), Buffer.from(b.asserter)) ||
    Buffer.compare(Buffer.from(a.hash), Buffer.from(b.hash))
  )
}
const asAssertion = (e: GateEvidence) => e as AssertionEvidence

describe('gate: a function of the evidence (property)', () => {
  it('names the same evidence and reason for any order of the same evidence', () => {
    fc.assert(
      fc.property(
        arbItems,
        fc.option(fc.bigInt({ min: 0n, max: 6n }), { nil: undefined }),
        fc.bigInt({ min: 0n, max: 7n }),
        arbPolicy,
        fc.infiniteStream(fc.nat()),
        (items, l, run, policy, seeds) => {
          const evidence = toEvidence(items)
          const shuffled = [...evidence].sort(() => (seeds.next().value % 3) - 1).reverse()
          const loc = l === undefined ? undefined : local(l)
          const a = gate(run, policy, loc, evidence)
          const b = gate(run, policy, loc, shuffled)
          expect(b.reason).toBe(a.reason)
          expect(b.evidence).toEqual(a.evidence)
        },
      ),
    )
  })

  it('lists the asserted evidence strongest first: higher run, earlier HLC, key, record hash', () => {
    fc.assert(
      fc.property(
        arbItems,
        fc.bigInt({ min: 0n, max: 7n }),
        fc.integer({ min: 1, max: 4 }),
        (items, run, k) => {
          const evidence = toEvidence(items)
          const model = evidence.filter((e) => e.run >= run).sort(compareStrength)
          const firstOfEach = model.filter((e, i) => model.findIndex((o) => o.asserter === e.asserter) === i)
          const d = gate(run, atLeastAsserters(k), undefined, evidence)
          expect(
            d.evidence.map(asAssertion).map((e) => [toHex(e.asserter), e.run, e.hlc.wallMs, e.hash[0]]),
          ).toEqual(firstOfEach.map((e) => [toHex(e.asserter), e.run, e.hlc.wallMs, e.hash[0]]))
          expect(d.allowed).toBe(firstOfEach.length >= k)
          const any = gate(run, { type: 'any' }, undefined, evidence)
          if (any.allowed) expect(any.evidence).toEqual(d.evidence.slice(0, 1))
          else expect(firstOfEach).toEqual([])
        },
      ),
    )
  })
})

describe('gate: refusals of a bad call', () => {
  const cases: [unknown, string][] = [
    [null, 'policy'],
    ['any', 'policy'],
    [{ type: 'min-asserters', k: 0 }, 'policy.k'],
    [{ type: 'min-asserters', k: 1.5 }, 'policy.k'],
    [{ type: 'min-asserters', k: '2' }, 'policy.k'],
    [{ type: 'ignore', asserters: 'ab' }, 'policy.asserters'],
    [{ type: 'ignore', asserters: [A, 'ab'] }, 'policy.asserters'],
    [{ type: 'all' }, 'policy.type'],
  ]
  it.each(cases)('refuses policy %j naming %s', (policy, argument) => {
    const call = () => validatePolicy(policy as GatePolicy)
    expect(call).toThrow(InvalidArgumentError)
    try {
      call()
    } catch (error) {
      expect((error as InvalidArgumentError).argument).toBe(argument)
    }
    expect(() => gate(1n, policy as GatePolicy, undefined, [])).toThrow(InvalidArgumentError)
  })

  it('accepts each well-formed policy', () => {
    for (const policy of [
      { type: 'any' },
      { type: 'local-only' },
      atLeastAsserters(1),
      ignoring([A]),
    ] as GatePolicy[])
      expect(() => validatePolicy(policy)).not.toThrow()
    expect(() => validatePolicy({ type: 'min-asserters', k: 2 ** 53 } as GatePolicy)).toThrow(
      InvalidArgumentError,
    )
    expect(() => validatePolicy({ type: 'ignore', asserters: [] } as GatePolicy)).not.toThrow()
  })

  it('says why a policy is refused', () => {
    expect(() => validatePolicy(null as unknown as GatePolicy)).toThrow('policy: must be an object')
    expect(() => validatePolicy({ type: 'ignore', asserters: 'x' } as unknown as GatePolicy)).toThrow(
      'policy.asserters: must be an array of public keys',
    )
  })

  it('names the unknown policy type', () => {
    expect(() => validatePolicy({ type: 'all' } as unknown as GatePolicy)).toThrow('unknown policy "all"')
    expect(() => validatePolicy({ type: 'min-asserters', k: -1 } as GatePolicy)).toThrow('got -1')
  })

  it('refuses a run outside [0, 2^64)', () => {
    expect(() => gate(-1n, { type: 'any' }, undefined, [])).toThrow(InvalidRunError)
    expect(() => gate(2n ** 64n, { type: 'any' }, undefined, [])).toThrow(InvalidRunError)
  })
})
