import { join } from 'node:path'
import { BUNDLE_STORES } from '@provsync/bundles'
import { STORE_NAMES, toHex } from '@provsync/crdt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IMPORT_BATCH, importBundle, inspectBundle, SignatureThresholdError } from '../src/index.js'
import { exportTo, peers, sourceNode } from './fixtures.js'
import { coordinate, operator, signerN, snapshot, TempDirs } from './helpers.js'

describe('export on one node, import on another', () => {
  const temp = new TempDirs()
  afterAll(() => temp.cleanup())
  const count = IMPORT_BATCH + 300
  let exported: Awaited<ReturnType<typeof exportTo>>
  let source: Awaited<ReturnType<typeof sourceNode>>

  beforeAll(async () => {
    source = await sourceNode(temp, count)
    exported = await exportTo(temp, source)
  }, 120_000)

  it('writes a manifest naming every part with its size and hash', async () => {
    const { manifest } = exported.result
    expect(manifest.parts.map((p) => p.kind)).toEqual(['records', 'records', 'records', 'ledger'])
    expect(manifest.parts.map((p) => p.store)).toEqual([...BUNDLE_STORES, undefined])
    const assertions = manifest.parts.find((p) => p.store === 'assertions')!
    expect(assertions.count).toBe(source.tree('assertions').count())
    expect(manifest.exporter).toBe(toHex(source.publicKey))
    const inspected = await inspectBundle(exported.path, { trustedKeys: [operator.publicKey] })
    expect(inspected.bundleHash).toBe(exported.result.bundleHash)
    expect(inspected.ledgerEntries).toBe(1)
  })

  it('gives the same roots, the same view and the ledger, with the import provenance', async () => {
    const target = await temp.node()
    const registry = join(temp.dir(), 'bundles.json')
    const result = await importBundle(target, exported.path, { trustedKeys: [operator.publicKey], registry })
    for (const store of STORE_NAMES)
      expect(toHex(target.tree(store).root())).toBe(toHex(source.tree(store).root()))
    expect(snapshot(target).view).toEqual(snapshot(source).view)
    expect(target.revocations.isRevoked(peers[2]!.publicKey)).toBe(true)
    expect(target.ledger.since().map((e) => e.source.type)).toEqual(['import'])
    expect(result.ledger).toEqual({ entries: 1, added: 1, viewChanges: expect.any(Number) })
    expect(result.records.assertions?.applied).toBe(2 * count)
    expect(result.provenance).toBe(
      `imported from bundle ${result.bundleHash}, signed by ${toHex(operator.publicKey)}`,
    )
    const component = target.view.get(coordinate(5))!
    expect(component.provenance).toMatchObject({ type: 'asserted', via: operator.publicKey })
    expect(target.history.since().at(-1)!.cause).toMatchObject({ type: 'pull' })
  })

  it('can be written to a WritableStream', async () => {
    const chunks: Uint8Array[] = []
    const { exportBundle } = await import('../src/index.js')
    const stream = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c) })
    const result = await exportBundle(source, stream, {
      signers: [operator],
      density: 'lite',
      tmpDir: temp.dir(),
    })
    const total = Buffer.concat(chunks)
    expect(total.length).toBe(result.bytes)
    expect(result.manifest.parts.map((p) => p.size)).toEqual(
      exported.result.manifest.parts.map((p) => p.size),
    )
  })

  it('exports ledger entries after --since-ledger only', async () => {
    const later = await exportTo(temp, source, [operator], ['revocations'])
    const since = await (await import('../src/index.js')).exportBundle(source, `${later.path}.since`, {
      signers: [operator],
      density: 'lite',
      sinceLedger: 1,
    })
    const full = await inspectBundle(later.path, { trustedKeys: [operator.publicKey] })
    const none = await inspectBundle(`${later.path}.since`, { trustedKeys: [operator.publicKey] })
    expect(full.ledgerEntries).toBe(1)
    expect(none.ledgerEntries).toBe(0)
    expect(since.manifest.sinceLedger).toBe(1)
  })

  it('needs the threshold of distinct trusted signers', async () => {
    const second = signerN(30)
    const two = await exportTo(temp, source, [operator, second], ['revocations'])
    const keys = [operator.publicKey, second.publicKey]
    const target = await temp.node()
    const registry = join(temp.dir(), 'bundles.json')
    const refused = await importBundle(target, two.path, {
      trustedKeys: [operator.publicKey],
      threshold: 2,
      registry,
    })
      .then(() => undefined)
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(SignatureThresholdError)
    expect(target.tree('revocations').count()).toBe(0)
    const result = await importBundle(target, two.path, { trustedKeys: keys, threshold: 2, registry })
    expect(result.signers).toEqual(keys.map(toHex))
    expect(target.tree('revocations').count()).toBe(1)
  })
})
