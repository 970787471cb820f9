import type { BlobStore } from '@provsync/blobs'
import {
  type ApplyOutcome,
  fromHex,
  InvalidArgumentError,
  type NodeState,
  type StoreName,
  toHex,
} from '@provsync/crdt'
import { createBLAKE3 } from 'hash-wasm'
import { readChunkFrame } from './blob-parts.js'
import { BadBlobError, BundleChangedError, LedgerRefusedError, UnsupportedPartError } from './errors.js'
import { IMPORT_BATCH, type PartEntry } from './format.js'
import { bundleSource, type InspectedBundle, inspectBundle, readHeader } from './inspect.js'
import { checkPending, clearPending, markPending } from './pending.js'
import { checkReplay, type ImportRecord, loadRegistry, recordImport } from './registry.js'
import { ByteSource } from './source.js'

export interface ImportOptions {
  /** Keys whose signature makes a bundle acceptable: the node's operators, or a key named explicitly. */
  readonly trustedKeys: readonly Uint8Array[]
  /** Distinct trusted signatures required; default 1. */
  readonly threshold?: number
  /** Path of the importer's replay registry (JSON), e.g. `<dataDir>/bundles.json`. */
  readonly registry: string
  /** Where blob manifests and chunks go; without it a bundle with blob parts is refused. @default undefined */
  readonly blobs?: BlobStore
  /** Test hooks: `afterBatch` runs after each records batch is applied (a failure injected mid-import). @default none */
  readonly faults?: { readonly afterBatch?: (part: number, batch: number) => void }
}

export type OutcomeCounts = Record<ApplyOutcome['status'], number>

export interface ImportResult {
  readonly bundleHash: string
  /** The trusted keys (hex) whose signatures verified; the first is the records' `from`. */
  readonly signers: string[]
  /** "imported from bundle <hash>, signed by <key>"; also the apply correlation id's subject. */
  readonly provenance: string
  readonly records: Partial<Record<StoreName, OutcomeCounts>>
  readonly ledger: { readonly entries: number; readonly added: number; readonly viewChanges: number }
  readonly blobs: { readonly manifests: number; readonly chunks: number }
  /** This import completed one that had stopped part way. */
  readonly resumed: boolean
}

interface ApplyContext {
  readonly state: NodeState
  readonly bundle: InspectedBundle
  readonly from: Uint8Array
  readonly blobs: BlobStore | undefined
  readonly afterBatch: ((part: number, batch: number) => void) | undefined
}

function emptyCounts(): OutcomeCounts {
  return { applied: 0, duplicate: 0, superseded: 0, refused: 0 }
}

/** Reads a records part again in batches; each batch must match the digest of the verifying pass. */
async function applyRecordsPart(
  source: ByteSource,
  entry: PartEntry,
  part: number,
  digests: string[],
  apply: (store: StoreName, batch: Uint8Array[], b: number) => Promise<void>,
  afterBatch: ((part: number, batch: number) => void) | undefined,
): Promise<void> {
  const frames = new ByteSource(source.take(entry.size))
  const hasher = await createBLAKE3()
  for (let b = 0; b < digests.length; b++) {
    hasher.init()
    const batch: Uint8Array[] = []
    while (batch.length < IMPORT_BATCH && (await frames.hasMore())) {
      const head = await frames.readExact(2)
      const record = await frames.readExact(new DataView(head.buffer).getUint16(0))
      hasher.update(head).update(record)
      batch.push(record)
    }
    if (hasher.digest('hex') !== digests[b]) throw new BundleChangedError(part, b)
    await apply(entry.store!, batch, b)
    afterBatch?.(part, b)
  }
  if (await frames.hasMore()) throw new BundleChangedError(part, digests.length)
}

/** Stores the chunks of a blob-chunks part, each checked again against its manifest. */
async function applyChunksPart(source: ByteSource, entry: PartEntry, part: number, ctx: ApplyContext) {
  const frames = new ByteSource(source.take(entry.size))
  let index = 0
  try {
    while (await frames.hasMore()) {
      const { manifest, chunk, bytes } = await readChunkFrame(frames, ctx.bundle.blobManifests, part, index)
      if (!(await ctx.blobs!.storeChunk(manifest, chunk, bytes))) throw new BundleChangedError(part, index)
      index++
    }
  } catch (error) {
    if (error instanceof BadBlobError) throw new BundleChangedError(part, index)
    throw error
  }
  return index
}

/** Adopts the bundle's blob manifests, pinned when the bundle carries chunks (they cannot be fetched again). */
function adoptManifests(ctx: ApplyContext): number {
  const pin = ctx.bundle.manifest.parts.some((p) => p.kind === 'blob-chunks')
  for (const manifest of ctx.bundle.blobManifests.values()) ctx.blobs!.adoptManifest(manifest, { pin })
  return ctx.bundle.blobManifests.size
}

