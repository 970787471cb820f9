/**
 * Gathers the frames written during one turn of the event loop (any streams, any types) into as
 * few transport writes as possible. Each write holds at most `maxWrite` bytes, so over noise every
 * write is exactly one noise message; a write that would pass the bound goes out at once and the
 * rest waits for the microtask, so a large data write streams instead of piling up. A frame larger
 * than one write (a data frame of up to 1 MiB) starts a write of its own and runs on over the next
 * ones: the bytes are a stream, only the noise message size is bounded.
 *
 * Measured reason (packages/sync/README.md, session 12): with one transport write per frame a
 * stream message cost ~2.8 noise messages (encrypt, length prefix, socket write, decrypt each).
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { HEADER_BYTES } from './constants.js'
import { type FrameHeader, writeHeader } from './frame.js'

export interface FrameBatcherInit {
  /** Receives each transport write (a large data frame spans several). */
  readonly sink: (data: Uint8ArrayList) => void
  /** The largest write in bytes; a larger frame is cut across writes of this size. */
  readonly maxWrite: number
  /** Called once before each scheduled flush, to add frames that must go out this turn. */
  readonly beforeFlush?: () => void
}

export class FrameBatcher {
  private current = new Uint8ArrayList()
  private scheduled = false
  /** Transport writes made, for tests and probes. */
  writes = 0
  /** Frames written, for tests and probes. */
  frames = 0

  constructor(private readonly init: FrameBatcherInit) {}

  /** Queues one frame (`payload` for data frames) for this turn's write. */
  write(header: FrameHeader, payload?: Uint8ArrayList | Uint8Array): void {
    const size = HEADER_BYTES + (payload?.byteLength ?? 0)
    // A frame that fits one write is never cut; a larger one is cut anyway, so it fills the current write first.
    const pending = this.current.byteLength
    if (pending > 0 && size <= this.init.maxWrite && pending + size > this.init.maxWrite) this.emit()
    const head = new Uint8Array(HEADER_BYTES)
    writeHeader(header, head)
    this.current.append(head)
    if (payload !== undefined && payload.byteLength > 0) this.current.append(payload)
    this.frames++
    while (this.current.byteLength >= this.init.maxWrite) this.emitPrefix(this.init.maxWrite)
    this.schedule()
  }

  /** Makes sure a flush runs at the end of this turn (for `beforeFlush` frames). */
  schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.flush()
    })
  }

  /** Writes what is queued now (`beforeFlush` first). */
  flush(): void {
    this.init.beforeFlush?.()
    this.emit()
  }

  /** Frames queued and not yet written, in bytes. */
  get pendingBytes(): number {
    return this.current.byteLength
  }

  /** Writes the first `bytes` queued (a large data frame runs on into the next write). */
  private emitPrefix(bytes: number): void {
    if (bytes >= this.current.byteLength) {
      this.emit()
      return
    }
    const out = this.current.sublist(0, bytes)
    this.current.consume(bytes)
    this.writes++
    this.init.sink(out)
  }

  private emit(): void {
    if (this.current.byteLength === 0) return
    const out = this.current
    this.current = new Uint8ArrayList()
    this.writes++
    this.init.sink(out)
  }
}
