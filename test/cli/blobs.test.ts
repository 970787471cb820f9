import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  assertBuilt,
  at,
  eventually,
  FAST_LOOPBACK,
  json,
  provsync,
  type RunningNode,
  startLine,
  startNode,
} from './helpers.js'

// Each test runs a dozen CLI processes against four daemons: on a loaded machine that takes
// well over vitest's default 30 s, hence 180 s per test.
// The `provsync` binary against real daemons on loopback: A and B in a line (B bootstraps from A),
// and D, E standalone (air-gapped: no bootstrap, no mDNS) on the same network and trust.
const NETWORK = 'cli-blobs-test'
let dir: string
let a: RunningNode
let b: RunningNode
let d: RunningNode
let e: RunningNode
let operatorKey: string
let flags: string[]
let blobFile: string
let blobId: string

const roots = async (node: RunningNode) =>
  (await json(['status', ...at(node)])).stores.map(
    (s: { store: string; root: string }) => `${s.store}:${s.root}`,
  )
// biome-ignore lint/suspicious/noExplicitAny: the --json view, read field by field
const viewOf = async (node: RunningNode): Promise<any[]> => {
  const v = await json(['view', ...at(node)])
  return v.entries ?? v
}
const components = async (node: RunningNode) =>
  (await viewOf(node)).map((e) => ({ coordinate: e.coordinate, run: e.run, hlc: e.hlc }))

