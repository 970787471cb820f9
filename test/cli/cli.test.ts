import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { sleep } from '@provsync/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  assertBuilt,
  at,
  eventually,
  json,
  provsync,
  type RunningNode,
  startLine,
  startNode,
} from './helpers.js'

// The `provsync` binary against real nodes: two daemons started through the command (A and B,
// B bootstrapping from A) and two library nodes that feed them evidence: an honest verifier V
// asserting run 3 and a hostile H asserting run 9, which never happened.
const NETWORK = 'cli-test'
const coordinate = ['photos', 'offsite', 'laptop-7'] as const
let dir: string
let a: RunningNode
let b: RunningNode
let v: ProvsyncNode
let h: ProvsyncNode
let operatorKey: string

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-'))
  const keygen = await provsync(['keygen', '--operator', '--out', 'operator.key', '--json'], { cwd: dir })
  expect(keygen.code).toBe(0)
  operatorKey = join(dir, 'operator.key')
  const flags = ['--network', NETWORK, '--trust', `${operatorKey}.pub`]
  ;[a, b] = (await startLine(dir, ['a', 'b'], flags)) as [RunningNode, RunningNode]
  const trust = [new Uint8Array(Buffer.from(JSON.parse(keygen.stdout).publicKey, 'hex'))]
  const library = (name: string) =>
    createNode({
      dataDir: join(dir, name),
      networkId: NETWORK,
      trust,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [a.ready.addresses[0]!],
      sync: { announce: { debounceMs: 20 } },
    })
  v = await library('v')
  h = await library('h')
  const coord = { volume: coordinate[0], destination: coordinate[1], origin: coordinate[2] }
  v.state.advanceVerified(coord, 3n)
  h.state.advanceVerified(coord, 9n)
})

