import { Uint8ArrayList } from 'uint8arraylist'
import { DATA_BYTES_PER_FRAME, MANIFEST_HASHES_PER_FRAME } from '../constants.js'
import { BlobProtocolError } from '../errors.js'
import { encodeManifest, type Manifest } from '../ids.js'
import type { BlobOffenceReason } from '../source.js'
import type { BlobStore } from '../store.js'
import { encodeChunkFrames } from '../wire/chunk-frames.js'
import type { BlobMessage, BlobRefusalCode } from '../wire/codec.js'
import type { Conversation } from './conversation.js'

/** What serving one peer's stream needs from the service around it. */
export interface ServeContext {
  store: BlobStore
  maxChunksPerRequest: number
  /** May this peer fetch this blob (the embedder's hook)? */
  mayFetch(id: Uint8Array): Promise<boolean>
  /** Waits until the peer's byte budget allows `bytes` more. */
  throttle(bytes: number): Promise<void>
  offend(reason: BlobOffenceReason, detail: string): void
  /** Counts a refusal by its real reason (the wire may say less). */
  refused(reason: BlobRefusalCode): void
  served(bytes: number): void
}

/**
 * One stream's chunk buffer, reused for every chunk it serves: a chunk's frames are encoded (copied)
 * by the time `sendFrames` is called, so the buffer is free again for the next chunk. Grown to
 * the largest chunk size asked for (1 MiB at most).
 */
class ChunkBuffer {
  private buffer = new Uint8Array(0)
  for(chunkSize: number): Uint8Array {
    if (this.buffer.byteLength < chunkSize) this.buffer = new Uint8Array(chunkSize)
    return this.buffer
  }
}

/**
 * Bytes of chunk frames gathered into one write. A write is one yamux data frame (its window
 * allowing), and the fetching side answers each data frame with a window update: two small
 * loopback writes, ~0.38 ms of its main thread per update in a profile of session 11 (load 6;
 * 416 ms for 1,100 updates per 256 MiB). 1 MiB (four 256 KiB chunks) against one chunk per
 * write, `rss-probe.ts 512 3`, load 7.7-9: fetching CPU 6.30 / 4.89 / 5.28 s against 6.61 / 5.71 /
 * 6.02, serving 3.71 / 3.41 / 3.87 against 4.62 / 3.64 / 4.37, peak RSS the same. 2 MiB: in the
 * suite (two alternated pairs, load 6.8-8.6) `blob_fetch_peak_rss_mib` 191 against 180-183 and the
 * serving peak 197-198 against 194-195, for a higher efficiency (0.87-0.89 against 0.69-0.82)
 * that is not worth the room under 200 MiB (README, "Session 11").
 */
const WRITE_BYTES = 1024 * 1024

/**
 * A request's chunks, each laid out as its frames (`encodeChunkFrames`, a buffer of its own: the
 * stream may hold it until sent), written `WRITE_BYTES` at a time; `flush` before anything else
 * is sent on the stream, so frames keep their order.
 */
class ChunkWrites {
  private pending = new Uint8ArrayList()
  private chunkBytes = 0

  constructor(
    private readonly conv: Conversation,
    private readonly ctx: ServeContext,
  ) {}

  async add(frames: Uint8Array, chunkBytes: number): Promise<void> {
    this.pending.append(frames)
    this.chunkBytes += chunkBytes
    if (this.pending.byteLength >= WRITE_BYTES) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.pending.byteLength === 0) return
    const frames = this.pending
    const served = this.chunkBytes
    this.pending = new Uint8ArrayList()
    this.chunkBytes = 0
    await this.conv.sendFrames(frames)
    this.ctx.served(served)
  }
}

/**
 * Answers requests until the remote closes the stream; one refusal ends one request, not the
 * stream. A stream idle past the deadline after at least one request is closed without blame (a
 * client keeps greeted streams for its next fetch); one that never asked is an offence.
 */
