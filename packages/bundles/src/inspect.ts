import { createReadStream } from 'node:fs'
import type { Manifest } from '@provsync/blobs'
import { blake3, type NodeState, toHex, type VerifiedRecords } from '@provsync/crdt'
import { createBLAKE3 } from 'hash-wasm'
import { checkBlobChunks, readBlobManifests } from './blob-parts.js'
import { type Envelope, encodeEnvelope, openEnvelope, type VerifiedEnvelope, verifyEnvelope } from './dsse.js'
import {
  BadRecordError,
  BundleFormatError,
  EnvelopeFormatError,
  ExtraDataError,
  MissingPartError,
  PartMismatchError,
  UnsupportedPartError,
  WrongNetworkBundleError,
} from './errors.js'
import {
  type BundleManifest,
  IMPORT_BATCH,
  MAGIC,
  MAX_ENVELOPE_BYTES,
  MAX_LEDGER_PART_BYTES,
  PAYLOAD_TYPE,
  type PartEntry,
  parseManifest,
} from './format.js'
import { ledgerEntryCount } from './ledger-part.js'
import { ByteSource, ShortReadError, tap } from './source.js'
import { StateVerifying } from './state-verify.js'
import { checkRecord } from './verify-record.js'

export interface InspectOptions {
  readonly trustedKeys: readonly Uint8Array[]
  /** Distinct trusted signatures required; default 1. */
  readonly threshold?: number
  /** When set, a bundle of another network is refused. */
  readonly networkId?: string
  /** Accept blob parts (the importer has a blob store); otherwise they are `UnsupportedPartError`. @default false */
  readonly blobParts?: boolean
  /**
   * The importing node: signatures are verified through its `verifyRecords` (on crdt's shared
   * pool) and the handles kept in `verifiedBatches` for `applyVerified`; without it, on this
   * thread. Its network is the bundle's required network. @default undefined
   */
  readonly state?: NodeState
}

export interface InspectedBundle {
  readonly envelope: Envelope
  readonly envelopeBytes: Uint8Array
  readonly verified: VerifiedEnvelope
  readonly manifest: BundleManifest
  /** BLAKE3 of the signed manifest, hex. */
  readonly bundleHash: string
  /** Per part: BLAKE3 of each batch of IMPORT_BATCH frames (records parts), for the apply pass. */
  readonly batchDigests: string[][]
  /**
   * Per part, per batch: the crdt handle of the verifying pass (`state` given, within
   * KEEP_VERIFIED_BYTES), which the applying pass hands to `applyVerified`; undefined otherwise.
   */
  readonly verifiedBatches: (VerifiedRecords | undefined)[][]
  /** The node state whose handles `verifiedBatches` holds (`InspectOptions.state`). */
  readonly verifiedBy?: NodeState
  /** The ledger part's bytes (verified against the manifest), when the bundle has one. */
  readonly ledger?: Uint8Array
  readonly ledgerEntries: number
  /** The blob manifests the bundle carries (each id recomputed), by id hex. */
  readonly blobManifests: ReadonlyMap<string, Manifest>
  /** Chunks the bundle carries (each checked against its blob manifest). */
  readonly blobChunks: number
}

export function bundleSource(path: string): ByteSource {
  return new ByteSource(createReadStream(path, { highWaterMark: 1 << 20 }))
}

/** Reads magic, envelope length and envelope bytes. */
export async function readHeader(source: ByteSource): Promise<Uint8Array> {
  try {
    const magic = await source.readExact(MAGIC.length)
    if (!magic.every((b, i) => b === MAGIC[i])) throw new BundleFormatError('bad magic')
    const length = new DataView((await source.readExact(4)).buffer).getUint32(0)
    if (length > MAX_ENVELOPE_BYTES) throw new BundleFormatError(`envelope of ${length} bytes is too large`)
    return await source.readExact(length)
  } catch (error) {
    if (error instanceof ShortReadError) throw new BundleFormatError('truncated header')
    throw error
  }
}

interface FramesContext {
  readonly networkId: string
  readonly state: NodeState | undefined
  readonly budget: { kept: number }
}

/**
 * Frames of one records part: each record decoded and its signature verified (through the
 * node's state when given, keeping the handles); returns the batch digests and handles.
 */
async function readFrames(inner: ByteSource, entry: PartEntry, part: number, fc: FramesContext) {
  const digests: string[] = []
  const viaState = fc.state && new StateVerifying(fc.state, entry.store!, fc.networkId, part, fc.budget)
  const batch = await createBLAKE3()
  batch.init()
  let records: Uint8Array[] = []
  let index = 0
  const endBatch = () => {
    digests.push(batch.digest('hex'))
    batch.init()
    viaState?.push(records, index - records.length)
    records = []
  }
  try {
    while (await inner.hasMore()) {
      const record = await readFrame(inner, part, index, batch)
      // Through a node state the record is decoded and checked once, by crdt's `verifyRecords`;
      // the records it refuses are checked here (decode, store, signature) as it settles them.
      if (viaState === undefined) checkRecord(record, entry.store!, fc.networkId, part, index)
      records.push(record)
      if (++index % IMPORT_BATCH === 0) endBatch()
    }
    if (index % IMPORT_BATCH !== 0) endBatch()
  } catch (error) {
    // A bad signature in the batch still in flight comes first: it is earlier in the part.
    viaState?.settle()
    throw error
  }
  viaState?.settle()
  if (index !== entry.count) {
    throw new BadRecordError(part, index, `part holds ${index} records, the manifest says ${entry.count}`)
  }
  return { digests, handles: viaState?.handles ?? digests.map(() => undefined) }
}

