import {
  type AssertionEvidence,
  compileCriteria,
  type GatePolicy,
  type LocalEvidence,
  type StoredRevocation,
} from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { registerWins } from '../src/assertions.js'
import { globToRegExp } from '../src/criteria.js'
import { decideGate } from '../src/gate.js'
import { latestRevocation } from '../src/revocations.js'
import { coordinate, hlc, signerN } from './helpers.js'

const keys = [1, 2, 3, 4].map((n) => signerN(n).publicKey)
const c = coordinate(1)

const arbEvidence = fc
  .uniqueArray(
    fc.record({
      who: fc.nat({ max: 3 }),
      run: fc.bigInt({ min: 0n, max: 10n }),
      wallMs: fc.nat({ max: 20 }),
    }),
    { selector: (e) => e.who, maxLength: 4 },
  )
  .map((items) =>
    items.map(
      (i): AssertionEvidence => ({
        asserter: keys[i.who]!,
        run: i.run,
        hlc: hlc(i.wallMs),
        hash: new Uint8Array(32).fill(i.who),
      }),
    ),
  )
const arbLocal = fc.option(
  fc.bigInt({ min: 0n, max: 10n }).map((run): LocalEvidence => ({ run, hlc: hlc(0) })),
  { nil: undefined },
)
const arbRun = fc.bigInt({ min: 0n, max: 11n })

describe('gate rules (property)', () => {
  it('any evidence: allowed exactly when some evidence covers the run; local evidence decides first', () => {
    fc.assert(
      fc.property(arbLocal, arbEvidence, arbRun, (local, assertions, run) => {
        const d = decideGate({ coordinate: c, run, policy: { type: 'any' }, local, assertions })
        const covered = (local !== undefined && local.run >= run) || assertions.some((a) => a.run >= run)
        expect(d.allowed).toBe(covered)
        if (d.allowed) {
          expect(d.evidence[0]!.run >= run).toBe(true)
          expect(d.evidence[0]!.source).toBe(local !== undefined && local.run >= run ? 'local' : 'asserted')
          expect(d.reason).toMatch(
            d.evidence[0]!.source === 'local' ? /locally verified/ : /asserted by [0-9a-f]{64}/,
          )
        }
      }),
    )
  })

  it('local only: allowed exactly when local evidence covers the run, whatever peers say', () => {
    fc.assert(
      fc.property(arbLocal, arbEvidence, arbRun, (local, assertions, run) => {
        const d = decideGate({ coordinate: c, run, policy: { type: 'local-only' }, local, assertions })
        expect(d.allowed).toBe(local !== undefined && local.run >= run)
      }),
    )
  })

  it('k asserters: allowed exactly when k distinct asserters cover the run; monotone in k', () => {
    fc.assert(
      fc.property(
        arbLocal,
        arbEvidence,
        arbRun,
        fc.integer({ min: 1, max: 5 }),
        (local, assertions, run, k) => {
          const decide = (n: number) =>
            decideGate({ coordinate: c, run, policy: { type: 'min-asserters', k: n }, local, assertions })
              .allowed
          const covering = assertions.filter((a) => a.run >= run).length
          expect(decide(k)).toBe(covering >= k)
          if (decide(k + 1)) expect(decide(k)).toBe(true)
        },
      ),
    )
  })

  it('ignoring asserters equals deciding without their evidence', () => {
    fc.assert(
      fc.property(arbLocal, arbEvidence, arbRun, fc.subarray(keys), (local, assertions, run, ignored) => {
        const policy: GatePolicy = { type: 'ignore', asserters: ignored }
        const withPolicy = decideGate({ coordinate: c, run, policy, local, assertions })
        const without = decideGate({
          coordinate: c,
          run,
          policy: { type: 'any' },
          local,
          assertions: assertions.filter((a) => !ignored.includes(a.asserter)),
        })
        expect(withPolicy.allowed).toBe(without.allowed)
        expect(withPolicy.evidence).toEqual(without.evidence)
      }),
    )
  })
})

describe('register and revocation joins (property)', () => {
  const arbRegister = fc.record({
    run: fc.bigInt({ min: 0n, max: 3n }),
    hlc: fc.nat({ max: 3 }).map((w) => hlc(w)),
    hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  })

  it('the register join picks one winner: a strict total order on (run, HLC, hash)', () => {
    fc.assert(
      fc.property(arbRegister, arbRegister, arbRegister, (a, b, x) => {
        const same = a.run === b.run && a.hlc.wallMs === b.hlc.wallMs && Buffer.compare(a.hash, b.hash) === 0
        if (!same) expect(registerWins(a, b)).toBe(!registerWins(b, a))
        expect(registerWins(a, a)).toBe(false)
        if (registerWins(a, b) && registerWins(b, x)) expect(registerWins(a, x)).toBe(true)
      }),
    )
  })

  it('the revocation state of a subject does not depend on the order of its records', () => {
    const arbRecord = fc.record({
      action: fc.constantFrom('revoke' as const, 'reinstate' as const),
      wallMs: fc.nat({ max: 5 }),
      hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    })
    fc.assert(
      fc.property(fc.array(arbRecord, { minLength: 1, maxLength: 6 }), fc.nat(), (records, rotate) => {
        const stored = records.map(
          (r): StoredRevocation => ({
            hash: r.hash,
            record: {
              action: r.action,
              subjectKind: 'peer',
              subject: keys[0]!,
              reason: '',
              hlc: hlc(r.wallMs),
              operator: keys[1]!,
              signature: new Uint8Array(64),
            },
          }),
        )
        const k = rotate % stored.length
        const rotated = [...stored.slice(k), ...stored.slice(0, k)].reverse()
        expect(latestRevocation(stored)?.hash).toEqual(latestRevocation(rotated)?.hash)
        const latest = Math.max(...records.map((r) => r.wallMs))
        expect(latestRevocation(stored)!.record.hlc.wallMs).toBe(latest)
      }),
    )
  })
})

describe('invalidation criteria (property)', () => {
  it('a pattern without wildcards matches only itself; `*` matches any infix', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (a, b, x) => {
          const literal = (s: string) => s.replace(/[*?]/g, '')
          const [la, lb, lx] = [literal(a), literal(b), literal(x)]
          expect(globToRegExp(la).test(la)).toBe(true)
          expect(globToRegExp(la).test(lx)).toBe(la === lx)
          expect(globToRegExp(`${la}*${lb}`).test(`${la}${lx}${lb}`)).toBe(true)
        },
      ),
    )
  })

  it('prefix and epoch criteria match by key text and HLC', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 8 }),
        fc.string({ maxLength: 8 }),
        fc.nat({ max: 9 }),
        fc.nat({ max: 9 }),
        (p, rest, t, epoch) => {
          const record = { signer: keys[0]!, hlc: hlc(t), keyText: p + rest }
          if (p.length > 0) expect(compileCriteria({ type: 'prefix', prefix: p })(record)).toBe(true)
          expect(compileCriteria({ type: 'older-than', epoch: hlc(epoch) })(record)).toBe(t < epoch)
          expect(compileCriteria({ type: 'signer', key: keys[1]! })(record)).toBe(false)
        },
      ),
    )
  })
})
