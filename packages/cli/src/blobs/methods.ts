import { createReadStream } from 'node:fs'
import { open, rename, rm, stat } from 'node:fs/promises'
import { BlobError, toHex } from '@provsync/blobs'
import { InvalidRequestError, integer, type Params, text } from '../control/params.js'
import { CliError, ExitCode } from '../errors.js'
import { exportBundleMethod, importBundleMethod } from './bundles.js'
import { type MethodCall, throttled } from './call.js'
import type { BlobContext } from './node.js'
import { blobIdParam, peerList } from './params.js'
import { writeWantFile } from './want.js'

type BlobMethodHandler = (ctx: BlobContext, params: Params, call: MethodCall) => unknown

/** A blob failure as the operator sees it: one line, exit 4 (the node refused or could not serve). */
function refused(err: unknown): never {
  if (err instanceof BlobError) throw new CliError(err.message, ExitCode.requestFailed)
  throw err
}

async function put(ctx: BlobContext, params: Params, call: MethodCall) {
  const file = text(params, 'file', { maxBytes: 4096 })
  const size = await stat(file).then(
    (s) => s.size,
    (err: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read ${file}: ${err.code ?? err.message}`, ExitCode.requestFailed)
    },
  )
  const chunkSize = params.chunkSize === undefined ? undefined : integer(params, 'chunkSize', 0, 1, 2 ** 30)
  const report = throttled(call, 'put bytes', size)
  let done = 0
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of createReadStream(file, { highWaterMark: 1 << 20 })) {
      done += (piece as Buffer).byteLength
      report(done)
      yield piece as Buffer
    }
  }
  const { ref, manifest } = await ctx.service
    .put(counted(), {
      ...(chunkSize !== undefined ? { chunkSize } : {}),
      shareable: params.shareable !== false,
      ...(call.signal !== undefined ? { signal: call.signal } : {}),
    })
    .catch(refused)
  return { id: toHex(ref.id), size: ref.size, chunkSize: manifest.chunkSize, chunks: manifest.chunkCount }
}

async function get(ctx: BlobContext, params: Params, call: MethodCall) {
  const id = blobIdParam(params)
  const out = text(params, 'out', { maxBytes: 4096 })
  const from = peerList(params)
  const hex = toHex(id)
  const partial = `${out}.partial`
  let written = 0
  try {
    const manifest = await ctx.service.manifest(id, { from })
    const report = throttled(call, 'get bytes', manifest.size)
    const handle = await open(partial, 'w')
    try {
      for await (const piece of ctx.service.read(id, {
        from,
        ...(call.signal ? { signal: call.signal } : {}),
      })) {
        await handle.write(piece)
        written += piece.byteLength
        report(written)
      }
    } finally {
      await handle.close()
    }
    await rename(partial, out)
    ctx.wanted.delete(hex)
    return { id: hex, out, size: manifest.size, chunks: manifest.chunkCount }
  } catch (err) {
    await rm(partial, { force: true })
    if (err instanceof BlobError) ctx.wanted.add(hex)
    return refused(err)
  }
}

function stat_(ctx: BlobContext, params: Params) {
  const id = blobIdParam(params)
  const manifest = ctx.store.localManifest(id)
  const status = ctx.store.status(id)
  return {
    id: toHex(id),
    ...status,
    size: manifest?.size ?? null,
    chunkSize: manifest?.chunkSize ?? null,
    store: ctx.store.stats(),
  }
}

async function pin(ctx: BlobContext, params: Params) {
  const id = blobIdParam(params)
  await ctx.store.pin(id, { from: peerList(params) }).catch(refused)
  return { id: toHex(id), pinned: true, held: ctx.store.status(id).held, chunks: ctx.store.status(id).chunks }
}

function unpin(ctx: BlobContext, params: Params) {
  const id = blobIdParam(params)
  try {
    ctx.store.unpin(id)
  } catch (err) {
    refused(err)
  }
  return { id: toHex(id), pinned: false, store: ctx.store.stats() }
}

async function want(ctx: BlobContext, params: Params) {
  const ids = params.ids === undefined ? [] : params.ids
  if (!Array.isArray(ids) || ids.length > 1024) throw new InvalidRequestError('ids must be an array')
  const out = text(params, 'out', { maxBytes: 4096 })
  return writeWantFile(
    ctx,
    ids.map((_, i) => blobIdParam(ids as unknown as Params, String(i))),
    out,
  )
}

/** The control methods of blobs and bundles, by name. */
export const BLOB_METHODS = {
  'blob.put': put,
  'blob.get': get,
  'blob.stat': stat_,
  'blob.pin': pin,
  'blob.unpin': unpin,
  'blob.want': want,
  export: exportBundleMethod,
  import: importBundleMethod,
} satisfies Record<string, BlobMethodHandler>

export type BlobMethod = keyof typeof BLOB_METHODS
