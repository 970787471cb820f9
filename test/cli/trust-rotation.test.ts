import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBundleContent } from '@provsync/artifacts/records'
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

// Trust-bundle rotation with the real binary on loopback. Three nodes start on a bundle of three
// operator keys (threshold 2, the default majority) and hold the `trust` scope; the operators
// rotate twice at A (2-of-3 signatures each time, `provsync trust propose|sign|publish`) while C
// is stopped; a link below the threshold is refused by `trust publish` and, published anyway as
// a plain artifact, by every node's chain. C, started again, follows both links and refuses the
// bad one; crdt's operator set follows each rotation (a removed operator's revocation is refused);
// a restart keeps the rotated bundle (node.json).
const NETWORK = 'cli-trust-test'
let dir: string
let a: RunningNode | undefined
let b: RunningNode | undefined
let c: RunningNode | undefined
const op = (i: number) => join(dir, `op${i}.key`)
let publisher: string

const { run, json } = cliIn(() => dir)
const genesis = () => ['--trust', `${op(1)}.pub`, '--trust', `${op(2)}.pub`, '--trust', `${op(3)}.pub`]
const flags = () => ['--network', NETWORK, ...genesis(), ...FAST_LOOPBACK]
const pub = async (i: number) => (await readFile(`${op(i)}.pub`, 'utf8')).trim()
const show = (node: RunningNode) => json(['trust', 'show', ...at(node)])

/** Proposes bundle `version` of keys `keys` at A and signs it with `signers`; returns the file. */
async function proposal(version: number, keys: number[], signers: number[], threshold = 2) {
  const file = join(dir, `v${version}-${keys.join('')}-${signers.join('')}.json`)
  const operators = keys.flatMap((i) => ['--operator', `${op(i)}.pub`])
  const made = await run([
    'trust',
    'propose',
    file,
    '--version',
    `${version}`,
    ...operators,
    '--threshold',
    `${threshold}`,
    ...at(a!),
  ])
  expect(made.code).toBe(0)
  for (const i of signers) expect((await run(['trust', 'sign', file, '-k', op(i)])).code).toBe(0)
  return file
}

const revokeBy = (i: number, node: RunningNode) =>
  run([
    'revoke',
    '--signer',
    `${join(dir, 'stray.key')}.pub`,
    '--reason',
    `by op${i}`,
    '--operator-key',
    op(i),
    ...at(node),
  ])

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-trust-'))
  publisher = join(dir, 'publisher.key')
  for (const i of [1, 2, 3, 4, 5]) expect((await run(['keygen', '--operator', '--out', op(i)])).code).toBe(0)
  for (const k of [publisher, join(dir, 'stray.key')])
    expect((await run(['keygen', '--agent', '--out', k])).code).toBe(0)
  a = await startNode(['--data-dir', join(dir, 'a'), ...flags()])
  b = await startNode(['--data-dir', join(dir, 'b'), ...flags(), '--bootstrap', a.ready.addresses[0]!])
  c = await startNode(['--data-dir', join(dir, 'c'), ...flags(), '--bootstrap', a.ready.addresses[0]!])
  const grant = (subject: string, right: string) =>
    json(['grant', subject, right, '--scope', 'trust', '--epoch', '1', '-k', op(1), ...at(a!)])
  for (const node of [a, b, c]) await grant(node.ready.peerId, 'hold')
  await grant(`${publisher}.pub`, 'publish')
  // C goes offline before the first rotation.
  expect(await c.stop()).toBe(0)
}, 240_000)

afterAll(() => stopAll([a, b, c], dir), 60_000)

