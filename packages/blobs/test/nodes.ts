import type { Connection, Stream } from '@libp2p/interface'
import {
  BLOB_PROTOCOL,
  type BlobMessage,
  type BlobService,
  type BlobServiceInit,
  type BlobStore,
  blobs,
  decodeBlobMessage,
  encodeBlobMessage,
  encodeManifest,
  type Manifest,
} from '@provsync/blobs'
import { framedStream, trustBundleHash } from '@provsync/sync'
import { loopbackTransport } from '@provsync/testing'
import { createLibp2p, type Libp2p } from 'libp2p'

export const NETWORK = 'blob-test-net'
export const TRUST = [new Uint8Array(32).fill(7)]

export type BlobNode = Libp2p<{ blobs: BlobService }>

const transportOptions = () =>
  loopbackTransport({ yamux: { streamOptions: { maxWriteBufferLength: 4 * 1024 * 1024 } } })

/** A real libp2p node over TCP + noise + yamux on 127.0.0.1 with the blob service. */
export async function blobNode(store: BlobStore, init: Partial<BlobServiceInit> = {}): Promise<BlobNode> {
  return createLibp2p({
    ...(await transportOptions()),
    services: { blobs: blobs({ store, networkId: NETWORK, trust: TRUST, ...init }) },
  })
}

/** How a hand-written server lies on the wire. */
export type WireLie =
  | 'wrong-chunk'
  | 'wrong-manifest'
  | 'truncated'
  | 'endless'
  | 'other-blob-chunk'
  | 'silent'

/**
 * A node that speaks the blob protocol by hand from an honest store, and lies as told: a chunk
 * with a flipped byte, another blob's manifest or chunk, a stream closed in the middle of a chunk,
 * an endless chunk, or no answer at all.
 */
export async function lyingNode(store: BlobStore, lie: WireLie, other: Manifest): Promise<Libp2p> {
  const node = await createLibp2p(await transportOptions())
  await node.handle(BLOB_PROTOCOL, (stream: Stream, _c: Connection) => {
    lyingServe(stream, store, lie, other).catch(() => stream.abort(new Error('liar done')))
  })
  return node
}

async function lyingServe(stream: Stream, store: BlobStore, lie: WireLie, other: Manifest): Promise<void> {
  const framed = framedStream(stream)
  const send = (m: BlobMessage) => framed.write(encodeBlobMessage(m))
  const read = async () => {
    const f = await framed.read()
    return f === undefined ? undefined : decodeBlobMessage(f)
  }
  await read()
  await send({ type: 'welcome', version: 1 })
  while (true) {
    const m = await read()
    if (m === undefined) return
    if (m.type === 'manifest-request') {
      const manifest = lie === 'wrong-manifest' ? other : store.localManifest(m.id)!
      const data = encodeManifest(manifest)
      await send({ type: 'manifest-part', data, total: data.byteLength, last: true })
    } else if (m.type === 'chunk-request') {
      if (lie === 'silent') continue
      const manifest = store.localManifest(m.id)!
      for (const index of m.indices) {
        if (!(await sendChunk(send, store, manifest, index, lie, other))) {
          await stream.close() // a clean end in the middle of a chunk
          return
        }
      }
      await send({ type: 'done' })
    }
  }
}

async function sendChunk(
  send: (m: BlobMessage) => Promise<void>,
  store: BlobStore,
  manifest: Manifest,
  index: number,
  lie: WireLie,
  other: Manifest,
): Promise<boolean> {
  let bytes = Uint8Array.from(store.localChunk(manifest, index)!)
  if (lie === 'wrong-chunk') bytes[7] = bytes[7]! ^ 0x40
  if (lie === 'other-blob-chunk')
    bytes = Uint8Array.from(store.localChunk(other, 0)!).subarray(0, bytes.byteLength)
  if (lie === 'truncated') {
    await send({ type: 'chunk-data', index, offset: 0, data: bytes.subarray(0, 1000) })
    return false
  }
  if (lie === 'endless') {
    // Fragments that never line up with the chunk's end: the chunk would grow forever.
    for (let offset = 0; ; offset += 3000)
      await send({ type: 'chunk-data', index, offset, data: new Uint8Array(3000) })
  }
  await send({ type: 'chunk-data', index, offset: 0, data: bytes })
  return true
}

export { trustBundleHash }
