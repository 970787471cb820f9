// The checker's invariants, each detected with the exact violation it names (issue #18): the
// invariant, the nodes and the one-line detail an operator replays from. Made-up snapshots only.

import { describe, expect, test } from 'vitest'
import {
  checkAcknowledged,
  checkByzantine,
  checkEquivocations,
  checkHistoryPrefix,
  checkInvariants,
  checkLedgers,
  checkRevokedProvenance,
  checkSameRoots,
  checkSameView,
  type EquivocationEvidence,
  formatCheck,
  INVARIANTS,
  type NodeSnapshot,
  type ViewEntry,
} from '../src/checker.js'

/** Thirteen hex digits: long enough to be shortened to twelve and an ellipsis. */
const LONG = 'abcdef0123456'
/** Twelve hex digits: short enough to be printed whole. */
const TWELVE = 'abcdef012345'

function node(name: string, fields: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    name,
    peerId: `peer-${name}`,
    key: `key-${name}`,
    atMs: 1_000,
    roots: { revocations: 'r', supersessions: 's', assertions: 'a' },
    keys: { revocations: [], supersessions: [], assertions: [] },
    view: {},
    history: [],
    ledger: [],
    revoked: [],
    ...fields,
  }
}

const entry = (run: string, corroborators: string[], provenance = 'local'): ViewEntry => ({
  run,
  provenance,
  corroborators,
})

describe('same-roots', () => {
  test('equal roots hold; each differing store is one violation naming every node and the groups', () => {
    const same = [node('n0'), node('n1')]
    expect(checkSameRoots(same)).toEqual([])
    const final = [
      node('n0'),
      node('n1', { roots: { revocations: LONG, supersessions: 's', assertions: TWELVE } }),
      node('n2'),
    ]
    expect(checkSameRoots(final)).toEqual([
      {
        invariant: 'same-roots',
        nodes: ['n0', 'n1', 'n2'],
        detail: `revocations: 2 distinct roots {n0,n2}=r {n1}=${TWELVE}…`,
      },
      {
        invariant: 'same-roots',
        nodes: ['n0', 'n1', 'n2'],
        detail: `assertions: 2 distinct roots {n0,n2}=a {n1}=${TWELVE}`,
      },
    ])
  })

  test('the supersessions store is compared too', () => {
    const final = [
      node('n0'),
      node('n1', { roots: { revocations: 'r', supersessions: 'x', assertions: 'a' } }),
    ]
    expect(checkSameRoots(final).map((v) => v.detail)).toEqual([
      'supersessions: 2 distinct roots {n0}=s {n1}=x',
    ])
  })
})

describe('same-durability-view', () => {
  test('the order of coordinates and corroborators does not matter', () => {
    const a = node('n0', { view: { c1: entry('3', ['k1', 'k2']), c2: entry('1', []) } })
    const b = node('n1', { view: { c2: entry('1', []), c1: entry('3', ['k2', 'k1'], 'k1') } })
    expect(checkSameView([a, b])).toEqual([])
  })

  test('the first differing coordinate is named with both entries', () => {
    const a = node('n0', { view: { c3: entry('1', []), c1: entry('3', ['k1', LONG]), c2: entry('2', []) } })
    const b = node('n1', { view: { c3: entry('9', []), c1: entry('3', ['k1']), c2: entry('2', []) } })
    expect(checkSameView([a, b])).toEqual([
      {
        invariant: 'same-durability-view',
        nodes: ['n0', 'n1'],
        detail: `2 distinct views; first difference at c1: n0 has run 3 by ${TWELVE}…+k1, n1 has run 3 by k1`,
      },
    ])
  })

  test('the first difference is the first coordinate, in order, whose entries differ', () => {
    const a = node('n0', { view: { c1: entry('1', []), c2: entry('2', []), c3: entry('3', []) } })
    const b = node('n1', { view: { c3: entry('4', []), c2: entry('2', []), c1: entry('1', []) } })
    expect(checkSameView([a, b]).map((v) => v.detail)).toEqual([
      '2 distinct views; first difference at c3: n0 has run 3 by none, n1 has run 4 by none',
    ])
  })

  test('a coordinate one node lacks is named absent; a component with no corroborator by none', () => {
    const a = node('n0', { view: { c1: entry('2', []) } })
    const b = node('n1')
    const c = node('n2', { view: { c1: entry('2', []) } })
    expect(checkSameView([a, b, c]).map((v) => v.detail)).toEqual([
      '2 distinct views; first difference at c1: n0 has run 2 by none, n1 has absent',
    ])
  })

  test('the own view may sit above the shared view, never at nothing or below it', () => {
    const shared = { c1: entry('5', ['k1']) }
    const equal = node('n0', { view: { c1: entry('5', ['k1']) }, sharedView: shared })
    const above = node('n1', { view: { c1: entry('6', []) }, sharedView: shared })
    expect(checkSameView([equal, above])).toEqual([])
    const below = node('n2', { view: { c1: entry('4', ['k1']) }, sharedView: shared })
    const nothing = node('n3', { view: {}, sharedView: shared })
    expect(checkSameView([below, nothing])).toEqual([
      {
        invariant: 'same-durability-view',
        nodes: ['n2'],
        detail: "c1: the view has run 4 below the evidence's run 5",
      },
      {
        invariant: 'same-durability-view',
        nodes: ['n3'],
        detail: "c1: the view has nothing below the evidence's run 5",
      },
    ])
  })

  test('runs compare as numbers, not strings', () => {
    const shared = { c1: entry('9', []) }
    expect(checkSameView([node('n0', { view: { c1: entry('10', []) }, sharedView: shared })])).toEqual([])
  })
})

