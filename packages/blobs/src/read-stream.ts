import { BlobError, BlobRangeError } from './errors.js'
import { toHex } from './ids.js'
import type { BlobStore, ReadOptions } from './store.js'

/**
 * Bytes of chunks one window asks for; a read holds at most two windows. 4 MiB, not 8: the
 * fetching process's peak array buffers fell in 5 of 6 alternated pairs (rss-probe.ts, load
 * 8-27, 2026-12-06; 1 GiB: 80 -> 61, 76 -> 67 MiB; 256 MiB: 78 -> 49, 76 -> 49, 75 -> 50,
 * 56 -> 57), at the same rate within that load's noise.
 */
const READ_AHEAD_BYTES = 4 * 1024 * 1024
const MIN_READ_AHEAD_CHUNKS = 4

/** Chunks of one window, filled as they are verified, taken in order by the reader. */
class Window {
  readonly slots: Array<Uint8Array | undefined>
  readonly done: Promise<void>
  private wake: (() => void) | undefined
  private settled = false

  constructor(
    store: BlobStore,
    id: Uint8Array,
    readonly first: number,
    count: number,
    options: ReadOptions,
  ) {
    this.slots = new Array(count)
    this.done = store.rangeInto(
      id,
      first,
      count,
      (index, bytes) => {
        this.slots[index - first] = bytes
        this.notify()
      },
      options,
    )
    const settle = (): void => {
      this.settled = true
      this.notify()
    }
    this.done.then(settle, settle)
  }

  /** Chunk `i` of the window once it arrived; rethrows the window's failure otherwise. */
  async take(i: number): Promise<Uint8Array> {
    while (this.slots[i] === undefined) {
      if (this.settled) {
        await this.done
        throw new BlobError(`window at chunk ${this.first} ended without chunk ${this.first + i}`)
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
    }
    const chunk = this.slots[i]!
    this.slots[i] = undefined
    return chunk
  }

  private notify(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }
}

/**
 * Streams `[start, end)` of a blob: each chunk is yielded as soon as it is verified, in order,
 * while the next window is fetched ahead; at most two windows are held. Stopping the read aborts
 * the fetches under way.
 */
export async function* readBlob(
  store: BlobStore,
  id: Uint8Array,
  options: ReadOptions & { readAheadChunks?: number | undefined },
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
  const size = options.readAheadChunks ?? Math.max(MIN_READ_AHEAD_CHUNKS, READ_AHEAD_BYTES / cs)
  const controller = new AbortController()
  const onAbort = (): void => controller.abort(options.signal?.reason)
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const windowAt = (from: number): Window => {
    const w = new Window(store, id, from, Math.min(size, last - from + 1), {
      ...options,
      signal: controller.signal,
    })
    w.done.catch(() => {}) // a window abandoned by an early stop must not become an unhandled rejection
    return w
  }
  try {
    let current = windowAt(first)
    while (true) {
      const after = current.first + current.slots.length
      const next = after <= last ? windowAt(after) : undefined
      for (let i = 0; i < current.slots.length; i++) {
        const chunk = await current.take(i)
        const offset = (current.first + i) * cs
        yield chunk.subarray(Math.max(0, start - offset), Math.min(chunk.byteLength, end - offset))
      }
      await current.done
      if (next === undefined) return
      current = next
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
    controller.abort(new DOMException('read ended', 'AbortError'))
  }
}