afterAll(async () => {
  await Promise.allSettled([v?.stop(), h?.stop()])
  await Promise.allSettled([a?.stop(), b?.stop()])
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('provsync against running nodes', () => {
  it('node prints its peer id, addresses and control socket', () => {
    expect(a.ready.peerId).toMatch(/^12D3Koo/)
    expect(a.ready.addresses[0]).toMatch(new RegExp(`^/ip4/127.0.0.1/tcp/\\d+/p2p/${a.ready.peerId}$`))
    expect(a.ready.control).toBe(join(dir, 'a', 'control.sock'))
    expect(a.ready).toMatchObject({ networkId: NETWORK, trustedOperators: 1 })
  })

  it('status shows converged roots, counts and the peers with their last sync', async () => {
    const converged = await eventually(
      'B pulls both assertions',
      () => json(['status', ...at(b)]),
      (s) => s.stores.find((x: { store: string }) => x.store === 'assertions').count === 2,
    )
    const statusA = await json(['status', ...at(a)])
    expect(statusA.stores).toEqual(converged.stores)
    expect(converged).toMatchObject({ peerId: b.ready.peerId, networkId: NETWORK, view: { coordinates: 1 } })
    const peerA = converged.peers.find((p: { peer: string }) => p.peer === a.ready.peerId)
    expect(peerA).toMatchObject({ connected: true })
    expect(peerA.lastSyncMs).toBeGreaterThan(0)
    expect(peerA.lagMs).toBeGreaterThanOrEqual(0)
    const text = await provsync(['status', ...at(b)])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain(`node ${b.ready.peerId}`)
    expect(text.stdout).toMatch(/assertions\s+2\s+[0-9a-f]{64}/)
  })

  it('audit shows the view with its provenance, the evidence and the history', async () => {
    const audit = await json(['audit', ...coordinate, ...at(b)])
    expect(audit.component).toMatchObject({
      run: '9',
      provenance: { type: 'asserted', asserter: { peer: h.peerId.toString() } },
    })
    expect(audit.local).toBeNull()
    expect(audit.evidence.map((e: { run: string }) => e.run).sort()).toEqual(['3', '9'])
    expect(audit.history.at(-1)).toMatchObject({ kind: 'advance', after: { run: '9' } })
    const text = await provsync(['audit', ...coordinate, ...at(b)])
    expect(text.stdout).toContain(`view: run 9, asserted by ${h.peerId}`)
  })

  it('gate exits 0 on allow and 1 on refuse, with the deciding evidence', async () => {
    const allow = await json(['gate', ...coordinate, '9', ...at(b)], 0)
    expect(allow).toMatchObject({ allowed: true, run: '9', policy: { type: 'any' } })
    expect(allow.evidence[0].asserter.peer).toBe(h.peerId.toString())
    const strict = await json(['gate', ...coordinate, '9', '--min-asserters', '2', ...at(b)], 1)
    expect(strict).toMatchObject({ allowed: false, policy: { type: 'min-asserters', k: 2 } })
    const local = await provsync(['gate', ...coordinate, '3', '--local', ...at(b)])
    expect(local.code).toBe(1)
    expect(local.stdout).toMatch(/^REFUSE .*no local evidence/)
    const ignoring = await json(['gate', ...coordinate, '9', '--ignore', h.peerId.toString(), ...at(b)], 1)
    expect(ignoring.policy.asserters[0].peer).toBe(h.peerId.toString())
  })

  it('revoke signs with the operator key, applies at A and prints what it invalidated', async () => {
    const revoked = await json([
      'revoke',
      '--peer',
      h.peerId.toString(),
      '--reason',
      'asserted runs that never happened',
      '--operator-key',
      operatorKey,
      ...at(a),
    ])
    expect(revoked).toMatchObject({
      status: 'applied',
      action: 'revoke',
      subjectKind: 'peer',
      revoked: true,
      subject: { peer: h.peerId.toString() },
      entry: {
        seq: 1,
        kind: 'revoke',
        source: { type: 'local' },
        result: { invalidated: 1, viewChanges: 1 },
      },
    })
    // A node that applied a peer's revocation closes its connections and refuses it (bug 5).
    const hid = h.peerId.toString()
    const peers = await eventually(
      'A drops the revoked peer',
      () => json(['peers', ...at(a)]),
      (p) =>
        p.peers.some(
          (x: { peer: string; revoked: boolean; connected: boolean }) =>
            x.peer === hid && x.revoked && !x.connected,
        ),
    )
    expect(peers.peers.find((x: { peer: string }) => x.peer === hid)).toMatchObject({
      revoked: true,
      connected: false,
    })
    await sleep(6_000) // past H's bootstrap redial (every 5 s)
    const still = await json(['peers', ...at(a)])
    expect(still.peers.find((x: { peer: string }) => x.peer === hid)).toMatchObject({ connected: false })
  })

  it('the revocation reaches B: ledger, fallen-back view, revoke in history, and the gate changes its answer', async () => {
    const ledger = await eventually(
      'B applies the revocation',
      () => json(['ledger', ...at(b)]),
      (l) => l.entries.length === 1,
    )
    expect(ledger.entries[0]).toMatchObject({
      seq: 1,
      kind: 'revoke',
      subjectKind: 'peer',
      subject: { peer: h.peerId.toString() },
      reason: 'asserted runs that never happened',
      source: { type: 'peer', peer: { peer: a.ready.peerId } },
      result: { invalidated: 1 },
    })
    expect((await json(['ledger', '--kind', 'signer', ...at(b)])).entries).toEqual([])
    expect((await json(['ledger', '--since', '1', ...at(b)])).entries).toEqual([])
    const text = await provsync(['ledger', ...at(b)])
    expect(text.stdout).toMatch(/#1\s+revoke\s+peer\s+12D3Koo\S+\s+invalidated 1\s+from 12D3Koo/)

    const audit = await json(['audit', ...coordinate, ...at(b)])
    expect(audit.component).toMatchObject({
      run: '3',
      provenance: { asserter: { peer: v.peerId.toString() } },
    })
    expect(audit.evidence.find((e: { run: string }) => e.run === '9').revoked).toBe(true)
    expect(audit.history.at(-1)).toMatchObject({ kind: 'revoke', before: { run: '9' }, after: { run: '3' } })

    expect((await provsync(['gate', ...coordinate, '9', ...at(b)])).code).toBe(1)
    expect((await provsync(['gate', ...coordinate, '3', ...at(b)])).code).toBe(0)
  })

  it('reinstate is a forward act that brings the evidence back', async () => {
    const text = await provsync([
      'reinstate',
      '--peer',
      h.peerId.toString(),
      '--reason',
      'false alarm',
      '--operator-key',
      operatorKey,
      ...at(a),
    ])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(
      /^reinstated peer 12D3Koo\S+\n {2}ledger #2: restored 1 record, 1 view component changed/,
    )
    await eventually(
      'B is back at run 9',
      () => json(['audit', ...coordinate, ...at(b)]),
      (x) => x.component.run === '9',
    )
    expect((await json(['ledger', ...at(b)])).totals).toMatchObject({ revocations: 1, reinstatements: 1 })
    await eventually(
      'the reinstated peer reconnects to A',
      () => json(['peers', ...at(a)]),
      (p) =>
        p.peers.some(
          (x: { peer: string; revoked: boolean; connected: boolean }) =>
            x.peer === h.peerId.toString() && !x.revoked && x.connected,
        ),
    )
  })

  it('refuses a revocation signed by a key outside the trust bundle, exit 4, one line', async () => {
    const rogue = await provsync(['keygen', '--operator', '--out', 'rogue.key'], { cwd: dir })
    expect(rogue.code).toBe(0)
    const refused = await provsync([
      'revoke',
      '--signer',
      Buffer.from(v.publicKey).toString('hex'),
      '--reason',
      'coup',
      '--operator-key',
      join(dir, 'rogue.key'),
      ...at(a),
    ])
    expect(refused.code).toBe(4)
    expect(refused.stderr).toMatch(/^provsync: the node refused the revocation: untrusted-operator .*\n$/)
    expect((await json(['ledger', ...at(a)])).latestSeq).toBe(2)
  })

  it('verify recomputes every tree and finds them intact', async () => {
    const report = await json(['verify', ...at(b)])
    expect(report.ok).toBe(true)
    expect(report.stores.map((s: { store: string; leaves: number }) => [s.store, s.leaves])).toEqual([
      ['revocations', 2],
      ['supersessions', 0],
      ['assertions', 2],
      ['invalidations', 0],
    ])
  })

  it('refuses a second node on a data directory in use', async () => {
    const second = await provsync(['node', ...at(a), '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(second.code).toBe(5)
    expect(second.stderr).toBe(`provsync: a node is already running at ${a.ready.dataDir}\n`)
  })

  it('reports a missing node and bad arguments in one line', async () => {
    const none = await provsync(['status', '--data-dir', join(dir, 'nothing-here')])
    expect(none).toEqual({
      code: 3,
      stdout: '',
      stderr: `provsync: no node running at ${join(dir, 'nothing-here')} (start one with: provsync node --data-dir ${join(dir, 'nothing-here')})\n`,
    })
    const bad = await provsync(['gate', ...coordinate, 'latest', ...at(a)])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toBe(
      "provsync gate: <run> must be a non-negative integer, got 'latest' (see provsync gate --help)\n",
    )
  })

  it('stops cleanly on SIGTERM and leaves no socket behind', async () => {
    expect(await b.stop()).toBe(0)
    const after = await provsync(['status', ...at(b)])
    expect(after.code).toBe(3)
  })
})

describe('provsync node defaults', () => {
  it('starts on ./.provsync and remembers its network, trust and identity across restarts', async () => {
    const home = await mkdtemp(join(tmpdir(), 'provsync-cli-home-'))
    try {
      const key = await provsync(['keygen', '--operator', '--json'], { cwd: home })
      const trust = join(home, 'operator.key.pub')
      expect(JSON.parse(key.stdout).publicKeyFile).toBe(trust)
      const first = await startNode(
        ['--network', 'remembered', '--trust', trust, '--listen', '/ip4/127.0.0.1/tcp/0'],
        {
          cwd: home,
        },
      )
      expect(first.ready).toMatchObject({
        dataDir: join(home, '.provsync'),
        networkId: 'remembered',
        trustedOperators: 1,
      })
      expect(await first.stop()).toBe(0)
      const second = await startNode(['--listen', '/ip4/127.0.0.1/tcp/0'], { cwd: home })
      expect(second.ready).toMatchObject({
        peerId: first.ready.peerId,
        networkId: 'remembered',
        trustedOperators: 1,
      })
      expect(await second.stop()).toBe(0)
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})
