import type { Connection } from '@libp2p/interface'
import { BLOB_PROTOCOL, type BlobStore, type Manifest } from '@provsync/blobs'
import { describe, expect, it } from 'vitest'
import { collect, nodeSuite, randomBytes } from './helpers.js'
import { type BlobNode, blobNode } from './nodes.js'

const { stores, track } = nodeSuite()
const KiB = 1024

/** A blob of 8 read-ahead windows for a reader whose windows are 4 chunks of 16 KiB. */
async function holder(): Promise<{ store: BlobStore; manifests: Manifest[]; bytes: Uint8Array[] }> {
  const store = await stores.open()
  const bytes = [randomBytes(512 * KiB, 41), randomBytes(512 * KiB, 42), randomBytes(512 * KiB, 43)]
  const manifests = []
  for (const b of bytes)
    manifests.push((await store.put(b, { chunkSize: 16 * KiB, shareable: true })).manifest)
  return { store, manifests, bytes }
}

/** Counts the blob streams the reader opens on its connection to the server. */
function countOpened(connection: Connection): { opened: number } {
  const count = { opened: 0 }
  const newStream = connection.newStream.bind(connection)
  connection.newStream = (protocols, options) => {
    if ([protocols].flat().includes(BLOB_PROTOCOL)) count.opened++
    return newStream(protocols, options)
  }
  return count
}

const blobStreams = (connection: Connection) =>
  connection.streams.filter((s) => s.protocol === BLOB_PROTOCOL && s.status === 'open').length

async function setup(serverLimits = {}, readerLimits = {}) {
  const h = await holder()
  const server = await track(blobNode(h.store, { limits: serverLimits }))
  const reader: BlobNode = await track(
    blobNode(await stores.open({ readAheadChunks: 4 }), { limits: readerLimits }),
  )
  const connection = await reader.dial(server.getMultiaddrs()[0]!)
  const read = async (i: number) => {
    const got = await collect(reader.services.blobs.read(h.manifests[i]!.id, { from: [server.peerId] }))
    expect(got.equals(Buffer.from(h.bytes[i]!))).toBe(true)
  }
  return { server, reader, connection, count: countOpened(connection), read }
}

describe('greeted blob streams are reused across a read’s windows and between reads', () => {
  it('a read of 8 windows opens at most 2 streams, and the next read only its manifest’s', async () => {
    const { server, reader, connection, count, read } = await setup()
    await read(0)
    expect(count.opened).toBeGreaterThan(0)
    expect(count.opened).toBeLessThanOrEqual(2) // one per window before: 9 with the manifest's
    const after = count.opened
    await read(1)
    expect(count.opened).toBe(after + 1) // a manifest is asked on a fresh stream, then pooled
    expect(blobStreams(connection)).toBeLessThanOrEqual(2)
    expect(server.services.blobs.offences(reader.peerId)).toEqual({})
    expect(reader.services.blobs.offences(server.peerId)).toEqual({})
  })

  it('keeps at most 2 idle streams per peer, under the server’s 4-stream limit, after concurrent reads', async () => {
    const { server, reader, connection, read } = await setup()
    await Promise.all([read(0), read(1)]) // up to 4 streams at once
    await new Promise((r) => setTimeout(r, 100)) // the pooled-or-closed decisions settle
    expect(blobStreams(connection)).toBeLessThanOrEqual(2)
    await Promise.all([read(2), read(0)])
    expect(server.services.blobs.offences(reader.peerId)).toEqual({})
  })

  it('closes idle streams after a quarter of the idle deadline; the server blames no one', async () => {
    const { server, reader, connection, count, read } = await setup({}, { idleTimeoutMs: 800 })
    await read(0)
    expect(blobStreams(connection)).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 600)) // the pool waits 200 ms
    expect(blobStreams(connection)).toBe(0)
    const before = count.opened
    await read(1)
    expect(count.opened).toBeGreaterThan(before)
    expect(server.services.blobs.offences(reader.peerId)).toEqual({})
  })

  it('a server whose idle deadline is shorter closes pooled streams without blame; the next read asks anew', async () => {
    const { server, reader, count, read } = await setup({ idleTimeoutMs: 300 })
    await read(0)
    await new Promise((r) => setTimeout(r, 900)) // the server's deadline passes on the pooled streams
    const before = count.opened
    await read(1)
    expect(count.opened).toBeGreaterThan(before)
    expect(server.services.blobs.offences(reader.peerId)).toEqual({})
    expect(reader.services.blobs.offences(server.peerId)).toEqual({})
  })
})
