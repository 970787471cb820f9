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
  startLine,
  startNode,
  stopAll,
} from '../../../test/cli/helpers.js'

// The artifact commands of the real binary against running nodes on loopback: A and B (B
// bootstraps from A) replicate artifacts through the artifact sync service; C runs alone. An
// operator grants the nodes a scope and a publisher the right to publish into it, the publisher
// publishes at A, a consumer reads at B, and the operator raises the scope's epoch and withdraws
// the publisher at A, which B follows.
const NETWORK = 'cli-artifacts-test'
const SCOPE = 'cluster/c1'
let dir: string
let a: RunningNode
let b: RunningNode
let c: RunningNode
let operatorKey: string
let strangerKey: string
let publisherKey: string
let content: Uint8Array

// Generous: eight engineers share two cores, and one command has taken 16 s under that load.
const { run, json } = cliIn(() => dir)
const getArgs = (node: RunningNode, name = 'main') => ['get', SCOPE, 'cluster_snapshot', name, ...at(node)]
const publishArgs = (version: string, epoch: string, node = a, file = join(dir, 'config.bin')) => [
  'publish',
  SCOPE,
  'cluster_snapshot',
  'main',
  '--version',
  version,
  '--epoch',
  epoch,
  '--file',
  file,
  '--key',
  publisherKey,
  ...at(node),
]
const grantArgs = (subject: string, right: string, node: RunningNode, epoch = '1', scope = SCOPE) => [
  'grant',
  subject,
  right,
  '--scope',
  scope,
  '--epoch',
  epoch,
  '-k',
  operatorKey,
  ...at(node),
]
const versionAt = (node: RunningNode, version: string) =>
  eventually(
    `version ${version} current at ${node.ready.dataDir}`,
    () => run([...getArgs(node), '--json']),
    (r) => r.code === 0 && JSON.parse(r.stdout).version === version,
  )

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-art-'))
  operatorKey = join(dir, 'operator.key')
  strangerKey = join(dir, 'stranger.key')
  publisherKey = join(dir, 'publisher.key')
  for (const [kind, file] of [
    ['--operator', operatorKey],
    ['--operator', strangerKey],
    ['--agent', publisherKey],
  ] as const)
    expect((await run(['keygen', kind, '--out', file])).code).toBe(0)
  // Every byte value and NULs: the content must come back exactly, not as text.
  content = new Uint8Array(Array.from({ length: 2048 }, (_, i) => (i * 7 + 3) % 256))
  await writeFile(join(dir, 'config.bin'), content)
  await writeFile(join(dir, 'big.bin'), new Uint8Array(2049))
  const flags = ['--network', NETWORK, '--trust', `${operatorKey}.pub`, '--metrics-port', '0']
  ;[a, b] = (await startLine(dir, ['a', 'b'], flags)) as [RunningNode, RunningNode]
  c = await startNode(['--data-dir', join(dir, 'c'), ...flags, ...FAST_LOOPBACK])
}, 180_000)

afterAll(() => stopAll([a, b, c], dir), 60_000)

