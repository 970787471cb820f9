import { createReadStream } from 'node:fs'
import { mkdtemp, open, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { blake3, type NodeState, type Signer, type StoreName, toHex } from '@provsync/crdt'
import { formatTimestamp } from '@provsync/hlc'
import { createBLAKE3 } from 'hash-wasm'
import { type BlobSelection, selectedManifests, stageBlobChunks, stageBlobManifests } from './blob-parts.js'
import { encodeEnvelope, signEnvelope } from './dsse.js'
import { BundleFormatError } from './errors.js'
import {
  BUNDLE_STORES,
  type BundleManifest,
  DENSITIES,
  type Density,
  MAGIC,
  PAYLOAD_TYPE,
  type PartEntry,
  u32,
} from './format.js'
import { filterLedger } from './ledger-part.js'

export interface ExportOptions {
  /** The keys that sign the envelope (the node's key or an operator's); at least one. */
  readonly signers: readonly Signer[]
  readonly density: Density
  /** Stores whose records are exported; default all three. */
  readonly stores?: readonly StoreName[]
  /** Only ledger entries with seq > sinceLedger; default 0 (all). */
  readonly sinceLedger?: number
  /** Where part files are staged; default next to a path output, else the OS temp directory. */
  readonly tmpDir?: string
  /** Carry the ledger entries (a `ledger` part). @default true */
  readonly ledger?: boolean
  /** Blobs to carry: their manifests (a `blob-manifests` part) and chunks (`blob-chunks`). @default none */
  readonly blobs?: BlobSelection
}

export interface ExportResult {
  /** BLAKE3 of the signed manifest (hex): the bundle's identity. */
  readonly bundleHash: string
  readonly manifest: BundleManifest
  readonly bytes: number
}

type Sink = { write(chunk: Uint8Array): Promise<void>; close(): Promise<void>; abort(): Promise<void> }

const FLUSH_BYTES = 1 << 20

/** Writes one store's replicated records to `file` as frames, hashing as it goes. */
async function stageRecords(state: NodeState, store: StoreName, file: string): Promise<PartEntry> {
  const handle = await open(file, 'w')
  const hasher = await createBLAKE3()
  hasher.init()
  let size = 0
  let count = 0
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  const flush = async () => {
    const chunk = Buffer.concat(pending)
    hasher.update(chunk)
    await handle.write(chunk)
    size += chunk.length
    pending = []
    pendingBytes = 0
  }
  try {
    for (const stored of state.records(store)) {
      if (!stored.replicated) continue
      const frame = new Uint8Array(2 + stored.record.length)
      new DataView(frame.buffer).setUint16(0, stored.record.length)
      frame.set(stored.record, 2)
      pending.push(frame)
      pendingBytes += frame.length
      count++
      if (pendingBytes >= FLUSH_BYTES) await flush()
    }
    await flush()
  } finally {
    await handle.close()
  }
  return { kind: 'records', store, count, size, blake3: hasher.digest('hex') }
}

function pathSink(path: string): Sink {
  const staging = `${path}.partial`
  const handle = open(staging, 'w')
  return {
    write: async (chunk) => void (await (await handle).write(chunk)),
    async close() {
      const h = await handle
      await h.sync()
      await h.close()
      await rename(staging, path)
    },
    async abort() {
      await (await handle).close()
      await rm(staging, { force: true })
    },
  }
}

function streamSink(stream: WritableStream<Uint8Array>): Sink {
  const writer = stream.getWriter()
  return {
    write: (chunk) => writer.write(chunk),
    close: () => writer.close(),
    abort: () => writer.abort(),
  }
}

function checkOptions(options: ExportOptions): StoreName[] {
  // An empty list means no records parts (a sneakernet answer carries chunks only).
  if (options.signers.length === 0) throw new BundleFormatError('export needs at least one signer')
  if (!DENSITIES.includes(options.density)) throw new BundleFormatError(`unknown density ${options.density}`)
  const stores = options.stores ?? BUNDLE_STORES
  for (const s of stores) if (!BUNDLE_STORES.includes(s)) throw new BundleFormatError(`unknown store ${s}`)
  return BUNDLE_STORES.filter((s) => stores.includes(s))
}

/**
 * Stages every part in `dir` (blob manifests and chunks, records by store, then the ledger);
 * returns entries and files. Blob parts come first: an importer stores chunks (content-addressed,
 * each verified) before the records that may reference them.
 */
async function stageParts(state: NodeState, stores: StoreName[], options: ExportOptions, dir: string) {
  const parts: PartEntry[] = []
  const files: string[] = []
  if (options.blobs !== undefined) {
    const manifests = selectedManifests(options.blobs)
    parts.push(await stageBlobManifests(manifests, join(dir, 'blob-manifests')))
    files.push(join(dir, 'blob-manifests'))
    if (options.blobs.chunks !== 'none') {
      parts.push(await stageBlobChunks(options.blobs, manifests, join(dir, 'blob-chunks')))
      files.push(join(dir, 'blob-chunks'))
    }
  }
  for (const store of stores) {
    const file = join(dir, `records-${store}`)
    parts.push(await stageRecords(state, store, file))
    files.push(file)
  }
  if (options.ledger === false) return { parts, files }
  const ledger = filterLedger(state.ledger.export(), options.sinceLedger ?? 0)
  const file = join(dir, 'ledger')
  const handle = await open(file, 'w')
  await handle.write(ledger)
  await handle.close()
  parts.push({ kind: 'ledger', size: ledger.length, blake3: toHex(blake3(ledger)) })
  files.push(file)
  return { parts, files }
}

/**
 * Exports the node's records (replicated ones, by store) and ledger entries into a bundle:
 * parts are staged to temporary files and hashed, the manifest of their hashes is signed in a
 * DSSE envelope, then header, envelope and parts are streamed to `out` (a path, written to
 * `<path>.partial` and renamed when complete, or a WritableStream).
 */
export async function exportBundle(
  state: NodeState,
  out: string | WritableStream<Uint8Array>,
  options: ExportOptions,
): Promise<ExportResult> {
  const stores = checkOptions(options)
  const sinceLedger = options.sinceLedger ?? 0
  const base = options.tmpDir ?? (typeof out === 'string' ? dirname(out) : tmpdir())
  const dir = await mkdtemp(join(base, '.bundle-'))
  try {
    const { parts, files } = await stageParts(state, stores, options, dir)
    const manifest: BundleManifest = {
      format: 'provsync-bundle',
      version: 1,
      networkId: state.networkId,
      exporter: toHex(state.publicKey),
      sequence: formatTimestamp(state.clock.now()),
      density: options.density,
      stores,
      sinceLedger,
      parts,
    }
    const payload = new TextEncoder().encode(JSON.stringify(manifest))
    const envelope = encodeEnvelope(signEnvelope(PAYLOAD_TYPE, payload, options.signers))
    const sink = typeof out === 'string' ? pathSink(out) : streamSink(out)
    const bytes = await writeBundle(sink, envelope, files)
    return { bundleHash: toHex(blake3(payload)), manifest, bytes }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function writeBundle(sink: Sink, envelope: Uint8Array, files: string[]): Promise<number> {
  let bytes = 0
  const write = async (chunk: Uint8Array) => {
    bytes += chunk.length
    await sink.write(chunk)
  }
  try {
    await write(MAGIC)
    await write(u32(envelope.length))
    await write(envelope)
    for (const file of files) {
      for await (const chunk of createReadStream(file, { highWaterMark: FLUSH_BYTES })) {
        await write(new Uint8Array(chunk as Buffer))
      }
    }
    await sink.close()
    return bytes
  } catch (error) {
    await sink.abort().catch(() => {})
    throw error
  }
}
