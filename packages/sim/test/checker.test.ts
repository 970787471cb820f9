import { formatCheck, INVARIANTS } from '@provsync/sim'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  type Acknowledgement,
  checkEquivocations,
  checkHistoryPrefix,
  checkInvariants,
  historyPrefixes,
  type NodeSnapshot,
  STORES,
  type ViewEntry,
} from '../src/checker.js'

const hex = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Buffer.from(b).toString('hex'))

/** A converged cluster: every node holds the same records, view and ledger; histories differ. */
const cluster = fc
  .record({
    size: fc.integer({ min: 2, max: 5 }),
    keys: fc.record({
      revocations: fc.uniqueArray(hex, { maxLength: 3 }),
      supersessions: fc.uniqueArray(hex, { maxLength: 6 }),
      assertions: fc.uniqueArray(hex, { maxLength: 6 }),
    }),
    view: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 6 }),
      fc.record({
        run: fc.bigInt({ min: 1n, max: 99n }).map(String),
        corroborators: fc.uniqueArray(hex, { maxLength: 3 }),
      }),
      { maxKeys: 5 },
    ),
    history: fc.array(hex, { maxLength: 8 }),
  })
  .map(({ size, keys, view, history }) => {
    const nodes: NodeSnapshot[] = Array.from({ length: size }, (_, i) => ({
      name: `n${i}`,
      peerId: `peer-${i}`,
      key: `key${i}`,
      atMs: 1_000,
      roots: Object.fromEntries(STORES.map((s) => [s, `root-${keys[s].join('.')}`])) as NodeSnapshot['roots'],
      keys,
      view: Object.fromEntries(
        Object.entries(view).map(([c, e]): [string, ViewEntry] => [
          c,
          { ...e, provenance: i % 2 === 0 ? 'local' : (e.corroborators[0] ?? 'local') },
        ]),
      ),
      history: history.map((h) => `${i}-${h}`),
      ledger: keys.revocations.map((id) => ({ id, kind: 'revoke' })),
      revoked: [],
    }))
    const acknowledged: Acknowledgement[] = STORES.flatMap((store) =>
      keys[store].map((key, i) => ({ store, key, signer: 'someone', node: `n${i % size}` })),
    )
    return { nodes, acknowledged, revocations: keys.revocations }
  })

const earlierOf = (nodes: readonly NodeSnapshot[], keep: number): NodeSnapshot[] =>
  nodes.map((n) => ({ ...n, atMs: 10, history: n.history.slice(0, keep) }))

