import { readFile, rename, writeFile } from 'node:fs/promises'
import { type Manifest, toHex } from '@provsync/blobs'
import { CliError, ExitCode } from '../errors.js'
import type { BlobContext } from './node.js'

/**
 * A want file (`provsync blob want --out F`): the chunks this node lacks for the blobs it was asked
 * for, to be answered on another node by `provsync export --answer F`. JSON:
 * `{ format: "provsync-blob-want", version: 1, networkId, node, wants: [{ id, chunks }] }` where
 * `chunks` lists the missing chunk indices, or is null when not even the manifest is held here.
 */
export const WANT_FORMAT = 'provsync-blob-want'
/** Chunk indices one want file may list in all (a 64 GiB blob of 16 KiB chunks). */
const MAX_WANTED_CHUNKS = 4 * 1024 * 1024

export interface Want {
  readonly id: string
  readonly chunks: number[] | null
}

export interface WantFile {
  readonly format: typeof WANT_FORMAT
  readonly version: 1
  readonly networkId: string
  readonly node: string
  readonly wants: Want[]
}

/** Writes the want file for `ids` and the blobs reads here could not complete; skips complete blobs. */
export async function writeWantFile(ctx: BlobContext, ids: Uint8Array[], out: string) {
  const all = new Set([...ids.map(toHex), ...ctx.wanted])
  const wants: Want[] = []
  for (const hex of all) {
    const missing = ctx.store.missing(Buffer.from(hex, 'hex'))
    if (missing === undefined) wants.push({ id: hex, chunks: null })
    else if (missing.length > 0) wants.push({ id: hex, chunks: missing })
    else ctx.wanted.delete(hex)
  }
  const file: WantFile = {
    format: WANT_FORMAT,
    version: 1,
    networkId: ctx.node.state.networkId,
    node: ctx.node.peerId.toString(),
    wants,
  }
  await writeFile(`${out}.partial`, `${JSON.stringify(file)}\n`)
  await rename(`${out}.partial`, out)
  const chunks = wants.reduce((n, w) => n + (w.chunks?.length ?? 0), 0)
  return { out, blobs: wants.length, chunks, manifests: wants.filter((w) => w.chunks === null).length }
}

function bad(path: string, problem: string): never {
  throw new CliError(`${path} is not a want file: ${problem}`, ExitCode.requestFailed)
}

/** Reads and checks a want file; every id and index is checked before it is used. */
export async function readWantFile(path: string, networkId: string): Promise<WantFile> {
  let value: WantFile
  try {
    value = JSON.parse(await readFile(path, 'utf8')) as WantFile
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return bad(path, code !== undefined ? code : 'not JSON')
  }
  if (value?.format !== WANT_FORMAT || value.version !== 1 || !Array.isArray(value.wants)) {
    return bad(path, `no ${WANT_FORMAT} version 1 header`)
  }
  if (value.networkId !== networkId) {
    throw new CliError(
      `${path} was written on network ${JSON.stringify(value.networkId)}, not ${JSON.stringify(networkId)}`,
      ExitCode.requestFailed,
    )
  }
  let total = 0
  for (const want of value.wants) {
    if (typeof want?.id !== 'string' || !/^[0-9a-f]{64}$/.test(want.id)) bad(path, 'a want without a blob id')
    if (want.chunks === null) continue
    if (!Array.isArray(want.chunks) || !want.chunks.every((i) => Number.isSafeInteger(i) && i >= 0))
      bad(path, `bad chunk list for ${want.id}`)
    total += want.chunks.length
    if (total > MAX_WANTED_CHUNKS) bad(path, `more than ${MAX_WANTED_CHUNKS} chunks`)
  }
  return value
}

/** The chunks an answer carries: per blob, the indices asked for, or every chunk when none were named. */
export function answerSelection(
  wants: readonly Want[],
  manifestOf: (id: Uint8Array) => Manifest | undefined,
): { ids: Uint8Array[]; chunks: Map<string, number[]> } {
  const ids: Uint8Array[] = []
  const chunks = new Map<string, number[]>()
  for (const want of wants) {
    const id = Uint8Array.from(Buffer.from(want.id, 'hex'))
    const manifest = manifestOf(id)
    if (manifest === undefined) continue
    ids.push(id)
    chunks.set(want.id, want.chunks ?? Array.from({ length: manifest.chunkCount }, (_, i) => i))
  }
  return { ids, chunks }
}
