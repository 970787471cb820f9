/** What `put` accepts: bytes, or a (async) iterable of byte pieces of any sizes (a Node Readable is one). */
export type BlobSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

/**
 * Cuts a source into chunks of exactly `chunkSize` bytes, the last one shorter (none for an empty
 * source). Whole input bytes are cut without copying; pieces are gathered into a buffer of one chunk.
 */
export async function* chunksOf(source: BlobSource, chunkSize: number): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let o = 0; o < source.byteLength; o += chunkSize) yield source.subarray(o, o + chunkSize)
    return
  }
  let buffer = new Uint8Array(chunkSize)
  let filled = 0
  for await (const piece of source as AsyncIterable<Uint8Array>) {
    let o = 0
    while (o < piece.byteLength) {
      if (filled === 0 && piece.byteLength - o >= chunkSize) {
        yield piece.subarray(o, o + chunkSize)
        o += chunkSize
        continue
      }
      const n = Math.min(chunkSize - filled, piece.byteLength - o)
      buffer.set(piece.subarray(o, o + n), filled)
      filled += n
      o += n
      if (filled === chunkSize) {
        yield buffer
        buffer = new Uint8Array(chunkSize)
        filled = 0
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled)
}