beforeAll(async () => {
  assertBuilt()
  dir = await mkdtemp(join(tmpdir(), 'provsync-cli-blobs-'))
  expect((await provsync(['keygen', '--operator', '--out', 'operator.key'], { cwd: dir })).code).toBe(0)
  operatorKey = join(dir, 'operator.key')
  flags = ['--network', NETWORK, '--trust', `${operatorKey}.pub`]
  ;[a, b] = (await startLine(dir, ['a', 'b'], flags)) as [RunningNode, RunningNode]
  d = await startNode(['--data-dir', join(dir, 'd'), ...flags, ...FAST_LOOPBACK])
  e = await startNode(['--data-dir', join(dir, 'e'), ...flags, ...FAST_LOOPBACK, '--blob-budget', '1MiB'])
  for (let i = 0; i < 5; i++)
    expect((await provsync(['record', 'photos', 'offsite', `host-${i}`, String(i + 1), ...at(a)])).code).toBe(
      0,
    )
  blobFile = join(dir, 'evidence.bin')
  writeFileSync(blobFile, randomBytes(3 * 1024 * 1024 + 123))
  blobId = (await json(['blob', 'put', blobFile, '--chunk-size', '65536', ...at(a)])).id
  // A peer may fetch a blob only if it may hold a record that references it: A's own assertion does.
  const recorded = await json([
    'record',
    'photos',
    'offsite',
    'evidence',
    '1',
    '--evidence',
    blobId,
    ...at(a),
  ])
  expect(recorded.evidence).toBe(blobId)
}, 180_000)

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop(), d?.stop(), e?.stop()])
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('provsync blob', () => {
  it('puts a file on one node and reads it, verified, from another', async () => {
    const stat = await json(['blob', 'stat', blobId, ...at(a)])
    expect(stat).toMatchObject({
      manifest: true,
      chunks: 49,
      held: 49,
      pinned: true,
      local: true,
      size: 3 * 1024 * 1024 + 123,
    })
    expect((await json(['blob', 'stat', blobId, ...at(b)])).manifest).toBe(false)
    const out = join(dir, 'got.bin')
    const got = await json(['blob', 'get', blobId, '--out', out, '--from', a.ready.peerId, ...at(b)])
    expect(got.size).toBe(3 * 1024 * 1024 + 123)
    expect(readFileSync(out).equals(readFileSync(blobFile))).toBe(true)
    expect(await json(['blob', 'stat', blobId, ...at(b)])).toMatchObject({
      held: 49,
      pinned: false,
      local: false,
    })
  }, 180_000)

  it('pins and unpins; a pinned blob survives a budget, an unpinned one is evicted down to it', async () => {
    // E has no connection to A: connect it, then read under a 1 MiB budget.
    expect((await provsync(['connect', a.ready.addresses[0]!, ...at(e)])).code).toBe(0)
    expect((await json(['blob', 'pin', blobId, '--from', a.ready.peerId, ...at(e)])).pinned).toBe(true)
    await json(['blob', 'get', blobId, '--out', join(dir, 'e.bin'), '--from', a.ready.peerId, ...at(e)])
    expect((await json(['blob', 'stat', blobId, ...at(e)])).held).toBe(49)
    const unpinned = await json(['blob', 'unpin', blobId, ...at(e)])
    expect(unpinned.pinned).toBe(false)
    expect(unpinned.store.unpinnedBytes).toBeLessThanOrEqual(1024 * 1024)
    expect((await json(['blob', 'stat', blobId, ...at(e)])).held).toBeLessThanOrEqual(16)
  }, 180_000)

  it("serves a blob only once a record references it: supersede --evidence on A, then B reads it from the record's source", async () => {
    const file = join(dir, 'late.bin')
    writeFileSync(file, randomBytes(200_000))
    const id = (await json(['blob', 'put', file, ...at(a)])).id
    const out = join(dir, 'late-b.bin')
    const denied = await provsync(['blob', 'get', id, '--out', out, '--from', a.ready.peerId, ...at(b)])
    expect(denied.code).toBe(4)
    expect(denied.stderr.trim().split('\n')).toHaveLength(1)
    expect(denied.stderr).toContain('is not held here')
    const unknown = await provsync(['record', 'v', 'd', 'o', '1', '--evidence', 'cd'.repeat(32), ...at(a)])
    expect(unknown.code).toBe(4)
    expect(unknown.stderr).toMatch(/^provsync: evidence blob (cd)+ is not held by this node: [^\n]*\n$/)
    const bad = await provsync(['record', 'v', 'd', 'o', '1', '--evidence', 'xyz', ...at(a)])
    expect(bad.code).toBe(2)
    expect((await provsync(['keygen', '--agent', '--out', 'agent.key'], { cwd: dir })).code).toBe(0)
    const target = 'ef'.repeat(32)
    const agentFlags = ['--kind', 'invalidate', '--reason', 'bad copy', '--agent-key', join(dir, 'agent.key')]
    const written = await json(['supersede', target, ...agentFlags, '--evidence', id, ...at(a)])
    expect(written).toMatchObject({ status: 'applied', evidence: id })
    expect((await provsync(['supersede', target, ...agentFlags, ...at(a)])).stdout).not.toContain(
      'evidence blob',
    )
    await eventually(
      'B pulls the supersession',
      () => json(['supersessions', target, ...at(b)]),
      (v) => v.superseded === true,
    )
    // no --from: B asks the peer the supersession came from (A)
    const got = await json(['blob', 'get', id, '--out', out, ...at(b)])
    expect(got.size).toBe(200_000)
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true)
  }, 180_000)

  it('refuses bad arguments (2), and a blob no peer holds in one line (4)', async () => {
    const bad = await provsync(['blob', 'stat', 'xyz', ...at(a)])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('is not a blob id')
    expect((await provsync(['blob', 'get', blobId, ...at(a)])).code).toBe(2) // no --out
    expect((await provsync(['blob', 'frob', blobId, ...at(a)])).code).toBe(2)
    const missing = await provsync(['blob', 'get', 'ab'.repeat(32), '--out', join(dir, 'x'), ...at(d)])
    expect(missing.code).toBe(4)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
    expect(missing.stderr).toContain('is not held here')
  }, 180_000)
})

