import type { AbortOptions } from '@libp2p/interface'
import { BlobNotFoundError, BlobTooLargeError, ChunkUnavailableError } from './errors.js'
import { chunkMatches, decodeManifest, equalBytes, type Manifest, toHex } from './ids.js'
import type { ChunkSource } from './source.js'

export interface FetchContext {
  source: ChunkSource
  maxBlobBytes: number
  maxPeers: number
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

/**
 * Asks the candidate peers for a manifest, one after the other, until one serves a manifest that
 * hashes to `id`. A malformed or mismatching manifest is blamed; a refusal or a failure is not.
 */
export async function fetchManifest(
  ctx: FetchContext,
  id: Uint8Array,
  hints: readonly string[],
  options: AbortOptions,
): Promise<Manifest> {
  const attempts: Record<string, string> = {}
  for (const peer of ctx.source.candidates(id, hints).slice(0, ctx.maxPeers)) {
    let bytes: Uint8Array
    try {
      bytes = await ctx.source.fetchManifest(peer, id, options)
    } catch (err) {
      options.signal?.throwIfAborted()
      attempts[peer] = describeError(err)
      continue
    }
    let manifest: Manifest
    try {
      manifest = decodeManifest(bytes)
    } catch (err) {
      attempts[peer] = describeError(err)
      ctx.source.blame(peer, 'bad-manifest', attempts[peer])
      continue
    }
    if (!equalBytes(manifest.id, id)) {
      attempts[peer] = 'manifest does not hash to the blob id'
      ctx.source.blame(peer, 'bad-manifest', `served a manifest of blob ${toHex(manifest.id)}`)
      continue
    }
    if (manifest.size > ctx.maxBlobBytes) throw new BlobTooLargeError(manifest.size, ctx.maxBlobBytes)
    return manifest
  }
  throw new BlobNotFoundError(toHex(id), attempts)
}

/** Receives verified chunks: stores them and hands them to the reader; may hold the fetch back. */
export type AcceptChunk = (index: number, bytes: Uint8Array) => void | Promise<void>

/**
 * Fetches the chunks at `wanted` from the candidate peers in turn. Each delivered chunk is checked
 * against the manifest before `accept` sees it; a peer that serves a bad, unrequested or duplicate
 * chunk, or stops before delivering what it was asked, is blamed and the fetch goes on from the
 * next peer with what is still missing.
 */
export async function fetchChunks(
  ctx: FetchContext,
  manifest: Manifest,
  wanted: readonly number[],
  hints: readonly string[],
  accept: AcceptChunk,
  options: AbortOptions,
): Promise<void> {
  const missing = new Set(wanted)
  const attempts: Record<string, string> = {}
  for (const peer of ctx.source.candidates(manifest.id, hints).slice(0, ctx.maxPeers)) {
    if (missing.size === 0) return
    try {
      const failure = await fetchFrom(ctx, peer, manifest, missing, accept, options)
      if (failure !== undefined) attempts[peer] = failure
    } catch (err) {
      options.signal?.throwIfAborted()
      attempts[peer] = describeError(err)
    }
  }
  if (missing.size > 0) {
    throw new ChunkUnavailableError(toHex(manifest.id), Math.min(...missing), attempts)
  }
}

/** One peer's turn: returns why it stopped short, or undefined when it delivered everything. */
async function fetchFrom(
  ctx: FetchContext,
  peer: string,
  manifest: Manifest,
  missing: Set<number>,
  accept: AcceptChunk,
  options: AbortOptions,
): Promise<string | undefined> {
  const asked = [...missing].sort((a, b) => a - b)
  const pending = new Set(asked)
  for await (const { index, bytes } of ctx.source.fetchChunks(peer, manifest, asked, options)) {
    if (!pending.has(index)) {
      const detail = `served chunk ${index}, which was not asked for (or twice)`
      ctx.source.blame(peer, 'unrequested-chunk', detail)
      return detail
    }
    if (!chunkMatches(manifest, index, bytes)) {
      const detail = `chunk ${index} fails its hash`
      ctx.source.blame(peer, 'bad-chunk', detail)
      return detail
    }
    pending.delete(index)
    missing.delete(index)
    await accept(index, bytes)
    if (pending.size === 0) return undefined
  }
  if (pending.size === 0) return undefined
  const detail = `stopped with ${pending.size} of ${asked.length} chunks undelivered`
  ctx.source.blame(peer, 'truncated', detail)
  return detail
}
