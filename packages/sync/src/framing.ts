import type { AbortOptions, Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  BudgetExceededError,
  FrameTooLargeError,
  MalformedFrameError,
  SyncError,
  UnexpectedEndError,
} from './errors.js'

/** Noise carries at most 65,535 bytes per message; a frame plus its prefix fits in one. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 - 16

export interface FramedStreamOptions {
  /** Largest frame body accepted or sent. */
  maxFrameBytes?: number
  /** Unread bytes held before the stream is paused, which stops the remote through muxer flow control. */
  maxBufferedBytes?: number
  /** Bytes read plus written after which the stream fails with BudgetExceededError. */
  maxSessionBytes?: number
}

/** Length-prefixed frames over a libp2p v3 stream, with a hard frame size and write backpressure. */
export interface FramedStream {
  /** The next frame, or undefined when the remote closed cleanly between frames. */
  read(options?: AbortOptions): Promise<Uint8Array | undefined>
  /** Writes one frame; resolves once the stream accepts more (backpressure). */
  write(frame: Uint8Array, options?: AbortOptions): Promise<void>
  readonly bytesRead: number
  readonly bytesWritten: number
}

const MAX_VARINT_BYTES = 5

/** The unsigned varint length prefix of a frame (also used to build malformed frames in tests). */
export function encodeLength(length: number): Uint8Array {
  const out: number[] = []
  let value = length
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80)
    value >>>= 7
  }
  out.push(value)
  return Uint8Array.from(out)
}

/** Reads a varint prefix: the length and how many bytes it took, undefined if incomplete. */
export function decodeLength(buffer: Uint8ArrayList): { length: number; bytes: number } | undefined {
  let length = 0
  for (let i = 0; i < Math.min(buffer.byteLength, MAX_VARINT_BYTES); i++) {
    const byte = buffer.get(i)
    length += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return { length, bytes: i + 1 }
  }
  if (buffer.byteLength >= MAX_VARINT_BYTES) throw new MalformedFrameError('frame length prefix is too long')
  return undefined
}

/** Prefixes a frame with its length, refusing to send one the remote would reject. */
export function encodeFrame(frame: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  if (frame.byteLength > maxFrameBytes) throw new FrameTooLargeError(frame.byteLength, maxFrameBytes)
  const prefix = encodeLength(frame.byteLength)
  const out = new Uint8Array(prefix.byteLength + frame.byteLength)
  out.set(prefix, 0)
  out.set(frame, prefix.byteLength)
  return out
}

/**
 * Splits buffered bytes into frames. Throws FrameTooLargeError as soon as a prefix announces an
 * oversized frame, so a hostile peer never makes us hold more than one frame.
 */
export function takeFrame(buffer: Uint8ArrayList, maxFrameBytes: number): Uint8Array | undefined {
  const prefix = decodeLength(buffer)
  if (prefix === undefined) return undefined
  if (prefix.length > maxFrameBytes) throw new FrameTooLargeError(prefix.length, maxFrameBytes)
  if (buffer.byteLength < prefix.bytes + prefix.length) return undefined
  const frame = buffer.subarray(prefix.bytes, prefix.bytes + prefix.length)
  buffer.consume(prefix.bytes + prefix.length)
  return frame
}

/**
 * The reading side of a framed stream: what arrived and is not taken yet, whether more can come,
 * and a wait for it. Shared by `framedStream` and other protocols' framed streams (@provsync/blobs).
 */
export interface StreamInbox {
  /** Received bytes not taken yet. */
  readonly buffer: Uint8ArrayList
  readonly bytesRead: number
  /** After a frame was taken from `buffer`: resumes a paused stream once half its buffer is free. */
  taken(): void
  /**
   * With no complete frame buffered: false while more can come (a paused stream is resumed), true
   * at a clean end between frames; throws when the stream failed or ended inside a frame.
   */
  finished(): boolean
  /** Resolves when bytes arrive or the stream ends; rejects when the signal fires. */
  more(options?: AbortOptions): Promise<void>
}

/**
 * Buffers a libp2p v3 stream's messages; past `maxBufferedBytes` unread it pauses the stream,
 * which stops the remote through muxer flow control.
 */
export function streamInbox(stream: Stream, maxBufferedBytes: number): StreamInbox {
  const buffer = new Uint8ArrayList()
  let remoteEnded = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  let bytesRead = 0
  const notify = (): void => {
    const w = wake
    wake = undefined
    w?.()
  }
  stream.addEventListener('message', (evt) => {
    buffer.append(evt.data)
    bytesRead += evt.data.byteLength
    if (buffer.byteLength > maxBufferedBytes && stream.readStatus === 'readable') stream.pause()
    notify()
  })
  stream.addEventListener('remoteCloseWrite', () => {
    remoteEnded = true
    notify()
  })
  stream.addEventListener('close', (evt) => {
    remoteEnded = true
    // Stryker disable next-line ConditionalExpression: equivalent, a stream closes once, so failure is still undefined here
    if (evt.error !== undefined) failure = evt.error
    notify()
  })

  const ended = (): boolean =>
    remoteEnded || (stream.status !== 'open' && stream.readBufferLength === 0) || stream.readableEnded

  return {
    buffer,
    get bytesRead() {
      return bytesRead
    },
    taken() {
      if (stream.readStatus === 'paused' && buffer.byteLength <= maxBufferedBytes / 2) stream.resume()
    },
    finished() {
      if (stream.readStatus === 'paused') stream.resume()
      if (!ended() || stream.readBufferLength !== 0) return false
      if (buffer.byteLength === 0 && failure === undefined) return true
      if (failure !== undefined && buffer.byteLength === 0) throw wrapFailure(failure)
      throw new UnexpectedEndError(`stream ended inside a frame (${buffer.byteLength} bytes pending)`)
    },
    async more(opts = {}) {
      opts.signal?.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        // Stryker disable next-line OptionalChaining: equivalent, the listener is only added to a signal
        const onAbort = (): void => reject(opts.signal?.reason)
        wake = () => {
          opts.signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent, a signal aborts once
        opts.signal?.addEventListener('abort', onAbort, { once: true })
      })
    },
  }
}

