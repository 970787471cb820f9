/**
 * The blob protocol in a closed network, over TCP + noise + yamux on 127.0.0.1: the service's
 * `admission` (the same object sync and artifacts use) refuses a non-member before any request,
 * and a member never asks a non-member for a blob.
 */
import type { PeerId } from '@libp2p/interface'
import { BlobNotFoundError } from '@provsync/blobs'
import { describe, expect, it } from 'vitest'
import { collect, nodeSuite, randomBytes } from './helpers.js'
import { type BlobNode, blobNode } from './nodes.js'

const { stores, track, holding } = nodeSuite()
const KiB = 1024

/** Admits exactly the listed peers, as `memberAdmission` admits holders of a live member grant. */
function members(...peers: Array<() => PeerId>) {
  const asked: string[] = []
  return {
    asked,
    admit: async (key: Uint8Array, credential: Uint8Array | undefined) => {
      asked.push(Buffer.from(key).toString('hex'))
      expect(credential).toBeUndefined()
      return peers.some((peer) => Buffer.from(peer().publicKey!.raw).equals(Buffer.from(key)))
    },
  }
}

async function metric(node: BlobNode, line: string): Promise<number> {
  const text = await node.services.blobs.metrics.registry.metrics()
  const found = text.split('\n').find((l) => l.startsWith(line))
  return found === undefined ? 0 : Number(found.split(' ').at(-1))
}

describe('blob protocol admission (closed network)', () => {
  it('refuses a non-member a blob it is served without the gate, counted, no offence; a member reads it', async () => {
    const bytes = randomBytes(48 * KiB, 3)
    const a = await holding(bytes)
    let member: BlobNode | undefined
    const gate = members(() => member!.peerId)
    const server = await track(blobNode(a.store, { admission: gate }))
    const open = await track(blobNode(a.store))
    member = await track(blobNode(await stores.open()))
    const stranger = await track(blobNode(await stores.open()))
    await member.dial(server.getMultiaddrs()[0]!)
    await stranger.dial(server.getMultiaddrs()[0]!)

    // The gated server answers the stranger's request with a not-admitted refusal and nothing else.
    const err = await stranger.services.blobs.manifest(a.manifest.id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlobNotFoundError)
    const attempts = (err as BlobNotFoundError).attempts
    expect(Object.keys(attempts)).toEqual([server.peerId.toString()])
    expect(attempts[server.peerId.toString()]).toContain('not-admitted')
    expect(await metric(server, 'provsync_blob_refusals_total{reason="not-admitted"}')).toBe(1)
    expect(server.services.blobs.offences()).toEqual({})
    expect(stranger.services.blobs.offences()).toEqual({})
    // The same store behind a service without the gate serves it the blob.
    await stranger.dial(open.getMultiaddrs()[0]!)
    const served = await collect(stranger.services.blobs.read(a.manifest.id, { from: [open.peerId] }))
    expect(served.equals(Buffer.from(bytes))).toBe(true)

    const got = await collect(member.services.blobs.read(a.manifest.id, { from: [server.peerId] }))
    expect(got.equals(Buffer.from(bytes))).toBe(true)
    expect(await metric(server, 'provsync_blob_refusals_total{reason="not-admitted"}')).toBe(1)
  })

  it('a member asks no non-member for a blob, even one that holds it', async () => {
    const bytes = randomBytes(32 * KiB, 4)
    const a = await holding(bytes)
    const outsider = await track(blobNode(a.store))
    const gate = members()
    const reader = await track(blobNode(await stores.open(), { admission: gate }))
    await reader.dial(outsider.getMultiaddrs()[0]!)
    const err = await reader.services.blobs
      .manifest(a.manifest.id, { from: [outsider.peerId] })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlobNotFoundError)
    expect((err as BlobNotFoundError).attempts[outsider.peerId.toString()]).toMatch(/not admitted/i)
    expect(gate.asked).toContain(Buffer.from(outsider.peerId.publicKey!.raw).toString('hex'))
    // The outsider never saw a request: nothing served, nothing refused.
    expect(await metric(outsider, 'provsync_blob_refusals_total')).toBe(0)
  })
})