async function applyParts(ctx: ApplyContext, path: string) {
  const { state, bundle, from } = ctx
  const records: Partial<Record<StoreName, OutcomeCounts>> = {
    revocations: emptyCounts(),
    supersessions: emptyCounts(),
    assertions: emptyCounts(),
  }
  const blobs = { manifests: 0, chunks: 0 }
  const correlationId = `bundle:${bundle.bundleHash}`
  const apply = (part: number) => async (store: StoreName, batch: Uint8Array[], b: number) => {
    // A batch the verifying pass verified through this state is applied from its handle (the very
    // bytes that verified, equal to `batch` by its digest): its signatures are not verified again.
    const handle = bundle.verifiedBatches[part]?.[b]
    const outcomes = handle
      ? await state.applyVerified(handle, { from, correlationId })
      : await state.apply(store, batch, { from, correlationId })
    for (const outcome of outcomes) (records[store] ??= emptyCounts())[outcome.status]++
  }
  const source = bundleSource(path)
  const header = await readHeader(source)
  if (toHex(header) !== toHex(bundle.envelopeBytes)) throw new BundleChangedError(-1, 0)
  for (const [i, entry] of bundle.manifest.parts.entries()) {
    if (entry.kind === 'records') {
      await applyRecordsPart(source, entry, i, bundle.batchDigests[i]!, apply(i), ctx.afterBatch)
    } else if (entry.kind === 'blob-chunks') {
      blobs.chunks += await applyChunksPart(source, entry, i, ctx)
    } else {
      if (entry.kind === 'blob-manifests') blobs.manifests = adoptManifests(ctx)
      for await (const _ of source.take(entry.size));
    }
  }
  return { records, blobs }
}

/**
 * Imports a bundle file: verifies it whole first (envelope against `trustedKeys`, every part
 * against the signed manifest, every record's signature, network, replay registry), so a bundle
 * failing any check is refused with a `BundleError` and nothing applied. Then imports the ledger
 * entries (the node verifies them against its trust bundle, appends and replays), and applies the
 * records as if pulled from a peer: `from` is the bundle's signer, the correlation id
 * `bundle:<hash>`. Records the bundle in the registry last.
 */
export async function importBundle(
  state: NodeState,
  path: string,
  options: ImportOptions,
): Promise<ImportResult> {
  const bundle = await inspectBundle(path, {
    trustedKeys: options.trustedKeys,
    threshold: options.threshold,
    networkId: state.networkId,
    blobParts: options.blobs !== undefined,
    state,
  })
  return importInspected(state, path, bundle, options.registry, options)
}

/**
 * Steps 2–5 of an import, after the verifying pass (exported for tests of a changed file).
 * All-or-nothing by rolling forward: a journal naming the bundle is written before the first
 * commit and removed after the registry records the import; while it exists, only that bundle
 * may be imported (again), which re-verifies it and applies it whole (every step is idempotent).
 */
export async function importInspected(
  state: NodeState,
  path: string,
  bundle: InspectedBundle,
  registryPath: string,
  options: Pick<ImportOptions, 'blobs' | 'faults'> = {},
): Promise<ImportResult> {
  if (bundle.verifiedBy !== undefined && bundle.verifiedBy !== state) {
    throw new InvalidArgumentError('bundle', 'inspected through another node state; inspect it with this one')
  }
  const signers = bundle.verified.signers.map(toHex)
  const record: ImportRecord = {
    sequence: bundle.manifest.sequence,
    signers,
    exporter: bundle.manifest.exporter,
  }
  const blobPart = bundle.manifest.parts.findIndex((p) => p.kind.startsWith('blob-'))
  if (blobPart >= 0 && options.blobs === undefined) {
    throw new UnsupportedPartError(blobPart, bundle.manifest.parts[blobPart]!.kind)
  }
  const resumed = await checkPending(registryPath, bundle.bundleHash)
  const registry = await loadRegistry(registryPath)
  checkReplay(registry, bundle.bundleHash, record)
  await markPending(registryPath, bundle.bundleHash, path)
  let ledger = { entries: bundle.ledgerEntries, added: 0, viewChanges: 0 }
  if (bundle.ledger !== undefined && bundle.ledgerEntries > 0) {
    try {
      ledger = { entries: bundle.ledgerEntries, ...state.ledger.import(bundle.ledger) }
    } catch (error) {
      throw new LedgerRefusedError(error as Error)
    }
  }
  const ctx: ApplyContext = {
    state,
    bundle,
    from: fromHex(signers[0]!),
    blobs: options.blobs,
    afterBatch: options.faults?.afterBatch,
  }
  const { records, blobs } = await applyParts(ctx, path)
  await recordImport(registryPath, registry, bundle.bundleHash, record)
  await clearPending(registryPath)
  const provenance = `imported from bundle ${bundle.bundleHash}, signed by ${signers[0]}`
  return { bundleHash: bundle.bundleHash, signers, provenance, records, ledger, blobs, resumed }
}