export async function serveStream(conv: Conversation, ctx: ServeContext): Promise<void> {
  const scratch = new ChunkBuffer()
  let answered = 0
  while (true) {
    let request: BlobMessage | undefined
    try {
      request = await conv.receiveOrEnd()
    } catch (err) {
      if (answered > 0 && err instanceof BlobProtocolError && err.reason === 'timeout') return
      throw err
    }
    if (request === undefined) return
    answered++
    if (request.type === 'manifest-request') await serveManifest(conv, ctx, request.id)
    else if (request.type === 'chunk-request') await serveChunks(conv, ctx, request, scratch)
    else {
      ctx.offend('unexpected-message', `sent ${request.type} where a request was due`)
      await refuse(conv, ctx, 'malformed', `unexpected ${request.type}`)
      return
    }
  }
}

async function refuse(
  conv: Conversation,
  ctx: ServeContext,
  code: BlobRefusalCode,
  message: string,
): Promise<void> {
  ctx.refused(code)
  // A blob this node may not share looks exactly like one it does not hold: nothing leaks.
  const wire = code === 'unauthorized' ? 'not-found' : code
  await conv.send({
    type: 'refusal',
    code: wire,
    message: wire === 'not-found' ? 'blob not held here' : message,
  })
}

/** The manifest if the peer may fetch the blob and this node holds it; otherwise a refusal was sent. */
async function authorized(
  conv: Conversation,
  ctx: ServeContext,
  id: Uint8Array,
): Promise<Manifest | undefined> {
  const manifest = ctx.store.localManifest(id)
  if (manifest === undefined) {
    await refuse(conv, ctx, 'not-found', 'blob not held here')
    return undefined
  }
  if (!(await ctx.mayFetch(id))) {
    await refuse(conv, ctx, 'unauthorized', 'blob not shared with this peer')
    return undefined
  }
  return manifest
}

async function serveManifest(conv: Conversation, ctx: ServeContext, id: Uint8Array): Promise<void> {
  const manifest = await authorized(conv, ctx, id)
  if (manifest === undefined) return
  const encoded = encodeManifest(manifest)
  const partBytes = MANIFEST_HASHES_PER_FRAME * 32
  for (let o = 0; o === 0 || o < encoded.byteLength; o += partBytes) {
    const data = encoded.subarray(o, o + partBytes)
    const last = o + partBytes >= encoded.byteLength
    await conv.send({ type: 'manifest-part', data, total: encoded.byteLength, last })
  }
}

async function serveChunks(
  conv: Conversation,
  ctx: ServeContext,
  { id, indices }: { id: Uint8Array; indices: number[] },
  scratch: ChunkBuffer,
): Promise<void> {
  if (indices.length === 0 || indices.length > ctx.maxChunksPerRequest) {
    await refuse(conv, ctx, 'too-many-chunks', `at most ${ctx.maxChunksPerRequest} chunks per request`)
    ctx.offend('malformed-frame', `asked for ${indices.length} chunks (limit ${ctx.maxChunksPerRequest})`)
    return
  }
  const manifest = await authorized(conv, ctx, id)
  if (manifest === undefined) return
  if (indices.some((i) => i >= manifest.chunkCount)) {
    await refuse(conv, ctx, 'malformed', `the blob has ${manifest.chunkCount} chunks`)
    ctx.offend('malformed-frame', `asked for a chunk past ${manifest.chunkCount}`)
    return
  }
  const writes = new ChunkWrites(conv, ctx)
  for (const index of indices) {
    const bytes = ctx.store.localChunkInto(manifest, index, scratch.for(manifest.chunkSize))
    if (bytes === undefined) {
      await writes.flush()
      await refuse(conv, ctx, 'not-found', `chunk ${index} not held here`)
      return
    }
    await ctx.throttle(bytes.byteLength)
    await writes.add(encodeChunkFrames(index, bytes, DATA_BYTES_PER_FRAME), bytes.byteLength)
  }
  await writes.flush()
  await conv.send({ type: 'done' })
}