describe('checkInvariants', () => {
  test('a converged cluster passes every invariant', () => {
    fc.assert(
      fc.property(cluster, fc.nat(8), ({ nodes, acknowledged, revocations }, keep) => {
        const result = checkInvariants({
          seed: 's',
          final: nodes,
          earlier: earlierOf(nodes, keep),
          acknowledged,
          revocations,
          byzantine: {
            peerIds: ['byz'],
            forged: [],
            behaviours: [{ name: 'forged-signature', reasons: ['bad-signature'] }],
          },
          refusals: [{ node: 'n0', peer: 'byz', reason: 'bad-signature', count: 1 }],
          // Both versions reached the cluster; every node ended on the same one.
          equivocations: [
            {
              name: 'byz',
              peer: 'byz',
              store: 'assertions',
              key: 'register',
              versions: ['aaaa', 'bbbb'],
              received: nodes.map((n, i) => ({ node: n.name, version: i % 2 === 0 ? 'aaaa' : 'bbbb' })),
              held: nodes.map((n) => ({ node: n.name, version: 'bbbb' })),
            },
          ],
        })
        expect(result.violations).toEqual([])
        expect(result.checked).toEqual(expect.arrayContaining([...INVARIANTS]))
      }),
    )
  })

  test('a node with another root is named, with the seed to replay', () => {
    fc.assert(
      fc.property(cluster, fc.nat(), fc.constantFrom(...STORES), ({ nodes }, pick, store) => {
        const odd = pick % nodes.length
        const final = nodes.map((n, i) =>
          i === odd ? { ...n, roots: { ...n.roots, [store]: 'different' } } : n,
        )
        const result = checkInvariants({ seed: 'replay-me', final })
        expect(result.ok).toBe(false)
        const violation = result.violations.find((v) => v.invariant === 'same-roots')!
        expect(violation.detail).toContain(`{n${odd}}=different`)
        expect(violation.detail).toContain(store)
        expect(formatCheck(result)).toContain('--seed "replay-me"')
      }),
    )
  })

  test('a different run in one shared view is found; local evidence above it is allowed, below it is not', () => {
    const base = fc.sample(
      cluster.filter((c) => Object.keys(c.nodes[0]!.view).length > 0),
      { numRuns: 1, seed: 7 },
    )[0]!
    const coordinate = Object.keys(base.nodes[0]!.view)[0]!
    const withRun = (n: NodeSnapshot, run: string, field: 'view' | 'sharedView'): NodeSnapshot => ({
      ...n,
      [field]: { ...n.view, [coordinate]: { ...n.view[coordinate]!, run } },
    })
    const diverged = base.nodes.map((n, i) => (i === 1 ? withRun(n, '1000', 'view') : n))
    const found = checkInvariants({ seed: 's', final: diverged }).violations
    expect(found.map((v) => v.invariant)).toContain('same-durability-view')
    expect(found[0]!.detail).toContain(coordinate)
    // Its own view above the shared evidence (local evidence peers never got) is fine...
    const localAbove = base.nodes.map((n, i) =>
      i === 1 ? { ...withRun(n, '1000', 'view'), sharedView: n.view } : n,
    )
    expect(checkInvariants({ seed: 's', final: localAbove }).ok).toBe(true)
    // ...below it is not: a lower run never lowers the view.
    const below = base.nodes.map((n) => ({ ...n, sharedView: withRun(n, '1000', 'view').view }))
    const lowered = checkInvariants({ seed: 's', final: below }).violations
    expect(lowered.filter((v) => v.nodes.length === 1)).toHaveLength(base.nodes.length)
  })

  test('a missing acknowledged record names the node that lacks it and the one that acknowledged it', () => {
    fc.assert(
      fc.property(
        cluster.filter((c) => c.acknowledged.length > 0),
        fc.nat(),
        ({ nodes, acknowledged }, pick) => {
          const ack = acknowledged[pick % acknowledged.length]!
          const final = nodes.map((n, i) =>
            i === 0
              ? { ...n, keys: { ...n.keys, [ack.store]: n.keys[ack.store].filter((k) => k !== ack.key) } }
              : n,
          )
          const result = checkInvariants({ seed: 's', final, acknowledged })
          const v = result.violations.find((x) => x.invariant === 'acknowledged-everywhere')!
          expect(v.nodes).toEqual(['n0', ack.node])
          // Records by a key revoked at the end are exempt.
          const revoked = final.map((n) => ({ ...n, revoked: [ack.signer] }))
          const exempt = checkInvariants({ seed: 's', final: revoked, acknowledged })
          expect(exempt.violations.some((x) => x.invariant === 'acknowledged-everywhere')).toBe(false)
        },
      ),
    )
  })

  test('a component resting on a revoked key, or counting one, is a violation', () => {
    const node = (entry: ViewEntry, revoked: string[]): NodeSnapshot => ({
      name: 'n0',
      peerId: 'p',
      key: 'k',
      atMs: 0,
      roots: { revocations: 'a', supersessions: 'b', assertions: 'c' },
      keys: { revocations: [], supersessions: [], assertions: [] },
      view: { c1: entry },
      history: [],
      ledger: [],
      revoked,
    })
    const resting = checkInvariants({
      seed: 's',
      final: [node({ run: '3', provenance: 'bad', corroborators: ['bad'] }, ['bad'])],
    })
    expect(resting.violations[0]).toMatchObject({ invariant: 'no-revoked-provenance', nodes: ['n0'] })
    expect(resting.violations[0]!.detail).toContain('rests on revoked')
    const counting = checkInvariants({
      seed: 's',
      final: [node({ run: '3', provenance: 'local', corroborators: ['bad'] }, ['bad'])],
    })
    expect(counting.violations[0]!.detail).toContain('revoked corroborator')
    const fine = checkInvariants({
      seed: 's',
      final: [node({ run: '3', provenance: 'local', corroborators: ['good'] }, ['bad'])],
    })
    expect(fine.ok).toBe(true)
  })

  test('history may only grow: any rewritten or dropped entry is caught', () => {
    fc.assert(
      fc.property(
        cluster.filter((c) => c.nodes[0]!.history.length > 0),
        fc.nat(),
        fc.boolean(),
        ({ nodes }, pick, drop) => {
          const history = nodes[0]!.history
          const at = pick % history.length
          const later = drop ? history.slice(0, at) : history.map((h, i) => (i === at ? `${h}-rewritten` : h))
          const final = [{ ...nodes[0]!, atMs: 2_000, history: later }]
          const result = checkInvariants({ seed: 's', final, earlier: [nodes[0]!] })
          expect(result.violations.map((v) => v.invariant)).toEqual(['history-prefix'])
          expect(result.violations[0]!.nodes).toEqual(['n0'])
        },
      ),
    )
  })

  test('a final snapshot cut to the longest earlier history gives exactly the violations of the whole one', () => {
    // Earlier snapshots grow from one history; the final one may rewrite, drop or add entries anywhere.
    const digest = fc.constantFrom('a', 'b', 'c')
    fc.assert(
      fc.property(
        fc.array(digest, { maxLength: 10 }),
        fc.array(fc.nat({ max: 10 }), { minLength: 1, maxLength: 3 }),
        fc.array(digest, { maxLength: 12 }),
        (grown, cuts, whole) => {
          const earlier = cuts.map((cut, k) => ({
            name: 'n0',
            atMs: 100 * (k + 1),
            history: grown.slice(0, cut),
          }))
          const prefix = historyPrefixes(earlier).get('n0')!
          expect(prefix).toBe(Math.max(...earlier.map((e) => e.history.length)))
          const full = { name: 'n0', atMs: 1_000, history: whole }
          const cut =
            whole.length >= prefix
              ? { ...full, history: whole.slice(0, prefix), historyLength: whole.length }
              : full
          expect(checkHistoryPrefix([cut], earlier)).toEqual(checkHistoryPrefix([full], earlier))
        },
      ),
    )
    // A rewrite inside the prefix is still caught, with the same detail.
    const earlier = [{ name: 'n0', atMs: 1, history: ['a', 'b'] }]
    const rewritten = checkHistoryPrefix(
      [{ name: 'n0', atMs: 2, history: ['a', 'x'], historyLength: 9 }],
      earlier,
    )
    expect(rewritten.map((v) => v.detail)).toEqual([
      'history at 2 ms rewrites entry 2 of the one at 1 ms (2 -> 9 entries)',
    ])
  })

  test('a ledger without an issued revocation is named', () => {
    fc.assert(
      fc.property(
        cluster.filter((c) => c.revocations.length > 0),
        ({ nodes, revocations }) => {
          const final = nodes.map((n, i) =>
            i === nodes.length - 1 ? { ...n, ledger: n.ledger.slice(1) } : n,
          )
          const result = checkInvariants({ seed: 's', final, revocations })
          expect(result.violations.map((v) => [v.invariant, v.nodes])).toEqual([
            ['ledger-complete', [`n${nodes.length - 1}`]],
          ])
        },
      ),
    )
  })

  test('Byzantine input must be refused, kept out and blamed on the right peer', () => {
    fc.assert(
      fc.property(
        cluster.filter((c) => c.nodes[0]!.keys.supersessions.length > 0),
        ({ nodes }) => {
          const forgedKey = nodes[0]!.keys.supersessions[0]!
          const byzantine = {
            peerIds: ['byz'],
            forged: [{ store: 'supersessions' as const, key: forgedKey }],
            behaviours: [{ name: 'oversized-frame', reasons: ['oversized-frame'] }],
          }
          const result = checkInvariants({
            seed: 's',
            final: nodes,
            byzantine,
            refusals: [
              { node: 'n0', peer: 'peer-1', reason: 'bad-signature', count: 2 },
              { node: 'n1', peer: 'byz', reason: 'timeout', count: 1 },
            ],
          })
          const details = result.violations.map((v) => `${v.invariant}: ${v.detail}`)
          expect(result.violations.filter((v) => v.invariant === 'byzantine-excluded')).toHaveLength(
            nodes.length,
          )
          expect(details).toContain('byzantine-attributed: n0 blamed honest n1 for bad-signature (2x)')
          expect(details.some((d) => d.includes('oversized-frame was never refused'))).toBe(true)
        },
      ),
    )
  })
})

