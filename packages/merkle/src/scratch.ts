import {
  type Children,
  createNodeLayout,
  emptyChildren,
  maxEncodedNodeBytes,
  type NodeLayout,
} from './node-codec.js'

/** One depth's buffers for patching an inner node in place (see `refreshInner` in tree.ts). */
export interface NodeWork {
  stored: Uint8Array
  layout: NodeLayout
  next: Children
  touched: Uint8Array
}

/**
 * The buffers one tree's batches write through, owned by that tree (two trees never share them).
 * One output buffer is reused by every bucket and inner node a batch rewrites: byte 0 holds the
 * domain tag and the encoding follows, so the node is hashed in one call and handed to LMDB
 * (which copies it) without allocating; allocating ~1 KiB per rewritten bucket made the young
 * generation grow and the batch slower.
 */
export class NodeScratch {
  #buffer = new Uint8Array(4096)
  /** Views of the buffer by end offset, from 0 (tag included) and from 1 (the encoding). */
  #views: [Uint8Array[], Uint8Array[]] = [[], []]
  readonly #work: NodeWork[] = []

  /** The output buffer, grown to at least `bytes`; valid until the next call. */
  reserve(bytes: number): Uint8Array {
    if (this.#buffer.length < bytes) {
      this.#buffer = new Uint8Array(2 ** Math.ceil(Math.log2(bytes)))
      this.#views = [[], []]
    }
    return this.#buffer
  }

  /** `buffer.subarray(from, end)`, kept for the sizes nodes and buckets have. */
  view(from: 0 | 1, end: number): Uint8Array {
    if (end > 4096) return this.#buffer.subarray(from, end)
    const views = this.#views[from]
    let cached = views[end]
    if (cached === undefined) views[end] = cached = this.#buffer.subarray(from, end)
    return cached
  }

  /** The buffers of depth `depth` (fan-out `fanout`): a batch descends one path at a time. */
  work(depth: number, fanout: number): NodeWork {
    return (this.#work[depth] ??= {
      stored: new Uint8Array(maxEncodedNodeBytes(fanout)),
      layout: createNodeLayout(fanout),
      next: emptyChildren(fanout),
      touched: new Uint8Array(fanout),
    })
  }
}
