import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  assertBuilt,
  at,
  cliIn,
  eventually,
  FAST_LOOPBACK,
  type RunningNode,
  startNode,
  stopAll,
} from '../../../test/cli/helpers.js'

// `provsync node --closed` with the real binary on loopback. A and B are provisioned while they
// run open (each gets its member grant from `provsync grant`), then restart closed, B
// bootstrapping from A; C, never granted anything, dials A. A publication at A reaches member B;
// C is refused by A and learns nothing (no record, no scope, no artifact). A node started closed
// without a member grant of its own exits 5 with one line naming the fix.
const NETWORK = 'cli-closed-test'
const SCOPE = 'cluster/c1'
let dir: string
let a: RunningNode | undefined
let b: RunningNode | undefined
let c: RunningNode | undefined
let operatorKey: string
let publisherKey: string

const { run, json } = cliIn(() => dir)
const flags = () => ['--network', NETWORK, '--trust', `${operatorKey}.pub`, ...FAST_LOOPBACK]
const grant = (subject: string, right: string, node: RunningNode, scope?: string) =>
  json([
    'grant',
    subject,
    right,
    ...(scope === undefined ? [] : ['--scope', scope]),
    '--epoch',
    '1',
    '-k',
    operatorKey,
    ...at(node),
  ])

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-closed-'))
  operatorKey = join(dir, 'operator.key')
  publisherKey = join(dir, 'publisher.key')
  expect((await run(['keygen', '--operator', '--out', operatorKey])).code).toBe(0)
  expect((await run(['keygen', '--agent', '--out', publisherKey])).code).toBe(0)
  await writeFile(join(dir, 'config.bin'), 'members only\n')
  // Provisioning: each node runs open once, alone, and is given its member grant.
  const openA = await startNode(['--data-dir', join(dir, 'a'), ...flags()])
  const openB = await startNode(['--data-dir', join(dir, 'b'), ...flags()])
  await grant(openA.ready.peerId, 'member', openA)
  await grant(openA.ready.peerId, 'hold', openA, 'cluster')
  await grant(openB.ready.peerId, 'hold', openA, 'cluster')
  await grant(`${publisherKey}.pub`, 'publish', openA, 'cluster')
  await grant(openB.ready.peerId, 'member', openB)
  expect(await openA.stop()).toBe(0)
  expect(await openB.stop()).toBe(0)
  a = await startNode(['--data-dir', join(dir, 'a'), ...flags(), '--closed'])
  b = await startNode([
    '--data-dir',
    join(dir, 'b'),
    ...flags(),
    '--closed',
    '--bootstrap',
    a.ready.addresses[0]!,
  ])
  c = await startNode(['--data-dir', join(dir, 'c'), ...flags(), '--bootstrap', a.ready.addresses[0]!])
}, 240_000)

afterAll(() => stopAll([a, b, c], dir), 60_000)

describe('provsync node --closed', { timeout: 240_000 }, () => {
  it('a member syncs: an artifact published at A becomes current at B', async () => {
    const published = await run([
      'publish',
      SCOPE,
      'cluster_snapshot',
      'main',
      '--version',
      '1',
      '--epoch',
      '1',
      '--file',
      join(dir, 'config.bin'),
      '--key',
      publisherKey,
      ...at(a!),
    ])
    expect(published.code).toBe(0)
    const got = await eventually(
      'the artifact at member B',
      () => run(['get', SCOPE, 'cluster_snapshot', 'main', ...at(b!)]),
      (r) => r.code === 0,
    )
    expect(got.stdout).toBe('members only\n')
  })

  it('a non-member is refused and learns nothing', async () => {
    // C dialled A at start; A refuses every session of C's (sync's and the artifacts').
    await eventually(
      'C told it is not admitted',
      async () => c!.stderr(),
      (log) => /not-admitted/.test(log),
    )
    const view = await json(['artifacts', ...at(c!)])
    expect(view.scopes).toEqual([])
    const get = await run(['get', SCOPE, 'cluster_snapshot', 'main', '--allow-stale', ...at(c!)])
    expect(get.code).toBe(1)
    expect(get.stdout).toBe('')
    // Not even the operator records every member replicates: C's artifact store is empty.
    const health = await json(['artifacts', '--health', ...at(c!)])
    expect(health.health).toMatchObject({ applied: 0, operatorRecords: 0 })
    // While member B, holding the same operator records as A, has them all.
    expect((await json(['artifacts', '--health', ...at(b!)])).health.operatorRecords).toBe(5)
  })

  it('a node started --closed without a member grant of its own exits 5 with one line', async () => {
    const r = await run(['node', '--data-dir', join(dir, 'd'), ...flags(), '--closed'])
    expect(r.code).toBe(5)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(
      /^provsync: closed network: this node \((12D3\w+)\) holds no live member grant; start it with --open and give it one with: provsync grant \1 member --epoch <n> -k <operator key>\n$/,
    )
  })

  it('closed mode is remembered: A restarted without --closed stays closed, --open leaves it', async () => {
    expect(a!.ready).toMatchObject({ closed: true })
    expect(await a!.stop()).toBe(0)
    a = await startNode(['--data-dir', join(dir, 'a'), ...flags()])
    expect(a.ready).toMatchObject({ closed: true })
    const remembered = JSON.parse(await readFile(join(dir, 'a', 'node.json'), 'utf8'))
    expect(remembered).toMatchObject({ networkId: NETWORK, closed: true })
    // Still members only: C (no member grant) dials the restarted A and is refused again.
    const refusedBefore = (c!.stderr().match(/not-admitted/g) ?? []).length
    expect((await run(['connect', a.ready.addresses[0]!, ...at(c!)])).code).toBe(0)
    await eventually(
      'C refused by the restarted A',
      async () => (c!.stderr().match(/not-admitted/g) ?? []).length,
      (n) => n > refusedBefore,
    )
    expect((await json(['artifacts', '--health', ...at(c!)])).health.operatorRecords).toBe(0)

    expect(await a.stop()).toBe(0)
    a = await startNode(['--data-dir', join(dir, 'a'), ...flags(), '--open'])
    expect(a.ready).toMatchObject({ closed: false })
    expect(await a.stop()).toBe(0)
    a = await startNode(['--data-dir', join(dir, 'a'), ...flags()])
    expect(a.ready).toMatchObject({ closed: false })
    // Open again: C is admitted and receives the operator records A replicates to every node.
    expect((await run(['connect', a.ready.addresses[0]!, ...at(c!)])).code).toBe(0)
    await eventually(
      'operator records at C from the open A',
      async () => (await json(['artifacts', '--health', ...at(c!)])).health.operatorRecords,
      (n) => n === 5,
    )
  })

  it('--closed and --open together are a usage error (exit 2), nothing started', async () => {
    const r = await run(['node', '--data-dir', join(dir, 'e'), ...flags(), '--closed', '--open'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /^provsync node: --closed and --open contradict each other \(see provsync node --help\)\n$/,
    )
  })
})
