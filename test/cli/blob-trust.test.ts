import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
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

// The blob protocol's hello follows a trust rotation, with the real binary on loopback. A and B
// hold the `trust` scope; C does not, so it stays on the genesis bundle. A puts a blob that an
// assertion references; the operators rotate the bundle at A (`provsync trust propose|sign|publish`)
// and A and B follow it live. B, restarted, starts on the rotated bundle (node.json) while A still
// runs on the one it followed: B reads the blob from A (before the blob service followed rotations,
// A's blob hello kept the genesis hash and refused B). C, left on the genesis bundle, is refused in
// one line (exit 4) and A counts the refusal as `trust-mismatch`. A, which followed the rotation
// live, takes an import signed by the operator the rotation added; C refuses it.
const NETWORK = 'cli-blob-trust-test'
let dir: string
let a: RunningNode | undefined
let b: RunningNode | undefined
let c: RunningNode | undefined
let blobFile: string
let blobId: string
const op = (i: number) => join(dir, `op${i}.key`)

const { run, json } = cliIn(() => dir)
const flags = () => ['--network', NETWORK, '--trust', `${op(1)}.pub`, ...FAST_LOOPBACK]
const start = (name: string, ...more: string[]) =>
  startNode(['--data-dir', join(dir, name), ...flags(), '--metrics-port', '0', ...more])

async function metric(node: RunningNode, line: string): Promise<number> {
  const text = await (
    await fetch(`http://127.0.0.1:${(node.ready as { metricsPort?: number }).metricsPort}/metrics`)
  ).text()
  const found = text.split('\n').find((l) => l.startsWith(line))
  return found === undefined ? 0 : Number(found.split(' ').at(-1))
}

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-blob-trust-'))
  for (const i of [1, 2]) expect((await run(['keygen', '--operator', '--out', op(i)])).code).toBe(0)
  expect((await run(['keygen', '--agent', '--out', join(dir, 'publisher.key')])).code).toBe(0)
  a = await start('a')
  b = await start('b', '--bootstrap', a.ready.addresses[0]!)
  c = await start('c', '--bootstrap', a.ready.addresses[0]!)
  const grant = (subject: string, right: string) =>
    json(['grant', subject, right, '--scope', 'trust', '--epoch', '1', '-k', op(1), ...at(a!)])
  for (const node of [a, b]) await grant(node.ready.peerId, 'hold')
  await grant(`${join(dir, 'publisher.key')}.pub`, 'publish')
  blobFile = join(dir, 'evidence.bin')
  writeFileSync(blobFile, randomBytes(600_000))
  blobId = (await json(['blob', 'put', blobFile, '--chunk-size', '65536', ...at(a)])).id
  // A peer may fetch a blob only if it may hold a record that references it.
  await json(['record', 'photos', 'offsite', 'evidence', '1', '--evidence', blobId, ...at(a)])
}, 240_000)

afterAll(() => stopAll([a, b, c], dir), 60_000)

describe('provsync blob after a trust rotation', { timeout: 240_000 }, () => {
  it('a node restarted on the rotated bundle reads a blob from one that followed it live', async () => {
    const proposal = join(dir, 'v1.json')
    const made = await run([
      'trust',
      'propose',
      proposal,
      '--version',
      '1',
      '--operator',
      `${op(1)}.pub`,
      '--operator',
      `${op(2)}.pub`,
      '--threshold',
      '1',
      ...at(a!),
    ])
    expect(made.code).toBe(0)
    for (const i of [1, 2]) expect((await run(['trust', 'sign', proposal, '-k', op(i)])).code).toBe(0)
    const publisher = join(dir, 'publisher.key')
    expect(
      (await json(['trust', 'publish', proposal, '-k', publisher, '--epoch', '1', ...at(a!)])).version,
    ).toBe('1')
    await eventually(
      'B follows version 1',
      () => json(['trust', 'show', ...at(b!)]),
      (v) => v.version === '1',
    )
    expect(await b!.stop()).toBe(0)
    b = await start('b', '--bootstrap', a!.ready.addresses[0]!)
    expect(b.ready).toMatchObject({ trustVersion: '1', trustedOperators: 2 })
    const out = join(dir, 'b.bin')
    const got = await json(['blob', 'get', blobId, '--out', out, '--from', a!.ready.peerId, ...at(b)])
    expect(got.size).toBe(600_000)
    expect(readFileSync(out).equals(readFileSync(blobFile))).toBe(true)
    expect(await metric(a!, 'provsync_blob_refusals_total{reason="trust-mismatch"}')).toBe(0)
  })

  it('import trusts the operators added by a rotation at a node that followed it live', async () => {
    // op2 joined the bundle at version 1: a bundle it signs is taken at A (which never restarted).
    const signed = join(dir, 'op2.bundle')
    await json(['export', signed, '--key', op(2), ...at(b!)])
    const imported = await run(['import', signed, ...at(a!)])
    expect(imported.stderr).toBe('')
    expect(imported.code).toBe(0)
    // C is still on version 0 (op1 alone): the same bundle is refused there.
    const refused = await run(['import', signed, ...at(c!)])
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain('untrusted-signature')
  })

  it('a node left on the old bundle is refused in one line (exit 4), counted at the holder', async () => {
    expect((await json(['trust', 'show', ...at(c!)])).version).toBe('0')
    const before = await metric(a!, 'provsync_blob_refusals_total{reason="trust-mismatch"}')
    const out = join(dir, 'c.bin')
    const refused = await run(['blob', 'get', blobId, '--out', out, '--from', a!.ready.peerId, ...at(c!)])
    expect(refused.code).toBe(4)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toMatch(
      new RegExp(
        `^provsync: blob ${blobId} is not held here and no peer delivered it: [^\\n]*${a!.ready.peerId} refused \\(wrong-network\\): this node serves network ${NETWORK} under another trust bundle[^\\n]*\\n$`,
      ),
    )
    expect(await metric(a!, 'provsync_blob_refusals_total{reason="trust-mismatch"}')).toBeGreaterThan(before)
    // Not an offence: the stale node is not blamed for being behind.
    expect(await metric(a!, 'provsync_blob_offences_total')).toBe(0)
  })
})
