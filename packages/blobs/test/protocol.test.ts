import { closeSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import {
  BLOB_PROTOCOL,
  BlobNotFoundError,
  type BlobStore,
  decodeBlobMessage,
  encodeBlobMessage,
  type Manifest,
  toHex,
} from '@provsync/blobs'
import { framedStream } from '@provsync/sync'
import { loopbackTransport } from '@provsync/testing'
import { createLibp2p } from 'libp2p'
import { describe, expect, it } from 'vitest'
import { collect, nodeSuite, randomBytes } from './helpers.js'
import { blobNode, lyingNode, NETWORK, TRUST, trustBundleHash, type WireLie } from './nodes.js'

const { stores, track } = nodeSuite()
const KiB = 1024

async function holder(
  bytes: Uint8Array,
  shareable = true,
): Promise<{ store: BlobStore; manifest: Manifest; other: Manifest }> {
  const store = await stores.open()
  const { manifest } = await store.put(bytes, { chunkSize: 16 * KiB, shareable })
  const other = (await store.put(randomBytes(64 * KiB, 999), { chunkSize: 16 * KiB })).manifest
  return { store, manifest, other }
}

async function metric(
  node: { services: { blobs: { metrics: { registry: { metrics(): Promise<string> } } } } },
  line: string,
): Promise<number> {
  const text = await node.services.blobs.metrics.registry.metrics()
  const found = text.split('\n').find((l) => l.startsWith(line))
  return found === undefined ? 0 : Number(found.split(' ').at(-1))
}

describe('/provsync/blob/1.0.0 over TCP + noise + yamux', () => {
  it('reads a blob lazily from the peer that holds it, then from the local store', async () => {
    const bytes = randomBytes(300 * KiB + 11, 21)
    const a = await holder(bytes)
    const server = await track(blobNode(a.store))
    const reader = await track(blobNode(await stores.open()))
    await reader.dial(server.getMultiaddrs()[0]!)
    const middle = await reader.services.blobs.range(a.manifest.id, 5, 2, { from: [server.peerId] })
    expect(Buffer.concat(middle).equals(Buffer.from(bytes.subarray(80 * KiB, 112 * KiB)))).toBe(true)
    const whole = await collect(reader.services.blobs.read(a.manifest.id, { from: [server.peerId] }))
    expect(whole.equals(Buffer.from(bytes))).toBe(true)
    expect(await metric(reader, 'provsync_blob_fetched_bytes_total')).toBe(bytes.byteLength)
    expect(await metric(server, 'provsync_blob_served_bytes_total')).toBe(bytes.byteLength)
    await server.stop()
    const again = await collect(reader.services.blobs.read(a.manifest.id, { start: 1000, end: 200_000 }))
    expect(again.equals(Buffer.from(bytes.subarray(1000, 200_000)))).toBe(true)
  })

  const lies: Array<[WireLie, string]> = [
    ['wrong-chunk', 'bad-chunk'],
    ['wrong-manifest', 'bad-manifest'],
    ['truncated', 'truncated'],
    ['endless', 'oversized-chunk'],
    ['other-blob-chunk', 'bad-chunk'],
    ['silent', 'timeout'],
  ]
  for (const [lie, reason] of lies) {
    it(`a peer that lies on the wire (${lie}) is blamed (${reason}) and the read completes from an honest peer`, async () => {
      const bytes = randomBytes(100 * KiB, 5)
      const l = await holder(bytes)
      const h = await holder(bytes)
      const liar = await track(lyingNode(l.store, lie, l.other))
      const honest = await track(blobNode(h.store))
      // Only the silent liar should meet the deadline; the others get room for a loaded machine.
      const idleTimeoutMs = lie === 'silent' ? 1_000 : 20_000
      const reader = await track(blobNode(await stores.open(), { limits: { idleTimeoutMs } }))
      await reader.dial(liar.getMultiaddrs()[0]!)
      await reader.dial(honest.getMultiaddrs()[0]!)
      const got = await collect(reader.services.blobs.read(l.manifest.id, { from: [liar.peerId] }))
      expect(got.equals(Buffer.from(bytes))).toBe(true)
      expect(reader.services.blobs.offences(liar.peerId)).toEqual({ [reason]: 1 })
      expect(reader.services.blobs.offences(honest.peerId)).toEqual({})
      if (reason === 'bad-chunk' || reason === 'bad-manifest') {
        expect(await metric(reader, `provsync_blob_verification_failures_total{peer="${liar.peerId}"`)).toBe(
          1,
        )
      }
    })
  }

  it('serves only what mayFetch allows; a refused blob looks like one not held and is counted', async () => {
    const bytes = randomBytes(40 * KiB, 8)
    const a = await holder(bytes, false)
    const server = await track(blobNode(a.store))
    const reader = await track(blobNode(await stores.open()))
    await reader.dial(server.getMultiaddrs()[0]!)
    const err = await reader.services.blobs.manifest(a.manifest.id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlobNotFoundError)
    expect(Object.values((err as BlobNotFoundError).attempts)[0]).toContain('not-found')
    expect(await metric(server, 'provsync_blob_refusals_total{reason="unauthorized"}')).toBe(1)
    expect(reader.services.blobs.offences()).toEqual({})

    const allowed = await track(blobNode(a.store, { mayFetch: (peer) => peer.equals(reader.peerId) }))
    await reader.dial(allowed.getMultiaddrs()[0]!)
    const got = await collect(reader.services.blobs.read(a.manifest.id, { from: [allowed.peerId] }))
    expect(got.equals(Buffer.from(bytes))).toBe(true)
  })

  it('refuses a peer of another network in the hello and counts the offence', async () => {
    const a = await holder(randomBytes(20 * KiB))
    const server = await track(blobNode(a.store))
    const stranger = await track(blobNode(await stores.open(), { networkId: 'other-net' }))
    await stranger.dial(server.getMultiaddrs()[0]!)
    const err = await stranger.services.blobs.manifest(a.manifest.id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlobNotFoundError)
    expect(Object.values((err as BlobNotFoundError).attempts)[0]).toContain('wrong-network')
    expect(server.services.blobs.offences(stranger.peerId)).toEqual({ 'wrong-network': 1 })
  })

  it('refuses a request for more chunks than the limit with a typed refusal, and blocks a repeat offender', async () => {
    const a = await holder(randomBytes(20 * KiB))
    const server = await track(blobNode(a.store, { budgets: { offenceThreshold: 2 } }))
    const client = await track(createLibp2p(await loopbackTransport()))
    const codes: string[] = []
    const ask = async (): Promise<void> => {
      const stream = await client.dialProtocol(server.getMultiaddrs()[0]!, BLOB_PROTOCOL)
      const framed = framedStream(stream)
      const hello = {
        type: 'hello' as const,
        networkId: NETWORK,
        trustHash: trustBundleHash(TRUST),
        version: 1,
      }
      await framed.write(encodeBlobMessage(hello))
      expect(decodeBlobMessage((await framed.read())!).type).toBe('welcome')
      const indices = Array.from({ length: 17 }, (_, i) => i)
      await framed.write(encodeBlobMessage({ type: 'chunk-request', id: a.manifest.id, indices }))
      const answer = decodeBlobMessage((await framed.read())!)
      codes.push(answer.type === 'refusal' ? answer.code : answer.type)
      await stream.close().catch(() => {})
    }
    await ask()
    expect(codes).toEqual(['too-many-chunks'])
    // The second offence blocks the peer: its connection is closed, so the refusal may not arrive.
    await ask().catch(() => {})
    expect(server.services.blobs.offences(client.peerId)).toEqual({ 'malformed-frame': 2 })
    expect(server.services.blobs.isBlocked(client.peerId)).toBe(true)
  })

  it('refuses a stream beyond the per-peer limit and counts the offence', async () => {
    const a = await holder(randomBytes(20 * KiB))
    const server = await track(blobNode(a.store, { limits: { maxStreamsPerPeer: 2 } }))
    const client = await track(createLibp2p(await loopbackTransport()))
    const offence = new Promise<string>((resolve) => {
      server.services.blobs.addEventListener('blob:offence', (evt) => resolve(evt.detail.reason), {
        once: true,
      })
    })
    // Streams that never say hello hold their slot until their deadline: the third is one too many.
    for (let i = 0; i < 3; i++) await client.dialProtocol(server.getMultiaddrs()[0]!, BLOB_PROTOCOL)
    expect(await offence).toBe('too-many-streams')
    expect(server.services.blobs.offences(client.peerId)).toEqual({ 'too-many-streams': 1 })
  })
})

describe('a chunk rotted on the serving disk (storage version 2)', () => {
  it('is caught by the serving re-hash, never sent or blamed on the server, and refetched by its holder', async () => {
    const bytes = randomBytes(64 * KiB, 31)
    const origin = await holder(bytes)
    const originNode = await track(blobNode(origin.store))
    const dir = stores.dir()
    const middle = await track(blobNode(await stores.open({ path: dir })))
    await middle.dial(originNode.getMultiaddrs()[0]!)
    await collect(middle.services.blobs.read(origin.manifest.id, { from: [originNode.peerId] }))
    middle.services.blobs.store.setShareable(origin.manifest.id, true) // served by the default policy
    const servedByMiddle = async () => metric(middle, 'provsync_blob_served_bytes_total')
    // chunk 2 rots in the middle node's pack window
    const window = join(dir, 'packs', toHex(origin.manifest.id), '0')
    const fd = openSync(window, 'r+')
    writeSync(fd, randomBytes(4, 32), 0, 4, 2 * 16 * KiB + 10)
    closeSync(fd)
    const reader = await track(blobNode(await stores.open()))
    await reader.dial(middle.getMultiaddrs()[0]!)
    await reader.dial(originNode.getMultiaddrs()[0]!)
    const got = await collect(
      reader.services.blobs.read(origin.manifest.id, { from: [middle.peerId, originNode.peerId] }),
    )
    expect(got.equals(Buffer.from(bytes))).toBe(true)
    expect(reader.services.blobs.offences(middle.peerId.toString())).toEqual({}) // a refusal, not a lie
    expect(await metric(middle, 'provsync_blob_corrupt_bytes_total')).toBe(16 * KiB)
    expect(await metric(reader, 'provsync_blob_fetched_bytes_total')).toBe(bytes.byteLength)
    expect(await servedByMiddle()).toBe(2 * 16 * KiB) // chunks 0 and 1, then the refusal
    expect(middle.services.blobs.store.missing(origin.manifest.id)).toEqual([2])
    const servedBefore = await metric(originNode, 'provsync_blob_served_bytes_total')
    const again = await collect(middle.services.blobs.read(origin.manifest.id, { from: [originNode.peerId] }))
    expect(again.equals(Buffer.from(bytes))).toBe(true)
    expect((await metric(originNode, 'provsync_blob_served_bytes_total')) - servedBefore).toBe(16 * KiB)
  })
})
