import type { Stream } from '@libp2p/interface'
import type { BlobFramedStream } from './protocol/framed.js'

/** A blob stream that passed its hello, between two fetches. */
export interface PooledStream {
  readonly stream: Stream
  readonly framed: BlobFramedStream
}

interface Idle extends PooledStream {
  timer: ReturnType<typeof setTimeout>
}

/**
 * Greeted blob streams kept per peer between fetches, so the next window of a read asks at once
 * instead of opening a stream and waiting for the hello's answer (which, on a busy connection,
 * queues behind the data of the window still arriving). At most `maxIdlePerPeer` wait per peer
 * (each still counts against the server's streams per peer), each at most `idleMs` (under the
 * server's idle deadline), then closed.
 */
export class StreamPool {
  private readonly idle = new Map<string, Idle[]>()

  constructor(
    private readonly maxIdlePerPeer: number,
    private readonly idleMs: number,
    /** Ends a stream the pool lets go of (closes it gracefully). */
    private readonly close: (stream: Stream) => void,
  ) {}

  /** An open idle stream to `peer`, if any (taken out of the pool). */
  take(peer: string): PooledStream | undefined {
    const list = this.idle.get(peer)
    while (list !== undefined && list.length > 0) {
      const entry = list.pop()!
      clearTimeout(entry.timer)
      if (usable(entry.stream)) return { stream: entry.stream, framed: entry.framed }
      this.close(entry.stream)
    }
    this.idle.delete(peer)
    return undefined
  }

  /** Keeps a stream whose conversation ended cleanly; closes it when the peer has enough waiting. */
  give(peer: string, pooled: PooledStream): void {
    const list = this.idle.get(peer) ?? []
    if (list.length >= this.maxIdlePerPeer || !usable(pooled.stream)) {
      this.close(pooled.stream)
      return
    }
    const timer = setTimeout(() => this.expire(peer, pooled.stream), this.idleMs)
    timer.unref?.()
    list.push({ ...pooled, timer })
    this.idle.set(peer, list)
  }

  /** Lets go of every idle stream (trust rotated, service stopped). */
  clear(): void {
    for (const list of this.idle.values()) {
      for (const entry of list) {
        clearTimeout(entry.timer)
        this.close(entry.stream)
      }
    }
    this.idle.clear()
  }

  private expire(peer: string, stream: Stream): void {
    const list = this.idle.get(peer)
    const at = list?.findIndex((e) => e.stream === stream) ?? -1
    if (list === undefined || at < 0) return
    list.splice(at, 1)
    if (list.length === 0) this.idle.delete(peer)
    this.close(stream)
  }
}

function usable(stream: Stream): boolean {
  return (
    stream.status === 'open' && stream.writeStatus === 'writable' && stream.remoteWriteStatus === 'writable'
  )
}
