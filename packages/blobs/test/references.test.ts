/**
 * Authorization and fetch order from referencing records (issue #15), over real libp2p nodes on
 * TCP + noise + yamux: the default policy with `references`, and the provenance peer asked first.
 */
import type { PeerId } from '@libp2p/interface'
import {
  BlobNotFoundError,
  BlobReferences,
  type BlobStore,
  type Manifest,
  openBlobReferences,
  referencePolicy,
} from '@provsync/blobs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { collect, nodeSuite, randomBytes } from './helpers.js'
import { blobNode } from './nodes.js'

const { stores, track } = nodeSuite()
const KiB = 1024
const record = (n: number) => new Uint8Array(32).fill(n)

async function holding(...blobs: Uint8Array[]): Promise<{ store: BlobStore; manifests: Manifest[] }> {
  const store = await stores.open()
  const manifests: Manifest[] = []
  // shareable: true on purpose: with references, the shareable flag no longer authorizes anything
  for (const bytes of blobs) manifests.push((await store.put(bytes, { chunkSize: 16 * KiB })).manifest)
  return { store, manifests }
}

async function metric(
  node: { services: { blobs: { metrics: { registry: { metrics(): Promise<string> } } } } },
  line: string,
) {
  const text = await node.services.blobs.metrics.registry.metrics()
  const found = text.split('\n').find((l) => l.startsWith(line))
  return found === undefined ? 0 : Number(found.split(' ').at(-1))
}

describe('referencePolicy (pure)', () => {
  const peer = (n: number) => ({ toString: () => `peer-${n}` }) as unknown as PeerId
  it('allows exactly the blobs a supersession or assertion references, or an artifact in a scope the peer may hold', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            blob: fc.integer({ min: 0, max: 5 }),
            kind: fc.constantFrom('supersession' as const, 'assertion' as const, 'artifact' as const),
            scope: fc.constantFrom('a', 'a/b', 'c'),
            record: fc.integer({ min: 0, max: 50 }),
          }),
          { maxLength: 20 },
        ),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 5 }),
        (refs, who, blob) => {
          const index = new BlobReferences()
          for (const r of refs)
            index.add(record(r.blob), { kind: r.kind, record: record(r.record), scope: r.scope })
          const holds = (p: PeerId, scope: string) => p.toString() === 'peer-1' && scope.startsWith('a')
          const expected = refs.some(
            (r) => r.blob === blob && (r.kind !== 'artifact' || (who === 1 && r.scope.startsWith('a'))),
          )
          expect(referencePolicy(index, holds)(peer(who), record(blob))).toBe(expected)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('keeps one entry per (kind, record), and the provenance peers in arrival order without repeats', () => {
    const refs = new BlobReferences()
    expect(refs.add(record(1), { kind: 'supersession', record: record(9), from: 'p2' })).toBe(true)
    expect(refs.add(record(1), { kind: 'supersession', record: record(9), from: 'p3' })).toBe(false)
    expect(refs.add(record(1), { kind: 'assertion', record: record(9), from: 'p1' })).toBe(true)
    expect(refs.add(record(1), { kind: 'assertion', record: record(8) })).toBe(true)
    expect(refs.add(record(1), { kind: 'supersession', record: record(7), from: 'p2' })).toBe(true)
    expect(refs.provenance(record(1))).toEqual(['p2', 'p1'])
    expect(refs.of(record(2))).toEqual([])
    expect(refs.size).toBe(1)
  })
})

