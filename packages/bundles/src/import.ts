import { type ApplyOutcome, fromHex, type NodeState, type StoreName, toHex } from '@provsync/crdt'
import { createBLAKE3 } from 'hash-wasm'
import { BundleChangedError, LedgerRefusedError } from './errors.js'
import { IMPORT_BATCH, type PartEntry } from './format.js'
import { bundleSource, type InspectedBundle, inspectBundle, readHeader } from './inspect.js'
import { checkReplay, type ImportRecord, loadRegistry, recordImport } from './registry.js'
import { ByteSource } from './source.js'

export interface ImportOptions {
  /** Keys whose signature makes a bundle acceptable: the node's operators, or a key named explicitly. */
  readonly trustedKeys: readonly Uint8Array[]
  /** Distinct trusted signatures required; default 1. */
  readonly threshold?: number
  /** Path of the importer's replay registry (JSON), e.g. `<dataDir>/bundles.json`. */
  readonly registry: string
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
  apply: (store: StoreName, batch: Uint8Array[]) => Promise<void>,
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
    await apply(entry.store!, batch)
  }
  if (await frames.hasMore()) throw new BundleChangedError(part, digests.length)
}

async function applyParts(state: NodeState, path: string, bundle: InspectedBundle, from: Uint8Array) {
  const records: Partial<Record<StoreName, OutcomeCounts>> = {
    revocations: emptyCounts(),
    supersessions: emptyCounts(),
    assertions: emptyCounts(),
  }
  const correlationId = `bundle:${bundle.bundleHash}`
  const apply = async (store: StoreName, batch: Uint8Array[]) => {
    for (const outcome of await state.apply(store, batch, { from, correlationId }))
      (records[store] ??= emptyCounts())[outcome.status]++
  }
  const source = bundleSource(path)
  const header = await readHeader(source)
  if (toHex(header) !== toHex(bundle.envelopeBytes)) throw new BundleChangedError(-1, 0)
  for (const [i, entry] of bundle.manifest.parts.entries()) {
    if (entry.kind === 'records') {
      await applyRecordsPart(source, entry, i, bundle.batchDigests[i]!, apply)
    } else {
      for await (const _ of source.take(entry.size));
    }
  }
  return records
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
  })
  return importInspected(state, path, bundle, options.registry)
}

/** Steps 2–5 of an import, after the verifying pass (exported for tests of a changed file). */
export async function importInspected(
  state: NodeState,
  path: string,
  bundle: InspectedBundle,
  registryPath: string,
): Promise<ImportResult> {
  const signers = bundle.verified.signers.map(toHex)
  const record: ImportRecord = {
    sequence: bundle.manifest.sequence,
    signers,
    exporter: bundle.manifest.exporter,
  }
  const registry = await loadRegistry(registryPath)
  checkReplay(registry, bundle.bundleHash, record)
  let ledger = { entries: bundle.ledgerEntries, added: 0, viewChanges: 0 }
  if (bundle.ledger !== undefined && bundle.ledgerEntries > 0) {
    try {
      ledger = { entries: bundle.ledgerEntries, ...state.ledger.import(bundle.ledger) }
    } catch (error) {
      throw new LedgerRefusedError(error as Error)
    }
  }
  const records = await applyParts(state, path, bundle, fromHex(signers[0]!))
  await recordImport(registryPath, registry, bundle.bundleHash, record)
  const provenance = `imported from bundle ${bundle.bundleHash}, signed by ${signers[0]}`
  return { bundleHash: bundle.bundleHash, signers, provenance, records, ledger }
}
