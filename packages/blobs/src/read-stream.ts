import { BlobRangeError } from './errors.js'
import { toHex } from './ids.js'
import type { BlobStore, ReadOptions } from './store.js'

const READ_AHEAD_BYTES = 8 * 1024 * 1024
const MIN_READ_AHEAD_CHUNKS = 4

/**
 * Streams `[start, end)` of a blob window by window, fetching the next window while the reader
 * consumes this one: at most two windows are held. Stopping the read aborts the window ahead.
 */
export async function* readBlob(
  store: BlobStore,
  id: Uint8Array,
  options: ReadOptions & { readAheadChunks?: number },
): AsyncGenerator<Uint8Array> {
  const manifest = await store.manifest(id, options)
  const start = options.start ?? 0
  const end = options.end ?? manifest.size
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    start > end ||
    end > manifest.size
  ) {
    throw new BlobRangeError(toHex(id), `bytes ${start}..${end} of ${manifest.size}`)
  }
  if (start === end) return
  const cs = manifest.chunkSize
  const first = Math.floor(start / cs)
  const last = Math.floor((end - 1) / cs)
  const window = options.readAheadChunks ?? Math.max(MIN_READ_AHEAD_CHUNKS, READ_AHEAD_BYTES / cs)
  const controller = new AbortController()
  const onAbort = (): void => controller.abort(options.signal?.reason)
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const fetchWindow = (from: number): Promise<Uint8Array[]> => {
    const pending = store.range(id, from, Math.min(window, last - from + 1), {
      ...options,
      signal: controller.signal,
    })
    pending.catch(() => {}) // a window abandoned by an early stop must not become an unhandled rejection
    return pending
  }
  try {
    let next = fetchWindow(first)
    for (let c = first; c <= last; ) {
      const chunks = await next
      const after = c + chunks.length
      if (after <= last) next = fetchWindow(after)
      for (let i = 0; i < chunks.length; i++) {
        const offset = (c + i) * cs
        const chunk = chunks[i]!
        chunks[i] = undefined as unknown as Uint8Array // let the reader's copy be the only one
        yield chunk.subarray(Math.max(0, start - offset), Math.min(chunk.byteLength, end - offset))
      }
      c = after
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    controller.abort(new DOMException('read ended', 'AbortError'))
  }
}