describe('acknowledged-everywhere', () => {
  const ack = (key: string, node: string, signer = 'alice') => ({
    store: 'assertions' as const,
    key,
    signer,
    node,
  })

  test('each node lacking records is one violation: its count and the first missing one', () => {
    const holds = (name: string, keys: string[]) =>
      node(name, { keys: { revocations: [], supersessions: [], assertions: keys } })
    const final = [holds('n0', ['a1', 'a2', LONG]), holds('n1', ['a2']), holds('n2', [])]
    const acknowledged = [ack('a1', 'n0'), ack('a2', 'n1'), ack(LONG, 'n0')]
    expect(checkAcknowledged(final, acknowledged)).toEqual([
      {
        invariant: 'acknowledged-everywhere',
        nodes: ['n1', 'n0'],
        detail: `n1 lacks 2 acknowledged record(s), e.g. assertions a1 acknowledged by n0`,
      },
      {
        invariant: 'acknowledged-everywhere',
        nodes: ['n2', 'n0'],
        detail: `n2 lacks 3 acknowledged record(s), e.g. assertions a1 acknowledged by n0`,
      },
    ])
  })

  test('a record is looked for in its own store; records of a key revoked anywhere are exempt', () => {
    const final = [
      node('n0', { keys: { revocations: ['x'], supersessions: [], assertions: [] } }),
      node('n1', { keys: { revocations: [], supersessions: [], assertions: ['x'] }, revoked: ['mallory'] }),
    ]
    const acknowledged = [{ store: 'revocations' as const, key: 'x', signer: 'alice', node: 'n0' }]
    expect(checkAcknowledged(final, acknowledged).map((v) => v.detail)).toEqual([
      'n1 lacks 1 acknowledged record(s), e.g. revocations x acknowledged by n0',
    ])
    const byRevoked = [{ ...acknowledged[0]!, signer: 'mallory' }]
    expect(checkAcknowledged(final, byRevoked)).toEqual([])
  })
})