describe('the default policy over libp2p (references given)', () => {
  it('serves a referenced blob, refuses an unreferenced one (counted unauthorized), and an artifact blob only to a peer holding its scope', async () => {
    const [referenced, unreferenced, artifact] = [
      randomBytes(40 * KiB, 1),
      randomBytes(40 * KiB, 2),
      randomBytes(40 * KiB, 3),
    ]
    const { store, manifests } = await holding(referenced!, unreferenced!, artifact!)
    const refs = new BlobReferences()
    refs.add(manifests[0]!.id, { kind: 'supersession', record: record(1) })
    refs.add(manifests[2]!.id, { kind: 'artifact', record: record(2), scope: 'team/a' })
    const granted = await track(blobNode(await stores.open()))
    const other = await track(blobNode(await stores.open()))
    const server = await track(
      blobNode(store, {
        references: refs,
        mayHoldScope: (peer, scope) => peer.equals(granted.peerId) && scope.startsWith('team/'),
      }),
    )
    for (const reader of [granted, other]) await reader.dial(server.getMultiaddrs()[0]!)

    const got = await collect(other.services.blobs.read(manifests[0]!.id, { from: [server.peerId] }))
    expect(got.equals(Buffer.from(referenced!))).toBe(true)

    const refused = await other.services.blobs.manifest(manifests[1]!.id).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(BlobNotFoundError)
    expect(Object.values((refused as BlobNotFoundError).attempts)[0]).toContain('not-found')
    expect(await metric(server, 'provsync_blob_refusals_total{reason="unauthorized"}')).toBe(1)

    expect(await other.services.blobs.manifest(manifests[2]!.id).catch((e: unknown) => e)).toBeInstanceOf(
      BlobNotFoundError,
    )
    expect(await metric(server, 'provsync_blob_refusals_total{reason="unauthorized"}')).toBe(2)
    const scoped = await collect(granted.services.blobs.read(manifests[2]!.id))
    expect(scoped.equals(Buffer.from(artifact!))).toBe(true)
    // refusals are not offences: an honest reader may ask for what it may not have
    expect(other.services.blobs.offences()).toEqual({})
  })

  it('a read with no `from` asks the peer the referencing record came from first, then others', async () => {
    const bytes = randomBytes(200 * KiB, 7)
    const first = await holding(bytes)
    const second = await holding(bytes)
    const id = first.manifests[0]!.id
    const serverRefs = new BlobReferences()
    serverRefs.add(id, { kind: 'assertion', record: record(3) })
    const elsewhere = await track(blobNode(first.store, { references: serverRefs }))
    const origin = await track(blobNode(second.store, { references: serverRefs }))
    const readerRefs = new BlobReferences()
    const reader = await track(blobNode(await stores.open(), { references: readerRefs }))
    // connected to `elsewhere` first, so without provenance it would be asked first
    await reader.dial(elsewhere.getMultiaddrs()[0]!)
    await reader.dial(origin.getMultiaddrs()[0]!)
    readerRefs.add(id, { kind: 'assertion', record: record(3), from: origin.peerId.toString() })
    const got = await collect(reader.services.blobs.read(id))
    expect(got.equals(Buffer.from(bytes))).toBe(true)
    expect(await metric(origin, 'provsync_blob_served_bytes_total')).toBe(bytes.byteLength)
    expect(await metric(elsewhere, 'provsync_blob_served_bytes_total')).toBe(0)

    // the provenance peer goes away: the next read (of evicted-free chunks) completes from the other
    const other = randomBytes(60 * KiB, 8)
    const m1 = (await first.store.put(other, { chunkSize: 16 * KiB })).manifest
    await second.store.put(other, { chunkSize: 16 * KiB })
    serverRefs.add(m1.id, { kind: 'supersession', record: record(4) })
    readerRefs.add(m1.id, { kind: 'supersession', record: record(4), from: origin.peerId.toString() })
    await origin.stop()
    const again = await collect(reader.services.blobs.read(m1.id))
    expect(again.equals(Buffer.from(other))).toBe(true)
    expect(await metric(elsewhere, 'provsync_blob_served_bytes_total')).toBe(other.byteLength)
  })

  it('a persisted index keeps references and their senders across a restart: the source peer is asked first after it', async () => {
    const bytes = randomBytes(120 * KiB, 11)
    const first = await holding(bytes)
    const second = await holding(bytes)
    const id = first.manifests[0]!.id
    const serverRefs = new BlobReferences()
    serverRefs.add(id, { kind: 'supersession', record: record(5) })
    const elsewhere = await track(blobNode(first.store, { references: serverRefs }))
    const origin = await track(blobNode(second.store, { references: serverRefs }))
    const path = stores.dir()
    const before = await openBlobReferences({ path, noSync: true })
    before.add(id, { kind: 'supersession', record: record(5), from: origin.peerId.toString() })
    before.add(id, { kind: 'assertion', record: record(6), from: elsewhere.peerId.toString() })
    before.add(record(77), { kind: 'artifact', record: record(8), scope: 'cluster/c1' })
    await before.close()

    // The restart: the index is opened again from its directory, then the start-up scan (which
    // knows no senders) offers the same record again, and it changes nothing.
    const after = await openBlobReferences({ path, noSync: true })
    expect(after.add(id, { kind: 'supersession', record: record(5) })).toBe(false)
    expect(after.provenance(id)).toEqual([origin.peerId.toString(), elsewhere.peerId.toString()])
    expect(after.of(record(77))).toEqual([{ kind: 'artifact', record: record(8), scope: 'cluster/c1' }])
    const reader = await track(blobNode(await stores.open(), { references: after }))
    // connected to `elsewhere` first, so without the persisted provenance it would be asked first
    await reader.dial(elsewhere.getMultiaddrs()[0]!)
    await reader.dial(origin.getMultiaddrs()[0]!)
    const got = await collect(reader.services.blobs.read(id))
    expect(got.equals(Buffer.from(bytes))).toBe(true)
    expect(await metric(origin, 'provsync_blob_served_bytes_total')).toBe(bytes.byteLength)
    expect(await metric(elsewhere, 'provsync_blob_served_bytes_total')).toBe(0)
    await after.close()
  })
})
