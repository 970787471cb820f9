import type { AbortOptions, Stream } from '@libp2p/interface'
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodeLength,
  encodeFrame,
  type FramedStream,
  FrameTooLargeError,
  sendFrames,
  streamInbox,
} from '@provsync/sync/stream'
import type { Uint8ArrayList } from 'uint8arraylist'
import { type ChunkFragment, parseChunkFragment } from '../wire/chunk-frames.js'

/** Noise carries at most 65,535 bytes per message; a frame plus its prefix fits in one (sync's limit). */
export const MAX_FRAME_BYTES = DEFAULT_MAX_FRAME_BYTES

/** What `take` found: a frame body, a chunk-data fragment read in place, the clean end, or nothing yet. */
export type Taken = Uint8Array | ChunkFragment | 'end' | undefined

/**
 * sync's framed stream, built of the same parts (`streamInbox`, `sendFrames`: same frames, same
 * limits, same errors as `framedStream`), with what a blob transfer needs on top, measured in session 11:
 * - `writeFrames`: several frames already prefixed (a chunk's fragments) in one `send`, so yamux
 *   carries them as one data frame and the remote answers one window update, not one per 60 KiB;
 * - `take(true)`: a chunk-data frame is returned as a view of the received buffers
 *   (`ChunkFragment`), so a frame spanning two noise messages is not concatenated before its bytes
 *   are copied into their chunk; and `take` never waits, so a caller starts a deadline only when
 *   it has to wait (`more`), not per frame.
 */
export interface BlobFramedStream extends FramedStream {
  /** Writes bytes that are whole length-prefixed frames; resolves once the stream accepts more. */
  writeFrames(bytes: Uint8Array | Uint8ArrayList, options?: AbortOptions): Promise<void>
  /** The next complete frame without waiting; with `fragments`, a chunk-data frame in place. */
  take(fragments: boolean): Taken
  /** Resolves when bytes arrive or the stream ends (then `take` again). */
  more(options?: AbortOptions): Promise<void>
}

/** Prefixes a frame with its length (sync's `encodeFrame`), refusing one the remote would reject. */
export function prefixFrame(frame: Uint8Array): Uint8Array {
  return encodeFrame(frame, MAX_FRAME_BYTES)
}

export function blobFramedStream(stream: Stream, maxBufferedBytes: number): BlobFramedStream {
  const inbox = streamInbox(stream, maxBufferedBytes)
  const { buffer } = inbox
  let bytesWritten = 0

  const take = (fragments: boolean): Taken => {
    const prefix = decodeLength(buffer)
    if (prefix !== undefined && prefix.length > MAX_FRAME_BYTES)
      throw new FrameTooLargeError(prefix.length, MAX_FRAME_BYTES)
    if (prefix !== undefined && buffer.byteLength >= prefix.bytes + prefix.length) {
      const end = prefix.bytes + prefix.length
      const frame =
        (fragments ? parseChunkFragment(buffer, prefix.bytes, end) : undefined) ??
        buffer.subarray(prefix.bytes, end)
      buffer.consume(end)
      inbox.taken()
      return frame
    }
    return inbox.finished() ? 'end' : undefined
  }

  const writeFrames = (bytes: Uint8Array | Uint8ArrayList, opts: AbortOptions = {}): Promise<void> =>
    sendFrames(stream, bytes, maxBufferedBytes, () => (bytesWritten += bytes.byteLength), opts)

  return {
    get bytesRead() {
      return inbox.bytesRead
    },
    get bytesWritten() {
      return bytesWritten
    },
    take,
    more: (opts) => inbox.more(opts),
    writeFrames,
    async read(opts = {}) {
      while (true) {
        const taken = take(false)
        if (taken === 'end') return undefined
        if (taken !== undefined) return taken as Uint8Array
        await inbox.more(opts)
      }
    },
    write: (frame, opts) => writeFrames(prefixFrame(frame), opts),
  }
}