describe('no-revoked-provenance', () => {
  const revokedNode = (view: Record<string, ViewEntry>) => node('n0', { view, revoked: [LONG] })

  test('resting on a revoked key is named before counting one; counting one names the first', () => {
    const violations = checkRevokedProvenance([
      revokedNode({
        c1: entry('3', [LONG], LONG),
        c2: entry('4', ['good', LONG], 'good'),
        c3: entry('5', ['good'], 'good'),
      }),
    ])
    expect(violations).toEqual([
      { invariant: 'no-revoked-provenance', nodes: ['n0'], detail: `c1 run 3 rests on revoked ${TWELVE}…` },
      {
        invariant: 'no-revoked-provenance',
        nodes: ['n0'],
        detail: `c2 run 4 counts revoked corroborator ${TWELVE}…`,
      },
    ])
  })

  test('local provenance rests on no key, whatever the revoked list spells', () => {
    const final = [node('n0', { view: { c1: entry('3', [], 'local') }, revoked: ['local'] })]
    expect(checkRevokedProvenance(final)).toEqual([])
  })

  test('a key revoked on another node does not count on this one', () => {
    const final = [node('n0', { view: { c1: entry('3', ['k'], 'k') } }), node('n1', { revoked: ['k'] })]
    expect(checkRevokedProvenance(final)).toEqual([])
  })
})

describe('history-prefix', () => {
  const at = (atMs: number, history: string[]) => ({ name: 'n0', atMs, history })

  test('a history that extends every earlier one holds, whatever order the snapshots come in', () => {
    const final = [node('n0', { atMs: 3_000, history: ['a', 'b', 'c'] })]
    expect(checkHistoryPrefix(final, [at(2_000, ['a', 'b']), at(1_000, ['a']), at(500, [])])).toEqual([])
  })

  test('a rewritten first entry is entry 1, with both snapshot times and lengths', () => {
    const final = [node('n0', { atMs: 3_000, history: ['x', 'b'] })]
    expect(checkHistoryPrefix(final, [at(1_000, ['a', 'b'])])).toEqual([
      {
        invariant: 'history-prefix',
        nodes: ['n0'],
        detail: 'history at 3000 ms rewrites entry 1 of the one at 1000 ms (2 -> 2 entries)',
      },
    ])
  })

  test('a dropped tail names the first entry gone; only the first break per node is reported', () => {
    const final = [node('n0', { atMs: 3_000, history: ['z'] })]
    const earlier = [at(2_000, ['a']), at(1_000, ['a', 'b', 'c'])]
    expect(checkHistoryPrefix(final, earlier)).toEqual([
      {
        invariant: 'history-prefix',
        nodes: ['n0'],
        detail: 'history at 2000 ms rewrites entry 2 of the one at 1000 ms (3 -> 1 entries)',
      },
    ])
  })

  test('each node is compared with its own earlier snapshots only', () => {
    const final = [node('n0', { history: ['a'] }), node('n1', { history: ['b'] })]
    const earlier = [
      { name: 'n1', atMs: 10, history: ['b'] },
      { name: 'n0', atMs: 10, history: ['a'] },
    ]
    expect(checkHistoryPrefix(final, earlier)).toEqual([])
  })
})

describe('ledger-complete', () => {
  test('a ledger lacking issued revocations names how many and the first', () => {
    const ledger = (...ids: string[]) => ids.map((id) => ({ id, kind: 'revoke' }))
    const final = [node('n0', { ledger: ledger('r1', LONG, 'r3') }), node('n1', { ledger: ledger('r3') })]
    expect(checkLedgers(final, ['r1', LONG, 'r3'])).toEqual([
      {
        invariant: 'ledger-complete',
        nodes: ['n1'],
        detail: 'ledger lacks 2 of 3 revocation(s), e.g. r1',
      },
    ])
    expect(checkLedgers([node('n2')], [LONG]).map((v) => v.detail)).toEqual([
      `ledger lacks 1 of 1 revocation(s), e.g. ${TWELVE}…`,
    ])
  })
})