async function readFrame(
  inner: ByteSource,
  part: number,
  index: number,
  batch: { update(b: Uint8Array): unknown },
): Promise<Uint8Array> {
  try {
    const head = await inner.readExact(2)
    const record = await inner.readExact(new DataView(head.buffer).getUint16(0))
    batch.update(head)
    batch.update(record)
    return record
  } catch (error) {
    if (error instanceof ShortReadError) throw new BadRecordError(part, index, 'truncated frame')
    throw error
  }
}

/**
 * Streams one part: its size and BLAKE3 are checked against the manifest and its content by
 * `consume`. A content error in a part whose bytes do not match the manifest is reported as the
 * mismatch (the cause), and a part cut short as missing.
 */
async function checkPart<T>(
  source: ByteSource,
  entry: PartEntry,
  part: number,
  consume: (inner: ByteSource) => Promise<T>,
): Promise<T> {
  const hasher = await createBLAKE3()
  hasher.init()
  let seen = 0
  const inner = new ByteSource(
    tap(source.take(entry.size), (c) => hasher.update(c) && void (seen += c.length)),
  )
  let result: T | undefined
  let problem: unknown
  try {
    result = await consume(inner)
  } catch (error) {
    problem = error
  }
  try {
    await inner.drain()
  } catch (error) {
    if (!(error instanceof ShortReadError)) throw error
  }
  if (seen < entry.size) throw new MissingPartError(part, entry.size - seen)
  const actual = hasher.digest('hex')
  if (actual !== entry.blake3) throw new PartMismatchError(part, 'blake3', entry.blake3, actual)
  if (problem !== undefined) throw problem
  return result as T
}

async function checkParts(
  source: ByteSource,
  manifest: BundleManifest,
  networkId: string,
  options: InspectOptions,
) {
  const blobParts = options.blobParts === true
  const fc: FramesContext = { networkId, state: options.state, budget: { kept: 0 } }
  const verifiedBatches: (VerifiedRecords | undefined)[][] = []
  const batchDigests: string[][] = []
  let ledger: Uint8Array | undefined
  let ledgerEntries = 0
  let blobManifests: Map<string, Manifest> | undefined
  let blobChunks = 0
  for (const [i, entry] of manifest.parts.entries()) {
    const isBlob = entry.kind === 'blob-manifests' || entry.kind === 'blob-chunks'
    if (isBlob && !blobParts) throw new UnsupportedPartError(i, entry.kind)
    if (entry.kind === 'blob-manifests') {
      if (blobManifests !== undefined) throw new BundleFormatError(`part ${i}: a second blob manifests part`)
      blobManifests = await checkPart(source, entry, i, (inner) => readBlobManifests(inner, entry, i))
      batchDigests.push([])
    } else if (entry.kind === 'blob-chunks') {
      blobChunks += await checkPart(source, entry, i, (inner) =>
        checkBlobChunks(inner, entry, i, blobManifests),
      )
      batchDigests.push([])
    } else if (entry.kind === 'records') {
      const { digests, handles } = await checkPart(source, entry, i, (inner) =>
        readFrames(inner, entry, i, fc),
      )
      batchDigests.push(digests)
      verifiedBatches.push(handles)
      continue
    } else if (entry.kind === 'ledger') {
      if (ledger !== undefined) throw new BundleFormatError(`part ${i}: a second ledger part`)
      if (entry.size > MAX_LEDGER_PART_BYTES) throw new BundleFormatError(`part ${i}: ledger part too large`)
      ledger = await checkPart(source, entry, i, (inner) => inner.readExact(entry.size))
      ledgerEntries = ledgerEntryCount(ledger, networkId)
      batchDigests.push([])
    } else {
      throw new UnsupportedPartError(i, entry.kind)
    }
    verifiedBatches.push([])
  }
  const extra = await source.drain()
  if (extra > 0) throw new ExtraDataError(extra)
  const blobs = { blobManifests: blobManifests ?? new Map<string, Manifest>(), blobChunks }
  return { batchDigests, verifiedBatches, ledger, ledgerEntries, ...blobs }
}

/**
 * The verifying pass over a bundle file, streaming: the envelope is verified against the trusted
 * keys first, then every part is checked against the signed manifest (size, BLAKE3) and every
 * record decoded and its signature verified. Nothing is kept but the ledger part and one small
 * digest per batch of records. Throws a `BundleError` naming the first problem.
 */
export async function inspectBundle(path: string, options: InspectOptions): Promise<InspectedBundle> {
  const source = bundleSource(path)
  const envelopeBytes = await readHeader(source)
  const envelope = openEnvelope(envelopeBytes)
  // A bundle's envelope is canonical (as encodeEnvelope writes it), and each counted signature
  // names its key: no bit of the file can change without the bundle being refused.
  if (Buffer.compare(encodeEnvelope(envelope), envelopeBytes) !== 0) {
    throw new EnvelopeFormatError('envelope is not in canonical form')
  }
  const verified = verifyEnvelope(envelope, options.trustedKeys, {
    threshold: options.threshold,
    payloadType: PAYLOAD_TYPE,
    strictKeyIds: true,
  })
  const manifest = parseManifest(verified.payload)
  const networkId = options.networkId ?? manifest.networkId
  if (manifest.networkId !== networkId) throw new WrongNetworkBundleError(manifest.networkId, networkId)
  const parts = await checkParts(source, manifest, networkId, options)
  return {
    envelope,
    envelopeBytes,
    verified,
    manifest,
    bundleHash: toHex(blake3(verified.payload)),
    ...parts,
    verifiedBy: options.state,
  }
}