describe('equivocation-resolved', () => {
  const versions = ['aaaa', 'bbbb']
  const evidence = (held: readonly (string | undefined)[]) => ({
    name: 'byz0',
    peer: 'peer-byz0',
    store: 'assertions' as const,
    key: 'register',
    versions,
    received: [
      { node: 'n0', version: 'aaaa' },
      { node: 'n1', version: 'bbbb' },
    ],
    held: held.map((version, i) => ({ node: `n${i}`, version })),
  })

  test('holds exactly when every honest node ends on one version the Byzantine peer signed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<string | undefined>('aaaa', 'bbbb', 'cccc', undefined), {
          minLength: 1,
          maxLength: 6,
        }),
        (held) => {
          const distinct = new Set(held)
          const [only] = distinct
          const resolved = distinct.size === 1 && (only === undefined || versions.includes(only))
          const violations = checkEquivocations([evidence(held)])
          expect(violations.length === 0).toBe(resolved)
          for (const v of violations) {
            expect(v.invariant).toBe('equivocation-resolved')
            expect(v.detail).toContain('byz0 equivocated on assertions')
          }
        },
      ),
    )
  })

  test('is checked, and named, only when there is evidence of an equivocation', () => {
    const input = { seed: 's', final: [] }
    expect(checkInvariants(input).checked).not.toContain('equivocation-resolved')
    const split = checkInvariants({ ...input, equivocations: [evidence(['aaaa', 'bbbb'])] })
    expect(split.checked).toContain('equivocation-resolved')
    expect(formatCheck(split)).toMatch(/equivocation-resolved \[n0, n1\]: .*\{n0\}=aaaa \{n1\}=bbbb/)
  })
})