describe('byzantine-excluded and byzantine-attributed', () => {
  const final = [
    node('n0', { keys: { revocations: [], supersessions: ['f1', 'ok'], assertions: ['f2'] } }),
    node('n1', { keys: { revocations: ['f1'], supersessions: [], assertions: [] } }),
  ]
  const byzantine = {
    peerIds: ['peer-byz'],
    forged: [
      { store: 'supersessions' as const, key: 'f1' },
      { store: 'assertions' as const, key: 'f2' },
    ],
    behaviours: [],
  }

  test('a node holding forged records is named with the count and the first, in its own store', () => {
    expect(checkByzantine(final, byzantine, [], [])).toEqual([
      {
        invariant: 'byzantine-excluded',
        nodes: ['n0'],
        detail: 'holds 2 forged record(s), e.g. supersessions f1',
      },
    ])
  })

  test('blaming an honest peer for a forgery reason is a violation; other reasons or peers are not', () => {
    const refusals = [
      { node: 'n0', peer: 'peer-n1', reason: 'bad-signature', count: 2, detail: 'sig over 3 bytes' },
      { node: 'n1', peer: 'peer-n0', reason: 'malformed', count: 1 },
      { node: 'n1', peer: 'peer-n0', reason: 'timeout', count: 4 },
      { node: 'n1', peer: 'peer-byz', reason: 'bad-signature', count: 1 },
    ]
    const violations = checkByzantine([node('n0'), node('n1')], { ...byzantine, forged: [] }, refusals, [
      'bad-signature',
      'malformed',
    ])
    expect(violations).toEqual([
      {
        invariant: 'byzantine-attributed',
        nodes: ['n0', 'n1'],
        detail: 'n0 blamed honest n1 for bad-signature (2x): sig over 3 bytes',
      },
      {
        invariant: 'byzantine-attributed',
        nodes: ['n1', 'n0'],
        detail: 'n1 blamed honest n0 for malformed (1x)',
      },
    ])
  })

  test('a behaviour is caught only by a refusal of one of its reasons, of a Byzantine peer, at least once', () => {
    const behaviours = [{ name: 'forge', reasons: ['bad-signature', 'malformed'] }]
    const expectation = { peerIds: ['peer-byz'], forged: [], behaviours }
    const uncaught = {
      invariant: 'byzantine-attributed',
      nodes: [],
      detail:
        'behaviour forge was never refused with bad-signature/malformed and attributed to a Byzantine peer',
    }
    const refusal = { node: 'n0', peer: 'peer-byz', reason: 'malformed', count: 1 }
    expect(checkByzantine([node('n0')], expectation, [refusal], [])).toEqual([])
    expect(checkByzantine([node('n0')], expectation, [{ ...refusal, count: 0 }], [])).toEqual([uncaught])
    expect(checkByzantine([node('n0')], expectation, [{ ...refusal, reason: 'timeout' }], [])).toEqual([
      uncaught,
    ])
    expect(checkByzantine([node('n0')], expectation, [{ ...refusal, peer: 'peer-n0' }], [])).toEqual([
      uncaught,
    ])
    expect(checkByzantine([node('n0')], expectation, [], [])).toEqual([uncaught])
  })

  test('by default, every reason an honest peer never causes counts as a forgery', () => {
    const forgeries = [
      'malformed',
      'bad-signature',
      'oversized',
      'untrusted-operator',
      'wrong-network',
      'unknown-kind',
      'invalid-run',
      'malformed-frame',
      'oversized-frame',
      'invalid-announcement',
    ]
    const honest = [node('n0'), node('n1')]
    const blame = (reason: string) =>
      checkInvariants({
        seed: 's',
        final: honest,
        byzantine: { peerIds: [], forged: [], behaviours: [] },
        refusals: [{ node: 'n0', peer: 'peer-n1', reason, count: 1 }],
      }).violations.map((v) => v.detail)
    for (const reason of forgeries) expect(blame(reason)).toEqual([`n0 blamed honest n1 for ${reason} (1x)`])
    for (const reason of ['timeout', 'rate-limited', 'busy', '']) expect(blame(reason)).toEqual([])
  })
})

describe('equivocation-resolved', () => {
  const evidence = (held: (string | undefined)[]): EquivocationEvidence => ({
    name: 'byz0',
    peer: 'peer-byz0',
    store: 'supersessions',
    key: LONG,
    versions: ['aaaa', 'bbbb'],
    received: [],
    held: held.map((version, i) => ({ node: `n${i}`, version })),
  })

  test('split nodes name every version held, a missing one as nothing', () => {
    expect(checkEquivocations([evidence(['aaaa', undefined, 'aaaa'])])).toEqual([
      {
        invariant: 'equivocation-resolved',
        nodes: ['n0', 'n1', 'n2'],
        detail: `byz0 equivocated on supersessions ${TWELVE}…: honest nodes hold 2 versions {n0,n2}=aaaa {n1}=nothing`,
      },
    ])
  })

  test('one version the peer never signed is named; none held, or no node, holds', () => {
    expect(checkEquivocations([evidence(['cccc', 'cccc'])])).toEqual([
      {
        invariant: 'equivocation-resolved',
        nodes: ['n0', 'n1'],
        detail: `byz0 equivocated on supersessions ${TWELVE}…: honest nodes hold cccc, which byz0 never signed`,
      },
    ])
    expect(checkEquivocations([evidence([undefined, undefined])])).toEqual([])
    expect(checkEquivocations([evidence([])])).toEqual([])
    expect(checkEquivocations([evidence(['bbbb'])])).toEqual([])
  })
})

