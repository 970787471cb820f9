import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, at, eventually, json, provsync, type RunningNode, startLine } from './helpers.js'

// The `provsync` binary against three daemons in a line, A - B - C (B bootstraps from A, C from
// B), and a library node V bootstrapping from A that asserts three coordinates, two of which an
// operator invalidates by pattern at A.
const NETWORK = 'cli-invalidate-test'
let dir: string
let a: RunningNode
let b: RunningNode
let c: RunningNode
let v: ProvsyncNode
let operatorKey: string
let strangerKey: string
let invalidationId: string

const viewSize = async (node: RunningNode): Promise<number> =>
  (await json(['status', ...at(node)])).view.coordinates
const entryOf = async (node: RunningNode, id: string) =>
  (await json(['ledger', ...at(node)])).entries.find((e: { id: string }) => e.id === id)

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-inv-'))
  const keygen = await provsync(['keygen', '--operator', '--out', 'operator.key', '--json'], { cwd: dir })
  expect(keygen.code).toBe(0)
  expect((await provsync(['keygen', '--operator', '--out', 'stranger.key'], { cwd: dir })).code).toBe(0)
  operatorKey = join(dir, 'operator.key')
  strangerKey = join(dir, 'stranger.key')
  const flags = ['--network', NETWORK, '--trust', `${operatorKey}.pub`]
  ;[a, b, c] = (await startLine(dir, ['a', 'b', 'c'], flags)) as [RunningNode, RunningNode, RunningNode]
  v = await createNode({
    dataDir: join(dir, 'v'),
    networkId: NETWORK,
    trust: [new Uint8Array(Buffer.from(JSON.parse(keygen.stdout).publicKey, 'hex'))],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [a.ready.addresses[0]!],
    sync: { announce: { debounceMs: 20 } },
  })
  v.state.advanceVerified({ volume: 'photos', destination: 'offsite', origin: 'laptop-1' }, 3n)
  v.state.advanceVerified({ volume: 'photos', destination: 'offsite', origin: 'laptop-2' }, 4n)
  v.state.advanceVerified({ volume: 'mail', destination: 'offsite', origin: 'laptop-1' }, 5n)
  for (const node of [a, b, c])
    await eventually(
      'every node sees 3 coordinates',
      () => viewSize(node),
      (n) => n === 3,
    )
}, 180_000)

afterAll(async () => {
  await Promise.allSettled([v?.stop()])
  await Promise.allSettled([a?.stop(), b?.stop(), c?.stop()])
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('provsync invalidate and lift against three running nodes', { timeout: 90_000 }, () => {
  it('invalidate --pattern signs at A and prints the ledger entry and what it invalidated', async () => {
    const view = await json([
      'invalidate',
      '--pattern',
      'photos/*',
      '--reason',
      'the photos batch was corrupt',
      '--operator-key',
      operatorKey,
      ...at(a),
    ])
    expect(view).toMatchObject({
      status: 'applied',
      action: 'invalidate',
      inForce: true,
      entry: {
        kind: 'invalidate',
        origin: 'networked',
        source: { type: 'local' },
        criteria: { type: 'pattern', pattern: 'photos/*' },
        result: { invalidated: 2, viewChanges: 2 },
      },
    })
    invalidationId = view.id
    expect(await viewSize(a)).toBe(1)
  })

  it('reaches B and C; each ledger says which peer it was pulled from', async () => {
    for (const [node, from] of [
      [b, a],
      [c, b],
    ] as const) {
      const entry = await eventually(
        'the invalidation to arrive',
        () => entryOf(node, invalidationId),
        (e) => e?.result !== null && e?.result !== undefined,
      )
      expect(entry).toMatchObject({
        kind: 'invalidate',
        origin: 'networked',
        reason: 'the photos batch was corrupt',
        source: { type: 'peer', peer: { peer: from.ready.peerId } },
        result: { invalidated: 2 },
      })
      expect(await viewSize(node)).toBe(1)
    }
    const text = await provsync(['ledger', ...at(c)])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(
      new RegExp(`#1\\s+invalidate\\s+criteria\\s+.*invalidated 2\\s+from ${b.ready.peerId}\\s+networked`),
    )
  })

  it('refuses a key outside the trust bundle, an unknown id and missing criteria, each with one line', async () => {
    const untrusted = await provsync([
      'invalidate',
      '--prefix',
      'mail/',
      '--reason',
      'x',
      '--operator-key',
      strangerKey,
      ...at(a),
    ])
    expect(untrusted.code).toBe(4)
    expect(untrusted.stderr).toMatch(
      /^provsync: the node refused the invalidate: untrusted-operator[^\n]*\n$/,
    )
    const unknown = await provsync([
      'lift',
      'ab'.repeat(32),
      '--reason',
      'x',
      '--operator-key',
      operatorKey,
      ...at(a),
    ])
    expect(unknown.code).toBe(4)
    expect(unknown.stderr).toMatch(/^provsync: the node refused the lift: unknown-invalidation[^\n]*\n$/)
    const none = await provsync(['invalidate', '--reason', 'x', '--operator-key', operatorKey, ...at(a)])
    expect(none.code).toBe(2)
    expect(none.stderr.trim().split('\n')).toHaveLength(1)
    expect(await viewSize(a)).toBe(1)
  })

  it('lift <id> at A restores the view on every node, a later act in every ledger', async () => {
    const lifted = await json([
      'lift',
      invalidationId,
      '--reason',
      'false alarm',
      '--operator-key',
      operatorKey,
      ...at(a),
    ])
    expect(lifted).toMatchObject({
      action: 'lift',
      invalidation: invalidationId,
      inForce: false,
      entry: { kind: 'lift', origin: 'networked', target: invalidationId, result: { restored: 2 } },
    })
    for (const node of [a, b, c]) {
      await eventually(
        'the lift to restore the view',
        () => viewSize(node),
        (n) => n === 3,
      )
      const entry = await entryOf(node, lifted.id)
      expect(entry).toMatchObject({ kind: 'lift', target: invalidationId, result: { restored: 2 } })
      expect(entry.seq).toBeGreaterThan((await entryOf(node, invalidationId)).seq)
    }
    const lifts = await json(['ledger', '--kind', 'invalidation', ...at(c)])
    expect(lifts.entries.map((e: { kind: string }) => e.kind)).toEqual(['lift'])
    const invalidations = await json(['ledger', '--kind', 'criteria', ...at(c)])
    expect(invalidations.entries.map((e: { id: string }) => e.id)).toEqual([invalidationId])
  })
})
