/** Exact-length reads over any async stream of byte chunks, without buffering more than a chunk. */
export class ShortReadError extends Error {
  constructor(readonly missing: number) {
    super(`stream ended ${missing} byte(s) early`)
  }
}

export class ByteSource {
  private buffered: Uint8Array = new Uint8Array(0)
  private readonly iterator: AsyncIterator<Uint8Array>
  private ended = false

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.iterator = chunks[Symbol.asyncIterator]()
  }

  private async fill(): Promise<boolean> {
    while (this.buffered.length === 0) {
      if (this.ended) return false
      const next = await this.iterator.next()
      if (next.done) {
        this.ended = true
        return false
      }
      this.buffered = next.value
    }
    return true
  }

  /** True when at least one more byte follows. */
  async hasMore(): Promise<boolean> {
    return this.fill()
  }

  /** Yields exactly `n` bytes in chunks; throws `ShortReadError` when the stream ends first. */
  async *take(n: number): AsyncGenerator<Uint8Array> {
    let left = n
    while (left > 0) {
      if (!(await this.fill())) throw new ShortReadError(left)
      const chunk = this.buffered.subarray(0, Math.min(left, this.buffered.length))
      this.buffered = this.buffered.subarray(chunk.length)
      left -= chunk.length
      yield chunk
    }
  }

  async readExact(n: number): Promise<Uint8Array> {
    // Most reads (a record frame's 2-byte length, then its ≤ 4 KiB record) lie inside the chunk
    // already buffered: copied out at once, without the generator and awaits of `take`.
    if (n > 0 && this.buffered.length >= n) {
      const out = new Uint8Array(n) // a copy: a view would keep the whole buffered chunk alive
      out.set(this.buffered.subarray(0, n))
      this.buffered = this.buffered.subarray(n)
      return out
    }
    const out = new Uint8Array(n)
    let at = 0
    for await (const chunk of this.take(n)) {
      out.set(chunk, at)
      at += chunk.length
    }
    return out
  }

  /** Consumes the rest of the stream and returns how many bytes it held. */
  async drain(): Promise<number> {
    let count = 0
    while (await this.fill()) {
      count += this.buffered.length
      this.buffered = new Uint8Array(0)
    }
    return count
  }
}

/** Passes chunks through while feeding them to `update` (a hash). */
export async function* tap(
  chunks: AsyncIterable<Uint8Array>,
  update: (chunk: Uint8Array) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    update(chunk)
    yield chunk
  }
}