describe('provsync trust: rotation of the trust bundle', { timeout: 300_000 }, () => {
  it('starts from --trust: version 0, the default threshold a majority of three', async () => {
    const view = await show(a!)
    expect(view).toMatchObject({
      networkId: NETWORK,
      version: '0',
      threshold: 2,
      scope: 'trust',
      name: 'root',
    })
    expect(view.keys).toEqual((await Promise.all([1, 2, 3].map(pub))).sort())
  })

  it('two rotations signed 2 of 3 take effect at A and B, and crdt obeys the new operators', async () => {
    expect((await revokeBy(3, a!)).code).toBe(0) // op3 is trusted before the rotation
    const first = await proposal(1, [1, 2, 4], [1, 2])
    const published = await json(['trust', 'publish', first, '-k', publisher, '--epoch', '1', ...at(a!)])
    expect(published).toMatchObject({ version: '1', threshold: 2 })
    expect(published.keys).toEqual((await Promise.all([1, 2, 4].map(pub))).sort())
    await eventually(
      'version 1 at B',
      () => show(b!),
      (v) => v.version === '1',
    )
    // op3 left the bundle: its revocations are refused from now on, op4's are taken (crdt follows).
    const byRemoved = await revokeBy(3, a!)
    expect(byRemoved.code).toBe(4)
    expect(byRemoved.stderr).toMatch(/untrusted-operator/)
    expect((await revokeBy(4, a!)).code).toBe(0)

    const second = await proposal(2, [1, 4, 5], [1, 4])
    expect(
      (await json(['trust', 'publish', second, '-k', publisher, '--epoch', '1', ...at(a!)])).version,
    ).toBe('2')
    await eventually(
      'version 2 at B',
      () => show(b!),
      (v) => v.version === '2',
    )
    expect((await revokeBy(2, b!)).code).toBe(4) // op2 left at the second rotation
  })

  it('a link below the threshold is refused and changes nothing', async () => {
    const weak = await proposal(3, [4, 5], [4])
    const refused = await run(['trust', 'publish', weak, '-k', publisher, '--epoch', '1', ...at(a!)])
    expect(refused.code).toBe(4)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toBe(
      'provsync: trust link refused (below-threshold): version 3: 1 of the 2 signatures the bundle in force requires\n',
    )
    // Published anyway as a plain artifact: stored, but every node's chain refuses the link.
    const file = JSON.parse(await readFile(weak, 'utf8'))
    const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))
    const content = encodeBundleContent(
      3n,
      { threshold: file.threshold, keys: file.operators.map(hex) },
      file.signatures.map((s: { key: string; signature: string }) => ({
        key: hex(s.key),
        signature: hex(s.signature),
      })),
    )
    await writeFile(join(dir, 'weak.bin'), content)
    const stored = await run([
      'publish',
      'trust',
      'trust_bundle',
      'root',
      '--version',
      '3',
      '--epoch',
      '1',
      '--file',
      join(dir, 'weak.bin'),
      '--key',
      publisher,
      ...at(a!),
    ])
    expect(stored.code).toBe(0)
    for (const node of [a!, b!]) {
      const view = await eventually(
        'the link refused',
        () => show(node),
        (v) => v.linksRefused['below-threshold'] === 1,
      )
      expect(view.version).toBe('2')
      expect(view.keys).toEqual((await Promise.all([1, 4, 5].map(pub))).sort())
    }
  })

  it('C, offline during both rotations, follows the chain and refuses the bad link', async () => {
    c = await startNode(['--data-dir', join(dir, 'c'), ...flags(), '--bootstrap', a!.ready.addresses[0]!])
    // C starts on the flags' bundle (version 0); on a loaded machine its follower may already have
    // walked the chain from A before the ready line is printed, but never to the refused link 3.
    expect(c.ready).toMatchObject({ trustedOperators: 3 })
    expect(['0', '2']).toContain((c.ready as { trustVersion?: string }).trustVersion)
    const view = await eventually(
      'C on version 2',
      () => show(c!),
      (v) => v.version === '2',
    )
    expect(view.keys).toEqual((await Promise.all([1, 4, 5].map(pub))).sort())
    expect(view.linksRefused).toEqual({ 'below-threshold': 1 })
    expect((await revokeBy(3, c)).code).toBe(4)
    const remembered = JSON.parse(await readFile(join(dir, 'c', 'node.json'), 'utf8'))
    expect(remembered).toMatchObject({ trustVersion: '2', trustThreshold: 2 })
  })

  it('a restart keeps the rotated bundle, with the same --trust or none', async () => {
    expect(await b!.stop()).toBe(0)
    b = await startNode(['--data-dir', join(dir, 'b'), ...flags()])
    expect(b.ready).toMatchObject({ trustVersion: '2', trustedOperators: 3 })
    expect((await show(b)).keys).toEqual((await Promise.all([1, 4, 5].map(pub))).sort())
    expect(await b.stop()).toBe(0)
    b = await startNode(['--data-dir', join(dir, 'b'), '--network', NETWORK, ...FAST_LOOPBACK])
    expect(b.ready).toMatchObject({ trustVersion: '2' })
    expect((await revokeBy(4, b)).code).toBe(0)
  })
})
