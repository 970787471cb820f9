import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
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
} from './helpers.js'

// Blobs in a closed network, with the real binary on loopback. A and B are provisioned while they
// run open (each gets its `member` grant), then restart `--closed`, B bootstrapping from A; C, never
// granted anything, runs open on the same network and trust and dials A. A puts a blob that an
// assertion references. C's `provsync blob get` from A is refused before any request (exit 4, one
// line naming `not-admitted`), C learns nothing of the blob, and A's metrics count the refusal;
// member B reads the blob from A.
const NETWORK = 'cli-blob-closed-test'
let dir: string
let a: RunningNode | undefined
let b: RunningNode | undefined
let c: RunningNode | undefined
let operatorKey: string
let blobFile: string
let blobId: string

const { run, json } = cliIn(() => dir)
const flags = () => ['--network', NETWORK, '--trust', `${operatorKey}.pub`, ...FAST_LOOPBACK]
const start = (name: string, ...more: string[]) =>
  startNode(['--data-dir', join(dir, name), ...flags(), '--metrics-port', '0', ...more])

async function metric(node: RunningNode, line: string): Promise<number> {
  const port = (node.ready as { metricsPort?: number }).metricsPort
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const found = text.split('\n').find((l) => l.startsWith(line))
  return found === undefined ? 0 : Number(found.split(' ').at(-1))
}

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-blob-closed-'))
  operatorKey = join(dir, 'operator.key')
  expect((await run(['keygen', '--operator', '--out', operatorKey])).code).toBe(0)
  // Provisioning: each member runs open once, alone, and is given its member grant.
  for (const name of ['a', 'b']) {
    const open = await start(name)
    await json(['grant', open.ready.peerId, 'member', '--epoch', '1', '-k', operatorKey, ...at(open)])
    expect(await open.stop()).toBe(0)
  }
  a = await start('a', '--closed')
  b = await start('b', '--closed', '--bootstrap', a.ready.addresses[0]!)
  c = await start('c', '--bootstrap', a.ready.addresses[0]!)
  blobFile = join(dir, 'evidence.bin')
  writeFileSync(blobFile, randomBytes(300_000))
  blobId = (await json(['blob', 'put', blobFile, '--chunk-size', '65536', ...at(a)])).id
  // A peer may fetch a blob only if it may hold a record that references it.
  await json(['record', 'photos', 'offsite', 'evidence', '1', '--evidence', blobId, ...at(a)])
}, 240_000)

afterAll(() => stopAll([a, b, c], dir), 60_000)

describe('provsync blob in a closed network', { timeout: 240_000 }, () => {
  it('a non-member is refused in one line (exit 4) naming not-admitted, counted at the member', async () => {
    expect(a!.ready).toMatchObject({ closed: true })
    expect(c!.ready).toMatchObject({ closed: false })
    const out = join(dir, 'c.bin')
    const refused = await run(['blob', 'get', blobId, '--out', out, '--from', a!.ready.peerId, ...at(c!)])
    expect(refused.code).toBe(4)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toMatch(
      new RegExp(
        `^provsync: blob ${blobId} is not held here and no peer delivered it: [^\\n]*${a!.ready.peerId} refused \\(not-admitted\\): no live member grant\\n$`,
      ),
    )
    expect(existsSync(out)).toBe(false)
    expect(await metric(a!, 'provsync_blob_refusals_total{reason="not-admitted"}')).toBe(1)
    // Refused before any request: nothing was served or even looked up for C.
    expect(await metric(a!, 'provsync_blob_served_bytes_total')).toBe(0)
    expect(await metric(a!, 'provsync_blob_refusals_total{reason="unauthorized"}')).toBe(0)
    expect(await metric(a!, 'provsync_blob_offences_total')).toBe(0)
    // C holds nothing of the blob, and no record that references it either.
    expect((await json(['blob', 'stat', blobId, ...at(c!)])).manifest).toBe(false)
    expect((await json(['status', ...at(c!)])).stores).toContainEqual(
      expect.objectContaining({ store: 'assertions', count: 0 }),
    )
  })

  it('a member reads it', async () => {
    await eventually(
      'the referencing assertion at member B',
      async () => (await json(['status', ...at(b!)])).stores,
      (stores: Array<{ store: string; count: number }>) =>
        stores.some((s) => s.store === 'assertions' && s.count === 1),
    )
    const out = join(dir, 'b.bin')
    const got = await json(['blob', 'get', blobId, '--out', out, ...at(b!)])
    expect(got.size).toBe(300_000)
    expect(readFileSync(out).equals(readFileSync(blobFile))).toBe(true)
    expect(await metric(a!, 'provsync_blob_served_bytes_total')).toBe(300_000)
    expect(await metric(a!, 'provsync_blob_refusals_total{reason="not-admitted"}')).toBe(1)
  })
})