/**
 * Sends bytes that are whole frames and waits as a framed write does: until the stream accepts
 * more, and until its write buffer is empty once it holds more than `maxBufferedBytes`. `sent`
 * runs once the stream took the bytes (byte counts, budgets), before the wait.
 */
export async function sendFrames(
  stream: Stream,
  bytes: Uint8Array | Uint8ArrayList,
  maxBufferedBytes: number,
  sent: () => void,
  opts: AbortOptions = {},
): Promise<void> {
  opts.signal?.throwIfAborted()
  let accepted: boolean
  try {
    accepted = stream.send(bytes)
  } catch (err) {
    throw wrapFailure(err as Error)
  }
  sent()
  try {
    if (!accepted) await stream.onDrain(opts)
    // send() also says yes while bytes pile up behind a send in progress; wait for them too.
    if (stream.writeBufferLength > maxBufferedBytes) await idle(stream, opts)
  } catch (err) {
    throw overfull(err) ?? err
  }
}

export function framedStream(stream: Stream, options: FramedStreamOptions = {}): FramedStream {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  const maxBufferedBytes = options.maxBufferedBytes ?? 2 * (maxFrameBytes + MAX_VARINT_BYTES)
  const inbox = streamInbox(stream, maxBufferedBytes)
  let bytesWritten = 0
  const maxSessionBytes = options.maxSessionBytes ?? Number.POSITIVE_INFINITY
  const checkBudget = (): void => {
    if (inbox.bytesRead + bytesWritten > maxSessionBytes) {
      throw new BudgetExceededError(
        'bytes',
        `session moved ${inbox.bytesRead + bytesWritten} bytes, budget ${maxSessionBytes}`,
      )
    }
  }

  return {
    get bytesRead() {
      return inbox.bytesRead
    },
    get bytesWritten() {
      return bytesWritten
    },
    async read(opts = {}) {
      while (true) {
        checkBudget()
        const frame = takeFrame(inbox.buffer, maxFrameBytes)
        if (frame !== undefined) {
          inbox.taken()
          return frame
        }
        if (inbox.finished()) return undefined
        await inbox.more(opts)
      }
    },
    async write(frame, opts = {}) {
      const bytes = encodeFrame(frame, maxFrameBytes)
      await sendFrames(
        stream,
        bytes,
        maxBufferedBytes,
        () => {
          bytesWritten += bytes.byteLength
          checkBudget()
        },
        opts,
      )
    },
  }
}

/** Resolves once the stream's write buffer is empty, rejects if it closes or the signal fires. */
function idle(stream: Stream, options: AbortOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown): void => {
      stream.removeEventListener('idle', onIdle)
      stream.removeEventListener('close', onClose)
      options.signal?.removeEventListener('abort', onAbort)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onIdle = (): void => done()
    const onClose = (evt: Event): void => {
      const error = (evt as Event & { error?: Error }).error
      done(
        // Stryker disable next-line ConditionalExpression: equivalent, overfull(undefined) is undefined
        (error === undefined ? undefined : overfull(error)) ??
          new UnexpectedEndError('stream closed while writing'),
      )
    }
    // Stryker disable next-line OptionalChaining: equivalent, the listener is only added to a signal
    const onAbort = (): void => done(options.signal?.reason)
    // Stryker disable next-line ConditionalExpression: equivalent, write() waits only on a buffer above maxBufferedBytes (not negative)
    if (stream.writeBufferLength === 0) return resolve()
    if (stream.status !== 'open') return reject(new UnexpectedEndError('stream closed while writing'))
    stream.addEventListener('idle', onIdle)
    stream.addEventListener('close', onClose)
    options.signal?.addEventListener('abort', onAbort)
  })
}

/**
 * libp2p resets a stream whose read buffer (the remote kept sending while we paused) or write
 * buffer (the remote stopped reading) passed its limit: a budget the remote exhausted.
 */
function overfull(err: unknown): BudgetExceededError | undefined {
  if ((err as Error | undefined)?.name !== 'StreamBufferError') return undefined
  return new BudgetExceededError('buffer', `stream reset: ${(err as Error).message}`, { cause: err })
}

function wrapFailure(err: Error): Error {
  if (err instanceof SyncError) return err
  const budget = overfull(err)
  if (budget !== undefined) return budget
  const wrapped = new UnexpectedEndError(`stream failed: ${err.message}`)
  wrapped.cause = err
  return wrapped
}
