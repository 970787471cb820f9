import {
  type BlobOffenceReason,
  type BlobStore,
  type BlobStoreOptions,
  type ChunkSource,
  type DeliveredChunk,
  encodeManifest,
  type Manifest,
  openBlobStore,
  toHex,
} from '@provsync/blobs'
import { noiseBytes, stopAll, TempDirs } from '@provsync/testing'
import type { Libp2p } from 'libp2p'
import { afterEach } from 'vitest'

/** Pseudo-random bytes from a seed (xorshift), so blobs differ chunk by chunk. */
export function randomBytes(size: number, seed = 1): Uint8Array {
  return noiseBytes(size, seed)
}

export interface TempStores {
  open(options?: Partial<BlobStoreOptions>): Promise<BlobStore>
  dir(): string
  cleanup(): Promise<void>
}

export function tempStores(): TempStores {
  const temp = new TempDirs('provsync-blobs-')
  return {
    dir: () => temp.dir(),
    open: async (options = {}) =>
      temp.adopt(await openBlobStore({ path: options.path ?? temp.dir(), noSync: true, ...options })),
    cleanup: () => temp.cleanup(),
  }
}

/** How a fake peer misbehaves. */
export type Lie =
  | 'honest'
  | 'wrong-chunk'
  | 'wrong-manifest'
  | 'truncated'
  | 'other-blob-chunk'
  | 'unrequested'
  | 'refuses'

export interface FakePeer {
  store: BlobStore
  lie: Lie
  /** Another blob's manifest, for `other-blob-chunk` and `wrong-manifest`. */
  other?: Manifest
}

/** A ChunkSource over in-process stores, with lying peers; records blames and requests. */
export class FakeSource implements ChunkSource {
  readonly blames: Array<{ peer: string; reason: BlobOffenceReason }> = []
  readonly requests: Array<{ peer: string; indices: number[] }> = []
  /** Chunks handed out before a simulated disconnect, per request (undefined: no limit). */
  cutAfter: number | undefined

  constructor(readonly peers: Map<string, FakePeer>) {}

  candidates(_id: Uint8Array, hints: readonly string[]): string[] {
    return [...new Set([...hints, ...this.peers.keys()])]
  }

  async fetchManifest(peer: string, id: Uint8Array): Promise<Uint8Array> {
    const p = this.peers.get(peer)!
    if (p.lie === 'refuses') throw new Error('refused (not-found)')
    if (p.lie === 'wrong-manifest') return encodeManifest(p.other!)
    const manifest = p.store.localManifest(id)
    if (manifest === undefined) throw new Error(`no manifest for ${toHex(id)}`)
    return encodeManifest(manifest)
  }

  async *fetchChunks(
    peer: string,
    manifest: Manifest,
    indices: readonly number[],
  ): AsyncIterable<DeliveredChunk> {
    const p = this.peers.get(peer)!
    this.requests.push({ peer, indices: [...indices] })
    if (p.lie === 'refuses') throw new Error('refused (not-found)')
    let sent = 0
    for (const index of indices) {
      if (this.cutAfter !== undefined && sent >= this.cutAfter) throw new Error('connection reset')
      if (p.lie === 'truncated' && sent === 1) return
      const bytes = p.store.localChunk(manifest, index)
      if (bytes === undefined) throw new Error(`no chunk ${index}`)
      sent++
      if (p.lie === 'wrong-chunk') {
        const bad = Uint8Array.from(bytes)
        bad[0] = bad[0]! ^ 1
        yield { index, bytes: bad }
      } else if (p.lie === 'other-blob-chunk') {
        yield { index, bytes: p.store.localChunk(p.other!, 0)! }
      } else if (p.lie === 'unrequested') {
        yield { index: index + manifest.chunkCount, bytes }
      } else yield { index, bytes }
    }
  }

  blame(peer: string, reason: BlobOffenceReason): void {
    this.blames.push({ peer, reason })
  }
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const part of stream) parts.push(Uint8Array.from(part))
  return Buffer.concat(parts)
}

/**
 * The node suites' fixture: temporary stores and libp2p nodes, all stopped after each test.
 * `track` keeps a node to stop; `holding` opens a store that holds `bytes` in 16 KiB chunks.
 */
export function nodeSuite(): {
  stores: TempStores
  track<T extends Libp2p>(node: Promise<T>): Promise<T>
  holding(bytes: Uint8Array): Promise<{ store: BlobStore; manifest: Manifest }>
} {
  const stores = tempStores()
  const nodes: Libp2p[] = []
  afterEach(() => stopAll(nodes, stores))
  const track = async <T extends Libp2p>(node: Promise<T>): Promise<T> => {
    const n = await node
    nodes.push(n)
    return n
  }
  const holding = async (bytes: Uint8Array) => {
    const store = await stores.open()
    const { manifest } = await store.put(bytes, { chunkSize: 16 * 1024 })
    return { store, manifest }
  }
  return { stores, track, holding }
}
