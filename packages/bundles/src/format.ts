/**
 * Bundle file layout: MAGIC (8 bytes) ‖ u32 BE envelope length ‖ DSSE JSON envelope ‖ the parts'
 * bytes, concatenated in manifest order. The envelope's payload is the manifest (JSON), which
 * names each part's kind, size and BLAKE3 hash. A records part is a sequence of frames
 * u16 BE length ‖ encoded signed record.
 */
import { LEGACY_STORE_NAMES, type StoreName } from '@provsync/crdt'

/**
 * The stores a bundle carries: the first release's three. The invalidations store (networked
 * invalidation) has records of another codec; carrying it is a new part kind, not done yet.
 */
export const BUNDLE_STORES: readonly StoreName[] = LEGACY_STORE_NAMES

import { BundleFormatError } from './errors.js'

export const MAGIC = new Uint8Array([0x50, 0x53, 0x42, 0x4e, 0x44, 0x4c, 0x00, 0x01]) // "PSBNDL" 0 1
export const PAYLOAD_TYPE = 'application/vnd.provsync.bundle-manifest.v1+json'
export const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
export const MAX_LEDGER_PART_BYTES = 256 * 1024 * 1024
/** Records per apply batch on import; also the unit of the re-read check between passes. */
export const IMPORT_BATCH = 1000

export type Density = 'lite' | 'standard' | 'strict'
export const DENSITIES: readonly Density[] = ['lite', 'standard', 'strict']

/**
 * Part kinds: `records`, `ledger`, and the blob parts (`blob-manifests`: every density;
 * `blob-chunks`: the chunks of pinned blobs for `standard`, every referenced chunk held for
 * `strict`, or exactly the chunks a want file asked for). An importer without a blob store
 * refuses blob parts (`UnsupportedPartError`).
 */
export type PartKind = 'records' | 'ledger' | 'blob-manifests' | 'blob-chunks'
const PART_KINDS: readonly string[] = ['records', 'ledger', 'blob-manifests', 'blob-chunks']

export interface PartEntry {
  readonly kind: PartKind
  /** For `records`: the store the records belong to. */
  readonly store?: StoreName
  /** For `records` and the blob parts: the number of frames. */
  readonly count?: number
  readonly size: number
  /** BLAKE3 of the part's bytes, hex. */
  readonly blake3: string
}

export interface BundleManifest {
  readonly format: 'provsync-bundle'
  readonly version: 1
  readonly networkId: string
  /** Public key (hex) of the exporting node. */
  readonly exporter: string
  /** The exporting node's HLC at export (hlc `formatTimestamp`): the export sequence. */
  readonly sequence: string
  readonly density: Density
  readonly stores: StoreName[]
  /** Ledger entries with seq > sinceLedger are included. */
  readonly sinceLedger: number
  readonly parts: PartEntry[]
}

const HEX64 = /^[0-9a-f]{64}$/

function checkPart(part: PartEntry, i: number): void {
  if (part === null || typeof part !== 'object') throw new BundleFormatError(`part ${i} is not an object`)
  if (!PART_KINDS.includes(part.kind))
    throw new BundleFormatError(`part ${i}: unknown kind ${String(part.kind)}`)
  if (!Number.isSafeInteger(part.size) || part.size < 0) throw new BundleFormatError(`part ${i}: bad size`)
  if (typeof part.blake3 !== 'string' || !HEX64.test(part.blake3)) {
    throw new BundleFormatError(`part ${i}: bad blake3`)
  }
  if (part.kind === 'records' && !BUNDLE_STORES.includes(part.store as StoreName)) {
    throw new BundleFormatError(`part ${i}: bad store`)
  }
  if (part.kind !== 'ledger' && (!Number.isSafeInteger(part.count) || (part.count as number) < 0)) {
    throw new BundleFormatError(`part ${i}: bad count`)
  }
}

/** Parses and checks the signed manifest (after the envelope verified). */
export function parseManifest(payload: Uint8Array): BundleManifest {
  let value: BundleManifest
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as BundleManifest
  } catch {
    throw new BundleFormatError('manifest is not JSON')
  }
  if (value === null || value.format !== 'provsync-bundle' || value.version !== 1) {
    throw new BundleFormatError('manifest is not provsync-bundle version 1')
  }
  if (typeof value.networkId !== 'string' || typeof value.sequence !== 'string') {
    throw new BundleFormatError('manifest lacks networkId or sequence')
  }
  if (typeof value.exporter !== 'string' || !HEX64.test(value.exporter)) {
    throw new BundleFormatError('manifest exporter is not a key')
  }
  if (!DENSITIES.includes(value.density)) throw new BundleFormatError('manifest density is unknown')
  if (!Number.isSafeInteger(value.sinceLedger)) throw new BundleFormatError('manifest sinceLedger is bad')
  if (!Array.isArray(value.parts) || !Array.isArray(value.stores)) {
    throw new BundleFormatError('manifest lacks parts or stores')
  }
  value.parts.forEach(checkPart)
  return value
}

export function u32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}
/**
 * Bytes of records whose crdt verification handles an import keeps from its verifying pass to its
 * applying pass (which then verifies nothing again). Past it, a batch is still verified once in
 * the verifying pass and verified again by `apply`, so a bundle of any size imports in bounded
 * memory. 64 MiB holds some 300,000 records of ~200 bytes.
 */
export const KEEP_VERIFIED_BYTES = 64 * 1024 * 1024
