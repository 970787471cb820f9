import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

// The operator's session with the real binary: three daemons in a line (C knows only B, B knows
// A), evidence written on A and read on C, a supersession written on C and read on A, peers,
// a backup taken while A is written to, checked offline and restored.
let dir: string
let a: RunningNode
let b: RunningNode
let c: RunningNode
let restored: RunningNode | undefined

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-operator-'))
  ;[a, b, c] = (await startLine(dir, ['a', 'b', 'c'], ['--network', 'operator'])) as [
    RunningNode,
    RunningNode,
    RunningNode,
  ]
}, 120_000)

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop(), c?.stop(), restored?.stop()])
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
}, 60_000)

describe('an operator with provsync alone', () => {
  it('records evidence on A and reads it in the view of C, which knows only B', async () => {
    const recorded = await json([
      'record',
      'photos',
      'offsite',
      'laptop-7',
      '42',
      '--method',
      'sha256',
      ...at(a),
    ])
    expect(recorded).toMatchObject({ status: 'applied', local: { run: '42' } })
    const page = await eventually(
      'C sees A’s evidence through B',
      () => json(['view', '--volume', 'photos', ...at(c)]),
      (v) => v.entries.length === 1,
    )
    expect(page.entries[0]).toMatchObject({
      coordinate: { volume: 'photos', destination: 'offsite', origin: 'laptop-7' },
      run: '42',
      provenance: { type: 'asserted', asserter: { peer: a.ready.peerId } },
    })
    const text = await provsync(['view', ...at(c)])
    expect(text.stdout).toContain(`photos/offsite/laptop-7  run 42, asserted by ${a.ready.peerId}`)
  })

  it('writes a supersession on C with an agent key and reads it on A', async () => {
    expect((await provsync(['keygen', '--agent', '--out', 'agent.key'], { cwd: dir })).code).toBe(0)
    const target = 'ab'.repeat(32)
    const written = await json([
      'supersede',
      target,
      '--kind',
      'invalidate',
      '--reason',
      'wrong checksum',
      '--agent-key',
      join(dir, 'agent.key'),
      ...at(c),
    ])
    expect(written).toMatchObject({ status: 'applied', kind: 'invalidate', inForce: true })
    const seen = await eventually(
      'A pulls the supersession',
      () => json(['supersessions', target, '--chain', ...at(a)]),
      (v) => v.superseded === true,
    )
    expect(seen).toMatchObject({ winner: written.hash, chain: { end: 'invalidated' } })
    const byAgent = await json([
      'supersessions',
      '--agent',
      written.agent.key,
      '--to',
      String(Date.now()),
      ...at(a),
    ])
    expect(byAgent.supersessions.map((s: { hash: string }) => s.hash)).toEqual([written.hash])
  })

  it('lists peers with their state, and unblocks or connects by command', async () => {
    const { peers } = await json(['peers', ...at(b)])
    const ids = peers.filter((p: { connected: boolean }) => p.connected).map((p: { peer: string }) => p.peer)
    expect(ids.sort()).toEqual([a.ready.peerId, c.ready.peerId].sort())
    for (const p of peers) expect(p).toMatchObject({ blocked: false, revoked: false })
    expect(await json(['unblock', a.ready.peerId, ...at(b)])).toEqual({
      peer: a.ready.peerId,
      wasBlocked: false,
    })
    const connected = await json(['connect', a.ready.addresses[0]!, ...at(c)])
    expect(connected.peer).toBe(a.ready.peerId)
  })

  it('backs up A while it is written to, checks the copy offline and restores it', async () => {
    const writes = Array.from({ length: 5 }, (_, i) =>
      provsync(['record', 'photos', 'offsite', `host-${i}`, '1', ...at(a)]),
    )
    const copy = join(dir, 'a-backup')
    const backup = await json(['backup', copy, ...at(a)])
    expect(backup.target).toBe(copy)
    for (const w of await Promise.all(writes)) expect(w.code).toBe(0)
    const offline = await json(['verify', '--offline', '--data-dir', copy])
    expect(offline.ok).toBe(true)
    expect((await provsync(['verify', '--offline', ...at(a)])).stderr).toBe(
      `provsync: a node is running at ${a.ready.dataDir}; run provsync verify without --offline\n`,
    )
    restored = await startNode(['--data-dir', copy, '--listen', '/ip4/127.0.0.1/tcp/0'])
    expect(restored.ready).toMatchObject({ peerId: a.ready.peerId, networkId: 'operator' })
    const view = await json(['view', '--origin', 'laptop-7', '--data-dir', copy])
    expect(view.entries[0]).toMatchObject({ run: '42', provenance: { type: 'local' } })
    expect((await json(['verify', '--data-dir', copy])).ok).toBe(true)
  }, 60_000)
})
