/**
 * The blob hello follows a trust rotation, over TCP + noise + yamux on 127.0.0.1: `setTrust` moves
 * the hash every new stream names and checks (sync's `trustBundleHash`, as sync's hello), so two
 * rotated nodes keep exchanging blobs whether they followed the rotation live or started on the
 * new bundle, and a node left on the old bundle is refused `wrong-network`, counted as
 * `trust-mismatch`, and never blamed (it may be catching up over the same connection).
 */
import { BlobNotFoundError } from '@provsync/blobs'
import { trustBundleHash } from '@provsync/sync'
import { describe, expect, it } from 'vitest'
import { collect, nodeSuite, randomBytes } from './helpers.js'
import { type BlobNode, blobNode, TRUST } from './nodes.js'

const { stores, track, holding } = nodeSuite()
const KiB = 1024
/** The bundle after a rotation: one operator kept, one added. */
const ROTATED = [TRUST[0]!, new Uint8Array(32).fill(9)]

async function metric(node: BlobNode, line: string): Promise<number> {
  const text = await node.services.blobs.metrics.registry.metrics()
  const found = text.split('\n').find((l) => l.startsWith(line))
  return found === undefined ? 0 : Number(found.split(' ').at(-1))
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('blob hello and trust rotation', () => {
  it("setTrust puts sync's hash of the new keys in force, whatever their order", async () => {
    const node = await track(blobNode(await stores.open()))
    const blobs = node.services.blobs
    expect(hex(blobs.trustHash())).toBe(hex(trustBundleHash(TRUST)))
    expect(blobs.setTrust(ROTATED)).toBe(true)
    expect(hex(blobs.trustHash())).toBe(hex(trustBundleHash(ROTATED)))
    expect(blobs.setTrust([...ROTATED].reverse())).toBe(false)
    expect(hex(blobs.trustHash())).toBe(hex(trustBundleHash(ROTATED)))
  })

  it('two rotated nodes exchange blobs: both followed it live, or one restarted on the new bundle', async () => {
    const bytes = randomBytes(80 * KiB, 11)
    const a = await holding(bytes)
    const server = await track(blobNode(a.store))
    const live = await track(blobNode(await stores.open()))
    // Started after the rotation (node.json remembers the bundle in force): the new hash from the start.
    const restarted = await track(blobNode(await stores.open(), { trust: ROTATED }))
    expect(server.services.blobs.setTrust(ROTATED)).toBe(true)
    expect(live.services.blobs.setTrust(ROTATED)).toBe(true)
    for (const reader of [live, restarted]) {
      await reader.dial(server.getMultiaddrs()[0]!)
      const got = await collect(reader.services.blobs.read(a.manifest.id, { from: [server.peerId] }))
      expect(got.equals(Buffer.from(bytes))).toBe(true)
    }
    // And the other way round: the restarted node serves what the live-rotated one asks for.
    const b = await holding(randomBytes(40 * KiB, 12))
    const second = await track(blobNode(b.store, { trust: ROTATED }))
    await live.dial(second.getMultiaddrs()[0]!)
    const got = await collect(live.services.blobs.read(b.manifest.id, { from: [second.peerId] }))
    expect(got.byteLength).toBe(40 * KiB)
    expect(await metric(server, 'provsync_blob_refusals_total')).toBe(0)
  })

  it('a node left on the old bundle is refused wrong-network both ways, counted, never blamed or blocked', async () => {
    const bytes = randomBytes(48 * KiB, 13)
    const a = await holding(bytes)
    const server = await track(blobNode(a.store, { budgets: { offenceThreshold: 2 } }))
    const c = await holding(randomBytes(32 * KiB, 14))
    const stale = await track(blobNode(c.store))
    server.services.blobs.setTrust(ROTATED)
    await stale.dial(server.getMultiaddrs()[0]!)
    // More attempts than the offence threshold: an offence would have blocked the stale node.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const err = await stale.services.blobs.manifest(a.manifest.id).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(BlobNotFoundError)
      const said = (err as BlobNotFoundError).attempts[server.peerId.toString()]
      expect(said).toMatch(/refused \(wrong-network\): .*under another trust bundle/)
      expect(await metric(server, 'provsync_blob_refusals_total{reason="trust-mismatch"}')).toBe(attempt)
    }
    // The rotated node asks the stale one: refused by it, counted there.
    const err = await server.services.blobs.manifest(c.manifest.id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlobNotFoundError)
    expect(await metric(stale, 'provsync_blob_refusals_total{reason="trust-mismatch"}')).toBe(1)
    for (const node of [server, stale]) expect(node.services.blobs.offences()).toEqual({})
    expect(server.services.blobs.isBlocked(stale.peerId)).toBe(false)
    expect(server.getConnections(stale.peerId)).not.toHaveLength(0)

    // Once the stale node follows the rotation it reads the blob over the same connection.
    expect(stale.services.blobs.setTrust(ROTATED)).toBe(true)
    const got = await collect(stale.services.blobs.read(a.manifest.id, { from: [server.peerId] }))
    expect(got.equals(Buffer.from(bytes))).toBe(true)
  })

  it('a rotation back is followed too: the node that rotated alone is the one refused', async () => {
    const a = await holding(randomBytes(32 * KiB, 15))
    const server = await track(blobNode(a.store))
    const reader = await track(blobNode(await stores.open()))
    await reader.dial(server.getMultiaddrs()[0]!)
    reader.services.blobs.setTrust(ROTATED)
    const err = await reader.services.blobs.manifest(a.manifest.id).catch((e: unknown) => e)
    expect((err as BlobNotFoundError).attempts[server.peerId.toString()]).toContain('wrong-network')
    expect(await metric(server, 'provsync_blob_refusals_total{reason="trust-mismatch"}')).toBe(1)
    expect(reader.services.blobs.setTrust(TRUST)).toBe(true)
    expect((await reader.services.blobs.manifest(a.manifest.id)).id).toEqual(a.manifest.id)
  })
})