describe('provsync export and import', () => {
  let bundle: string

  it('exports records, ledger and pinned blobs from one node; another imports them whole, offline', async () => {
    bundle = join(dir, 'a.bundle')
    const exported = await json(['export', bundle, '--blobs', 'pinned', '--key', operatorKey, ...at(a)])
    expect(exported.parts.map((p: { kind: string }) => p.kind)).toEqual([
      'blob-manifests',
      'blob-chunks',
      'records',
      'records',
      'records',
      'ledger',
    ])
    const imported = await json(['import', bundle, ...at(d)])
    expect(imported.provenance).toBe(
      `imported from bundle ${exported.bundleHash}, signed by ${exported.signer}`,
    )
    expect(imported.blobs).toEqual({ manifests: 2, chunks: 49 + 1 }) // and late.bin of the test above
    expect(imported.records.assertions.applied).toBe(6)
    expect(await roots(d)).toEqual(await roots(a))
    expect(await components(d)).toEqual(await components(a))
    // The import's provenance: each assertion came "via" the bundle's signer.
    for (const entry of await viewOf(d)) expect(entry.provenance.via.key).toBe(exported.signer)
    expect(await json(['blob', 'stat', blobId, ...at(d)])).toMatchObject({ held: 49, pinned: true })
    const out = join(dir, 'd.bin')
    await json(['blob', 'get', blobId, '--out', out, ...at(d)])
    expect(readFileSync(out).equals(readFileSync(blobFile))).toBe(true)
  }, 180_000)

  it('refuses a replayed, tampered or untrusted bundle in one line (4), changing nothing', async () => {
    const before = await roots(e)
    const replay = await provsync(['import', bundle, ...at(d)])
    expect(replay.code).toBe(4)
    expect(replay.stderr).toMatch(/^provsync: bundle refused \(replayed\): [^\n]*\n$/)
    const bytes = readFileSync(bundle)
    bytes[bytes.length - 100]! ^= 4
    const tampered = join(dir, 'tampered.bundle')
    writeFileSync(tampered, bytes)
    const flipped = await provsync(['import', tampered, ...at(e)])
    expect(flipped.code).toBe(4)
    expect(flipped.stderr).toMatch(/^provsync: bundle refused \(part-mismatch\): [^\n]*\n$/)
    const own = join(dir, 'own-key.bundle')
    await json(['export', own, ...at(a)])
    const untrusted = await provsync(['import', own, ...at(e)])
    expect(untrusted.code).toBe(4)
    expect(untrusted.stderr).toContain('untrusted-signature')
    expect(await roots(e)).toEqual(before)
    expect((await provsync(['import', join(dir, 'nope.bundle'), ...at(e)])).code).toBe(5)
    const trusted = await json(['import', own, '--trust-key', a.ready.publicKey, ...at(e)])
    expect(trusted.signers).toEqual([a.ready.publicKey])
    expect(await roots(e)).toEqual(await roots(a))
  }, 180_000)

  it('completes a lazy read across an air gap: want file, answer bundle, import', async () => {
    const second = join(dir, 'second.bin')
    writeFileSync(second, randomBytes(700_000))
    const id = (await json(['blob', 'put', second, ...at(a)])).id
    const failed = await provsync(['blob', 'get', id, '--out', join(dir, 'd2.bin'), ...at(d)])
    expect(failed.code).toBe(4)
    const want = join(dir, 'want.json')
    // D asked for two blobs it could not read: this one, and one nobody holds (the test above).
    expect(await json(['blob', 'want', '--out', want, ...at(d)])).toMatchObject({ blobs: 2, manifests: 2 })
    expect(JSON.parse(readFileSync(want, 'utf8')).wants).toContainEqual({ id, chunks: null })
    const answer = join(dir, 'answer.bundle')
    const answered = await json(['export', answer, '--answer', want, ...at(a)])
    expect(answered.parts.map((p: { kind: string; count: number }) => [p.kind, p.count])).toEqual([
      ['blob-manifests', 1],
      ['blob-chunks', 3],
    ])
    const before = await roots(d)
    await json(['import', answer, '--trust-key', a.ready.publicKey, ...at(d)])
    expect(await roots(d)).toEqual(before)
    await json(['blob', 'get', id, '--out', join(dir, 'd2.bin'), ...at(d)])
    expect(readFileSync(join(dir, 'd2.bin')).equals(readFileSync(second))).toBe(true)
    const left = await json(['blob', 'want', '--out', want, ...at(d)])
    expect(left).toMatchObject({ blobs: 1, manifests: 1 })
    expect(JSON.parse(readFileSync(want, 'utf8')).wants).toEqual([{ id: 'ab'.repeat(32), chunks: null }])
  }, 180_000)
})
