/**
 * Gathers the frames written during one turn of the event loop (any streams, any types) into as
 * few transport writes as possible. Each write holds whole frames and at most `maxWrite` bytes, so
 * over noise every write is exactly one noise message; a write that would pass the bound goes out
 * at once and the rest waits for the microtask, so a large data write streams instead of piling up.
 *
 * Measured reason (packages/sync/README.md, session 12): with one transport write per frame a
 * stream message cost ~2.8 noise messages (encrypt, length prefix, socket write, decrypt each).
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { HEADER_BYTES } from './constants.js'
import { type FrameHeader, writeHeader } from './frame.js'

export interface FrameBatcherInit {
  /** Receives each transport write, whole frames only. */
  readonly sink: (data: Uint8ArrayList) => void
  /** The largest write in bytes; a frame larger than this on its own is written alone. */
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
    if (this.current.byteLength > 0 && this.current.byteLength + size > this.init.maxWrite) this.emit()
    const head = new Uint8Array(HEADER_BYTES)
    writeHeader(header, head)
    this.current.append(head)
    if (payload !== undefined && payload.byteLength > 0) this.current.append(payload)
    this.frames++
    if (this.current.byteLength >= this.init.maxWrite) this.emit()
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

  private emit(): void {
    if (this.current.byteLength === 0) return
    const out = this.current
    this.current = new Uint8ArrayList()
    this.writes++
    this.init.sink(out)
  }
}
