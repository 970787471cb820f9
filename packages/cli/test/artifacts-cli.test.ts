import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, at, json, provsync, type RunningNode, startLine } from '../../../test/cli/helpers.js'

// The artifact commands of the real binary against a running node on loopback: an operator
// grants the node a scope and a publisher the right to publish into it, the publisher publishes,
// a consumer reads, and the operator raises the scope's epoch and withdraws the publisher.
const NETWORK = 'cli-artifacts-test'
const SCOPE = 'cluster/c1'
let dir: string
let a: RunningNode
let operatorKey: string
let strangerKey: string
let publisherKey: string
let content: Uint8Array

const run = (args: readonly string[]) => provsync(args, { cwd: dir })
const publishArgs = (version: string, epoch: string, file = join(dir, 'config.bin')) => [
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
  ...at(a),
]

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
  // Every byte value and a NUL: the content must come back exactly, not as text.
  content = new Uint8Array(Array.from({ length: 2048 }, (_, i) => (i * 7 + 3) % 256))
  await writeFile(join(dir, 'config.bin'), content)
  await writeFile(join(dir, 'big.bin'), new Uint8Array(2049))
  const flags = ['--network', NETWORK, '--trust', `${operatorKey}.pub`, '--metrics-port', '0']
  ;[a] = (await startLine(dir, ['a'], flags)) as [RunningNode]
}, 120_000)

afterAll(async () => {
  await Promise.allSettled([a?.stop()])
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
}, 60_000)

