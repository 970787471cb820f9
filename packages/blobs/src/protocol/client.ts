import type { Uint8ArrayList } from 'uint8arraylist'
import { HASH_BYTES, MIN_CHUNK_SIZE } from '../constants.js'
import { BlobProtocolError, BlobRefusedError } from '../errors.js'
import { chunkLength, type Manifest } from '../ids.js'
import type { DeliveredChunk } from '../source.js'
import type { BlobMessage } from '../wire/codec.js'
import type { Conversation } from './conversation.js'

/** Longest encoded manifest of a blob of `maxBlobBytes` (header, then a hash per smallest chunk). */
export function maxManifestBytes(maxBlobBytes: number): number {
  return 10 + Math.ceil(maxBlobBytes / MIN_CHUNK_SIZE) * HASH_BYTES
}

function refusedOr(conv: Conversation, message: BlobMessage, expected: string): Error {
  if (message.type === 'refusal') return new BlobRefusedError(message.code, conv.peer, message.message)
  return conv.unexpected(message, expected)
}

/** Asks for a manifest and gathers its parts; the bytes are untrusted (the store checks them). */
export async function requestManifest(
  conv: Conversation,
  id: Uint8Array,
  maxBytes: number,
): Promise<Uint8Array> {
  await conv.send({ type: 'manifest-request', id })
  const parts: Uint8Array[] = []
  let received = 0
  let total: number | undefined
  while (true) {
    const m = await conv.receive('the manifest')
    if (m.type !== 'manifest-part') throw refusedOr(conv, m, 'manifest-part')
    total ??= m.total
    received += m.data.byteLength
    if (m.total !== total || total > maxBytes || received > total) {
      throw new BlobProtocolError(
        'bad-manifest',
        conv.peer,
        `manifest parts exceed ${Math.min(total, maxBytes)} bytes`,
      )
    }
    parts.push(m.data)
    if (m.last) break
  }
  if (received !== total)
    throw new BlobProtocolError('truncated', conv.peer, `manifest of ${received}/${total} bytes`)
  return Buffer.concat(parts, received)
}

/** One chunk being put together from its fragments. */
interface Assembly {
  index: number
  bytes: Uint8Array
  filled: number
}

/** A chunk-data frame: decoded, or read in place (`ChunkFragment`, its bytes still in the received buffers). */
type Fragment = { index: number; offset: number; data: Uint8Array | Uint8ArrayList }

/** Adds a fragment; returns the chunk once whole. Fragments must come in order and never overrun. */
function assemble(
  conv: Conversation,
  manifest: Manifest,
  current: Assembly | undefined,
  m: Fragment,
): Assembly {
  let a = current
  if (a === undefined) {
    if (m.index >= manifest.chunkCount) {
      throw new BlobProtocolError(
        'unrequested-chunk',
        conv.peer,
        `sent chunk ${m.index} of ${manifest.chunkCount}`,
      )
    }
    // Not zero-filled: every byte is written by a fragment before the chunk is yielded (a chunk
    // cut short is never yielded), so a 256 MiB read does not memset 256 MiB first.
    const length = chunkLength(manifest, m.index)
    const buffer = Buffer.allocUnsafeSlow(length)
    a = { index: m.index, bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, length), filled: 0 }
  }
  if (m.index !== a.index || m.offset !== a.filled || m.data.byteLength === 0) {
    throw new BlobProtocolError('truncated', conv.peer, `chunk ${a.index} broken off at ${a.filled} bytes`)
  }
  if (a.filled + m.data.byteLength > a.bytes.byteLength) {
    throw new BlobProtocolError(
      'oversized-chunk',
      conv.peer,
      `chunk ${a.index} longer than ${a.bytes.byteLength} bytes`,
    )
  }
  if (m.data instanceof Uint8Array) a.bytes.set(m.data, a.filled)
  else {
    // A fragment read in place: its pieces go straight into the chunk (one copy, never two).
    let at = a.filled
    for (const piece of m.data) {
      a.bytes.set(piece, at)
      at += piece.byteLength
    }
  }
  a.filled += m.data.byteLength
  return a
}

/**
 * Asks for `indices` in requests of at most `perRequest` chunks, `depth` requests in flight, and
 * yields each chunk once its fragments are all in. Nothing here is trusted: the store verifies.
 * A clean end of the stream just ends the iteration (the store blames what is undelivered).
 */
export async function* requestChunks(
  conv: Conversation,
  manifest: Manifest,
  indices: readonly number[],
  perRequest: number,
  depth: number,
): AsyncGenerator<DeliveredChunk> {
  const batches: number[][] = []
  for (let i = 0; i < indices.length; i += perRequest) batches.push(indices.slice(i, i + perRequest))
  let sent = 0
  const sendNext = async (): Promise<void> => {
    const batch = batches[sent++]
    if (batch !== undefined) await conv.send({ type: 'chunk-request', id: manifest.id, indices: batch })
  }
  while (sent < Math.min(depth, batches.length)) await sendNext()
  let answered = 0
  let current: Assembly | undefined
  try {
    while (answered < batches.length) {
      const m = await conv.receiveFragmentOrEnd()
      if (m === undefined) return
      // A fragment read in place has no `type`; any other frame was decoded as before.
      if ('type' in m && m.type === 'done') {
        if (current !== undefined)
          throw new BlobProtocolError('truncated', conv.peer, `chunk ${current.index} cut short`)
        answered++
        await sendNext()
        continue
      }
      if ('type' in m && m.type !== 'chunk-data') throw refusedOr(conv, m, 'chunk-data')
      current = assemble(conv, manifest, current, m as Fragment)
      if (current.filled === current.bytes.byteLength) {
        const { index, bytes } = current
        current = undefined
        yield { index, bytes }
      }
    }
  } finally {
    conv.close()
  }
}
