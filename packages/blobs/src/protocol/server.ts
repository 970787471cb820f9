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
  for (const index of indices) {
    const bytes = ctx.store.localChunkInto(manifest, index, scratch.for(manifest.chunkSize))
    if (bytes === undefined) {
      await refuse(conv, ctx, 'not-found', `chunk ${index} not held here`)
      return
    }
    await ctx.throttle(bytes.byteLength)
    // The chunk's fragments in one buffer and one write (README, "Session 11"): the bytes the
    // fragments sent one by one would have been, without a protobuf and a framing copy each.
    await conv.sendFrames(encodeChunkFrames(index, bytes, DATA_BYTES_PER_FRAME))
    ctx.served(bytes.byteLength)
  }
  await conv.send({ type: 'done' })
}