describe('checkInvariants and formatCheck', () => {
  test('checks exactly the invariants the input has data for', () => {
    const base = { seed: 's', final: [node('n0')] }
    expect(checkInvariants(base)).toEqual({
      ok: true,
      seed: 's',
      checked: ['same-roots', 'same-durability-view', 'no-revoked-provenance'],
      violations: [],
    })
    const all = checkInvariants({
      ...base,
      acknowledged: [],
      earlier: [],
      revocations: [],
      byzantine: { peerIds: [], forged: [], behaviours: [] },
      equivocations: [],
    })
    expect(all.checked).toEqual([
      'same-roots',
      'same-durability-view',
      'no-revoked-provenance',
      'acknowledged-everywhere',
      'history-prefix',
      'ledger-complete',
      'byzantine-excluded',
      'byzantine-attributed',
    ])
    const split = checkInvariants({ ...base, equivocations: [evidence2()] })
    expect(split.checked.at(-1)).toBe('equivocation-resolved')
    expect(split.ok).toBe(false)
    // INVARIANTS names every invariant a run with data for all of them checks, and no other.
    const full = checkInvariants({
      ...base,
      acknowledged: [],
      earlier: [],
      revocations: [],
      byzantine: { peerIds: [], forged: [], behaviours: [] },
      equivocations: [evidence2()],
    })
    expect([...full.checked].sort()).toEqual([...INVARIANTS].sort())
  })

  test('each check runs on its own data', () => {
    const n0 = node('n0', { atMs: 2_000, history: ['b'], ledger: [] })
    const result = checkInvariants({
      seed: 'seed 7',
      final: [n0],
      acknowledged: [{ store: 'assertions', key: 'k', signer: 'alice', node: 'n0' }],
      earlier: [{ name: 'n0', atMs: 1_000, history: ['a'] }],
      revocations: ['r1'],
      byzantine: { peerIds: [], forged: [], behaviours: [{ name: 'forge', reasons: ['malformed'] }] },
    })
    expect(result.ok).toBe(false)
    expect(result.violations.map((v) => v.invariant)).toEqual([
      'acknowledged-everywhere',
      'history-prefix',
      'ledger-complete',
      'byzantine-attributed',
    ])
    expect(formatCheck(result)).toBe(
      [
        '4 invariant violation(s); replay with --seed "seed 7"',
        '  acknowledged-everywhere [n0, n0]: n0 lacks 1 acknowledged record(s), e.g. assertions k acknowledged by n0',
        '  history-prefix [n0]: history at 2000 ms rewrites entry 1 of the one at 1000 ms (1 -> 1 entries)',
        '  ledger-complete [n0]: ledger lacks 1 of 1 revocation(s), e.g. r1',
        '  byzantine-attributed [cluster]: behaviour forge was never refused with malformed and attributed to a Byzantine peer',
      ].join('\n'),
    )
  })

  test('a clean run says how many invariants held and the seed', () => {
    expect(formatCheck(checkInvariants({ seed: 'x"y', final: [node('n0'), node('n1')] }))).toBe(
      'all 3 invariants hold (seed "x\\"y")',
    )
  })
})

function evidence2(): EquivocationEvidence {
  return {
    name: 'byz',
    peer: 'peer-byz',
    store: 'assertions',
    key: 'k',
    versions: ['v1'],
    received: [],
    held: [
      { node: 'n0', version: 'v1' },
      { node: 'n1', version: 'v2' },
    ],
  }
}