describe('provsync grant, epoch, publish, get and artifacts on running nodes', { timeout: 240_000 }, () => {
  it('refuses a publish into a scope the node does not hold (out-of-scope) and a stranger operator’s grant, exit 4', async () => {
    const r = await run(publishArgs('1', '1'))
    expect(r.code).toBe(4)
    expect(r.stderr).toBe(
      `provsync: the node refused the artifact: out-of-scope (this node does not hold ${SCOPE})\n`,
    )
    const stranger = await run([
      ...grantArgs(a.ready.peerId, 'hold', a).slice(0, -4),
      '-k',
      strangerKey,
      ...at(a),
    ])
    expect(stranger.code).toBe(4)
    expect(stranger.stderr).toMatch(/^provsync: the node refused the grant: untrusted-operator[^\n]*\n$/)
  })

  it('grants hold to A and B (by peer id) and publish to the publisher (by .pub file)', async () => {
    for (const node of [a, b]) {
      const hold = await json(grantArgs(node.ready.peerId, 'hold', a, '1', 'cluster'))
      expect(hold).toMatchObject({ kind: 'grant', status: 'applied', right: 'hold', epoch: '1' })
    }
    const text = await run(grantArgs(`${publisherKey}.pub`, 'publish', a))
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^granted publish at epoch 1: [0-9a-f]{64}\n$/)
  })

  it('publishes 2,048 bytes at A; B gets them byte for byte; text comes out on stdout', async () => {
    const published = await json(publishArgs('41', '1'))
    expect(published).toMatchObject({ kind: 'artifact', status: 'applied', scope: SCOPE, version: '41' })
    await versionAt(b, '41')
    const out = join(dir, 'got.bin')
    expect((await run([...getArgs(b), '--out', out])).code).toBe(0)
    expect(new Uint8Array(await readFile(out))).toEqual(content)
    const view = await json(getArgs(b))
    expect(view).toMatchObject({ status: 'current', stale: false, epoch: '1', contentSize: 2048 })
    expect(view.content).toBe(Buffer.from(content).toString('hex'))
    await writeFile(join(dir, 'motd.txt'), 'maintenance at 09:00 ✓\n')
    const motd = ['publish', SCOPE, 'notice', 'motd', '--version', '1', '--epoch', '1', '--file', 'motd.txt']
    expect((await run([...motd, '--key', publisherKey, ...at(a)])).code).toBe(0)
    expect((await run(['get', SCOPE, 'notice', 'motd', ...at(a)])).stdout).toBe('maintenance at 09:00 ✓\n')
  })

  it('content above the inline limit is refused before anything is signed: one line, exit 2', async () => {
    const r = await run(publishArgs('42', '1', a, 'big.bin'))
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'provsync publish: big.bin is 2049 bytes, above the inline limit of 2048 bytes; larger content needs blobs, which publish does not store yet (see provsync publish --help)\n',
    )
  })

  it('get of a name with no version exits 1 with one line; --json says none', async () => {
    const r = await run(getArgs(b, 'other'))
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`provsync get: ${SCOPE} cluster_snapshot/other: no version\n`)
    expect(r.stdout).toBe('')
    expect(await json(getArgs(b, 'other'), 1)).toMatchObject({ status: 'none' })
  })

  it('a raised scope epoch refuses older epochs; the name falls back from 41@1 to 7@2 at A and at B', async () => {
    expect((await run(['epoch', 'cluster', '2', '-k', operatorKey, ...at(a)])).code).toBe(0)
    const stale = await run(publishArgs('50', '1'))
    expect(stale.code).toBe(4)
    expect(stale.stderr).toMatch(/refused the artifact: stale-epoch \(epoch 1 is below 2/)
    expect((await run(getArgs(a))).code).toBe(1)
    expect((await json(publishArgs('7', '2'))).status).toBe('applied')
    await versionAt(a, '7')
    await versionAt(b, '7')
  })

  it('artifacts --health lists the scope, its current versions and the refusals by reason', async () => {
    const view = await json(['artifacts', '--health', ...at(a)])
    expect(view.nodeKey).toBe(a.ready.publicKey)
    expect(view.scopes).toHaveLength(1)
    // notice/motd was published at epoch 1, below the raised minimum: it no longer counts.
    expect(view.scopes[0]).toMatchObject({ scope: SCOPE, records: 1, current: 1, gaps: 0 })
    const main = view.scopes[0].entries.find((e: { name: string }) => e.name === 'main')
    expect(main).toMatchObject({ family: 'cluster_snapshot', status: 'current', version: '7', epoch: '2' })
    expect(main.content).toBeUndefined()
    expect(view.health.refused).toMatchObject({
      'out-of-scope': 1,
      'stale-epoch': 1,
      'untrusted-operator': 1,
    })
    const text = await run(['artifacts', '--scope', SCOPE, ...at(b)])
    expect(text.stdout).toContain(`${SCOPE}  root `)
    expect(text.stdout).toContain('  cluster_snapshot/main  current 2/7\n')
    expect((await json(['artifacts', '--scope', 'cluster/c9', ...at(a)])).scopes).toEqual([])
  })

  it('/metrics serves the artifact series per scope: records, current, lag of arrivals, refusals', async () => {
    const scrape = async (node: RunningNode) => {
      const port = (node.ready as unknown as { metricsPort: number }).metricsPort
      return (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    }
    const atA = await scrape(a)
    expect(atA).toContain(`provsync_artifacts{scope="${SCOPE}"} 1`)
    expect(atA).toContain(`provsync_artifact_current_versions{scope="${SCOPE}"} 1`)
    expect(atA).toContain(`provsync_artifact_stale_current_versions{scope="${SCOPE}"} 0`)
    expect(atA).toContain('provsync_artifact_refusals_total{reason="stale-epoch"} 1')
    // B received its versions from A: their issue-to-arrival lag is observed there, not at A.
    const lagCount = (text: string) =>
      Number(
        /provsync_artifact_replication_lag_seconds_count\{scope="cluster\/c1"\} (\d+)/.exec(text)?.[1] ?? 0,
      )
    expect(lagCount(await scrape(b))).toBeGreaterThanOrEqual(2)
    expect(lagCount(atA)).toBe(0)
  })

  it('/metrics serves every artifact series the Grafana dashboard in docs/ops queries', async () => {
    const port = (a.ready as unknown as { metricsPort: number }).metricsPort
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const dashboard = await readFile(
      new URL('../../../docs/ops/grafana-dashboard.json', import.meta.url),
      'utf8',
    )
    const queried = [...new Set(dashboard.match(/provsync_artifact[a-z_]*/g) ?? [])]
    // Eight panels over nine series (records, current, stale, lag, holders, fetch, failures, denials, gaps, refusals).
    expect(queried.length).toBeGreaterThanOrEqual(9)
    const served = new Set([...text.matchAll(/^# TYPE (provsync_[a-z_]+) /gm)].map((m) => m[1]))
    const bases = (name: string) => [name, name.replace(/_(bucket|sum|count)$/, '')]
    expect(queried.filter((name) => !bases(name).some((b) => served.has(b)))).toEqual([])
    // And the dashboard's scope variable reads a series that carries the scope label.
    expect(text).toMatch(/^provsync_artifacts\{scope="/m)
  })

  it('a version published with --expires 1s is reported expired once it lapses, never current', async () => {
    const args = [
      'publish',
      SCOPE,
      'peer_directory',
      'edge',
      '--version',
      '1',
      '--epoch',
      '2',
      '--file',
      'motd.txt',
    ]
    expect((await run([...args, '--expires', '1s', '--key', publisherKey, ...at(a)])).code).toBe(0)
    await new Promise((r) => setTimeout(r, 1_100))
    const r = await run(['get', SCOPE, 'peer_directory', 'edge', ...at(a)])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`provsync get: ${SCOPE} peer_directory/edge: the current version has expired\n`)
  })

  it('withdrawing the publisher falls the name back to none at A and B; a re-grant at epoch 2 restores it', async () => {
    const withdraw = [
      'grant',
      `${publisherKey}.pub`,
      'publish',
      '--withdraw',
      '--epoch',
      '1',
      '--reason',
      'key leaked',
    ]
    const w = await run([...withdraw, '-k', operatorKey, ...at(a)])
    expect(w.code).toBe(0)
    expect(w.stdout).toMatch(/^withdrew publish at epoch 1: /)
    expect((await run(getArgs(a))).code).toBe(1)
    await eventually(
      'B falls back to none',
      () => run(getArgs(b)),
      (r) => r.code === 1,
    )
    expect((await run(grantArgs(`${publisherKey}.pub`, 'publish', a, '2'))).code).toBe(0)
    await versionAt(b, '7')
  })

  it('a node with no peer holding the scope answers stale only to --allow-stale, and says so', async () => {
    expect((await run(grantArgs(c.ready.peerId, 'hold', c))).code).toBe(0)
    expect((await run(grantArgs(`${publisherKey}.pub`, 'publish', c))).code).toBe(0)
    expect((await run(publishArgs('3', '1', c))).code).toBe(0)
    const refused = await run(getArgs(c))
    expect(refused.code).toBe(1)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toBe(
      `provsync get: ${SCOPE} cluster_snapshot/main: the scope is not fresh (no peer holding it reachable); --allow-stale answers from local state\n`,
    )
    const out = join(dir, 'stale.bin')
    const allowed = await run([...getArgs(c), '--allow-stale', '--out', out])
    expect(allowed.code).toBe(0)
    expect(allowed.stderr).toBe(
      `provsync get: ${SCOPE} cluster_snapshot/main: stale answer (epoch 1 version 3)\n`,
    )
    expect(new Uint8Array(await readFile(out))).toEqual(content)
  })
})