describe(
  'provsync grant, epoch, publish, get and artifacts against a running node',
  { timeout: 90_000 },
  () => {
    it('a publish into a scope the node does not hold is refused: out-of-scope, exit 4, one line', async () => {
      const r = await run(publishArgs('1', '1'))
      expect(r.code).toBe(4)
      expect(r.stderr).toBe(
        `provsync: the node refused the artifact: out-of-scope (this node does not hold ${SCOPE})\n`,
      )
    })

    it('a grant signed by a key outside the trust bundle is refused: untrusted-operator, exit 4', async () => {
      const r = await run([
        'grant',
        a.ready.peerId,
        'hold',
        '--scope',
        'cluster',
        '--epoch',
        '1',
        '-k',
        strangerKey,
        ...at(a),
      ])
      expect(r.code).toBe(4)
      expect(r.stderr).toMatch(/^provsync: the node refused the grant: untrusted-operator/)
      expect(r.stderr.split('\n')).toHaveLength(2)
    })

    it('grants hold to the node (by peer id) and publish to the publisher (by .pub file)', async () => {
      const hold = await json([
        'grant',
        a.ready.peerId,
        'hold',
        '--scope',
        'cluster',
        '--epoch',
        '1',
        '-k',
        operatorKey,
        ...at(a),
      ])
      expect(hold).toMatchObject({ kind: 'grant', status: 'applied', right: 'hold', epoch: '1' })
      const text = await run([
        'grant',
        `${publisherKey}.pub`,
        'publish',
        '--scope',
        SCOPE,
        '--epoch',
        '1',
        '-k',
        operatorKey,
        ...at(a),
      ])
      expect(text.code).toBe(0)
      expect(text.stdout).toMatch(/^granted publish at epoch 1: [0-9a-f]{64}\n$/)
    })

    it('publishes 2,048 bytes inline and get returns them byte for byte, on stdout and to --out', async () => {
      const published = await json(publishArgs('41', '1'))
      expect(published).toMatchObject({
        kind: 'artifact',
        status: 'applied',
        scope: SCOPE,
        version: '41',
        epoch: '1',
      })
      const out = join(dir, 'got.bin')
      expect((await run(['get', SCOPE, 'cluster_snapshot', 'main', '--out', out, ...at(a)])).code).toBe(0)
      expect(new Uint8Array(await readFile(out))).toEqual(content)
      const view = await json(['get', SCOPE, 'cluster_snapshot', 'main', ...at(a)])
      expect(view).toMatchObject({
        status: 'current',
        stale: false,
        version: '41',
        epoch: '1',
        contentSize: 2048,
      })
      expect(view.content).toBe(Buffer.from(content).toString('hex'))
    })

    it('content above the inline limit is refused before anything is signed: one line, exit 2', async () => {
      const r = await run(publishArgs('42', '1', 'big.bin'))
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(
        'provsync publish: big.bin is 2049 bytes, above the inline limit of 2048 bytes; larger content needs blobs, which publish does not store yet (see provsync publish --help)\n',
      )
    })

    it('get of a name with no version exits 1 with one line; --json says none', async () => {
      const r = await run(['get', SCOPE, 'cluster_snapshot', 'other', ...at(a)])
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(`provsync get: ${SCOPE} cluster_snapshot/other: no version\n`)
      expect(r.stdout).toBe('')
      const j = await provsync(['get', SCOPE, 'cluster_snapshot', 'other', '--json', ...at(a)])
      expect(j.code).toBe(1)
      expect(JSON.parse(j.stdout)).toMatchObject({ status: 'none' })
    })

    it('a raised scope epoch refuses older epochs and the name falls back from 41@1 to 7@2', async () => {
      expect((await run(['epoch', 'cluster', '2', '-k', operatorKey, ...at(a)])).code).toBe(0)
      const stale = await run(publishArgs('50', '1'))
      expect(stale.code).toBe(4)
      expect(stale.stderr).toMatch(/refused the artifact: stale-epoch \(epoch 1 is below 2/)
      expect((await run(['get', SCOPE, 'cluster_snapshot', 'main', ...at(a)])).code).toBe(1)
      expect((await json(publishArgs('7', '2'))).status).toBe('applied')
      expect(await json(['get', SCOPE, 'cluster_snapshot', 'main', ...at(a)])).toMatchObject({
        version: '7',
        epoch: '2',
      })
    })

    it('artifacts --health lists the scope, its current version and the refusals by reason', async () => {
      const view = await json(['artifacts', '--health', ...at(a)])
      expect(view.nodeKey).toBe(a.ready.publicKey)
      expect(view.scopes).toHaveLength(1)
      expect(view.scopes[0]).toMatchObject({ scope: SCOPE, records: 1, current: 1, gaps: 0 })
      expect(view.scopes[0].entries).toEqual([
        expect.objectContaining({
          family: 'cluster_snapshot',
          name: 'main',
          status: 'current',
          version: '7',
        }),
      ])
      expect(view.scopes[0].entries[0].content).toBeUndefined()
      expect(view.health.refused).toMatchObject({
        'out-of-scope': 1,
        'stale-epoch': 1,
        'untrusted-operator': 1,
      })
      const text = await run(['artifacts', '--scope', SCOPE, ...at(a)])
      expect(text.stdout).toContain(`${SCOPE}  root `)
      expect(text.stdout).toContain('  cluster_snapshot/main  current 2/7\n')
      expect((await json(['artifacts', '--scope', 'cluster/c9', ...at(a)])).scopes).toEqual([])
    })

    it('/metrics serves the artifact series per scope, with refusals by reason', async () => {
      const port = (a.ready as unknown as { metricsPort: number }).metricsPort
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      expect(text).toContain(`provsync_artifacts{scope="${SCOPE}"} 1`)
      expect(text).toContain(`provsync_artifact_current_versions{scope="${SCOPE}"} 1`)
      expect(text).toContain(`provsync_artifact_stale_current_versions{scope="${SCOPE}"} 0`)
      expect(text).toContain('provsync_artifact_refusals_total{reason="stale-epoch"} 1')
      expect(text).toMatch(/# TYPE provsync_artifact_replication_lag_seconds histogram/)
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
        'config.bin',
      ]
      expect((await run([...args, '--expires', '1s', '--key', publisherKey, ...at(a)])).code).toBe(0)
      await new Promise((r) => setTimeout(r, 1_100))
      const r = await run(['get', SCOPE, 'peer_directory', 'edge', ...at(a)])
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(`provsync get: ${SCOPE} peer_directory/edge: the current version has expired\n`)
    })

    it('withdrawing the publisher falls the name back to none; a re-grant at a higher epoch restores it', async () => {
      const w = await run([
        'grant',
        `${publisherKey}.pub`,
        'publish',
        '--withdraw',
        '--epoch',
        '1',
        '--reason',
        'key leaked',
        '-k',
        operatorKey,
        ...at(a),
      ])
      expect(w.code).toBe(0)
      expect(w.stdout).toMatch(/^withdrew publish at epoch 1: /)
      expect((await run(['get', SCOPE, 'cluster_snapshot', 'main', ...at(a)])).code).toBe(1)
      expect(
        (
          await run([
            'grant',
            `${publisherKey}.pub`,
            'publish',
            '--scope',
            SCOPE,
            '--epoch',
            '2',
            '-k',
            operatorKey,
            ...at(a),
          ])
        ).code,
      ).toBe(0)
      expect(await json(['get', SCOPE, 'cluster_snapshot', 'main', ...at(a)])).toMatchObject({ version: '7' })
    })
  },
)
