/**
 * The importer's record of bundles it imported, against replays: a bundle whose hash was already
 * imported is refused, and so is one whose export sequence (the exporter's HLC) is not later than
 * the last bundle imported from the same signer key. Kept as a JSON file, replaced atomically.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { compareTimestamps, parseTimestamp, type Timestamp } from '@provsync/hlc'
import { BundleFormatError, ReplayedBundleError } from './errors.js'

export interface ImportRecord {
  readonly sequence: string
  readonly signers: string[]
  readonly exporter: string
}

export interface ReplayRegistry {
  readonly version: 1
  /** Bundle hash (hex) → what was imported. */
  readonly imported: Record<string, ImportRecord>
  /** Signer key (hex) → sequence of the latest bundle imported under that key. */
  readonly latest: Record<string, string>
}

export async function loadRegistry(path: string): Promise<ReplayRegistry> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, imported: {}, latest: {} }
    throw error
  }
  const value = JSON.parse(text) as ReplayRegistry
  if (value?.version !== 1 || typeof value.imported !== 'object' || typeof value.latest !== 'object') {
    throw new BundleFormatError(`${path} is not a bundle registry`)
  }
  return value
}

function sequenceOf(text: string): Timestamp {
  try {
    return parseTimestamp(text)
  } catch {
    throw new BundleFormatError(`bad export sequence ${JSON.stringify(text)}`)
  }
}

/** Throws `ReplayedBundleError` when this bundle was imported already or is older (see above). */
export function checkReplay(registry: ReplayRegistry, bundleHash: string, record: ImportRecord): void {
  if (registry.imported[bundleHash] !== undefined) {
    throw new ReplayedBundleError(bundleHash, record.signers[0] ?? '', 'already-imported')
  }
  const sequence = sequenceOf(record.sequence)
  for (const signer of record.signers) {
    const last = registry.latest[signer]
    if (last !== undefined && compareTimestamps(sequence, sequenceOf(last)) <= 0) {
      throw new ReplayedBundleError(bundleHash, signer, 'older', last)
    }
  }
}

export async function recordImport(
  path: string,
  registry: ReplayRegistry,
  bundleHash: string,
  record: ImportRecord,
): Promise<void> {
  const latest = { ...registry.latest }
  for (const signer of record.signers) latest[signer] = record.sequence
  const next: ReplayRegistry = {
    version: 1,
    imported: { ...registry.imported, [bundleHash]: record },
    latest,
  }
  await writeFile(`${path}.tmp`, JSON.stringify(next, null, 1))
  await rename(`${path}.tmp`, path)
}
