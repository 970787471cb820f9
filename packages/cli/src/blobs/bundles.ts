import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type BlobSelection,
  BUNDLE_STORES,
  BundleError,
  type Density,
  exportBundle,
  importBundle,
} from '@provsync/bundles'
import { type Signer, type StoreName, signerFromSeed } from '@provsync/crdt'
import { loadOrCreateIdentity, privateKeySeed } from '@provsync/sync'
import { choice, InvalidRequestError, integer, type Params, text } from '../control/params.js'
import { CliError, ExitCode } from '../errors.js'
import { readKeyFile } from '../keys.js'
import { type MethodCall, withHeartbeat } from './call.js'
import type { BlobContext } from './node.js'
import { answerSelection, readWantFile } from './want.js'

/** The importer's replay registry (and, beside it, the import journal), in the data directory. */
export const BUNDLE_REGISTRY = 'bundles.json'

/** `--blobs` to the bundle's density: none = manifests only (lite). */
const DENSITY_OF = { none: 'lite', pinned: 'standard', referenced: 'strict' } as const

/** One line, exit 4: the bundle was refused (tampered, untrusted, replayed, foreign, ...). */
function refused(err: unknown): never {
  if (err instanceof BundleError)
    throw new CliError(`bundle refused (${err.reason}): ${err.message}`, ExitCode.requestFailed)
  throw err
}

async function signerOf(ctx: BlobContext, keyFile: string | undefined): Promise<Signer> {
  if (keyFile !== undefined) return readKeyFile(keyFile, 'operator')
  return signerFromSeed(privateKeySeed(await loadOrCreateIdentity(ctx.dataDir)))
}

/**
 * The blobs an export carries: `none` the manifests of every blob held; `pinned` the pinned ones,
 * with their chunks; `referenced` those a record here references (evidence ids of supersessions and
 * assertions, artifacts' blob refs) and the pinned ones, with every chunk held (so a strict bundle
 * carries at least what a standard one does).
 */
function selection(ctx: BlobContext, blobs: 'none' | 'pinned' | 'referenced'): BlobSelection {
  const ids: Uint8Array[] = []
  for (const listing of ctx.store.list()) {
    const id = listing.manifest.id
    const referenced = ctx.references.of(id).length > 0
    if (blobs === 'none' || listing.pinned || (blobs === 'referenced' && referenced)) ids.push(id)
  }
  return { store: ctx.store, ids, chunks: blobs === 'none' ? 'none' : 'held' }
}

async function refuseExisting(out: string): Promise<void> {
  const exists = await stat(out).then(
    () => true,
    () => false,
  )
  if (exists) throw new CliError(`${out} already exists; an export writes a new file`, ExitCode.requestFailed)
}

function storesParam(params: Params): StoreName[] | undefined {
  const value = params.stores
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((s) => BUNDLE_STORES.includes(s as StoreName))) {
    throw new InvalidRequestError(`stores must be a list of ${BUNDLE_STORES.join(', ')}`)
  }
  return value as StoreName[]
}

export async function exportBundleMethod(ctx: BlobContext, params: Params, call: MethodCall) {
  const out = text(params, 'out', { maxBytes: 4096 })
  const answer = params.answer === undefined ? undefined : text(params, 'answer', { maxBytes: 4096 })
  const blobs = choice(params, 'blobs', ['none', 'pinned', 'referenced'] as const) ?? 'none'
  const keyFile = params.key === undefined ? undefined : text(params, 'key', { maxBytes: 4096 })
  const sinceLedger = integer(params, 'sinceLedger', 0, 0, Number.MAX_SAFE_INTEGER)
  await refuseExisting(out)
  const signers = [await signerOf(ctx, keyFile)]
  if (answer !== undefined) {
    const want = await readWantFile(answer, ctx.node.state.networkId)
    const picked = answerSelection(want.wants, (id) => ctx.store.localManifest(id))
    const result = await withHeartbeat(call, 'exporting', () =>
      exportBundle(ctx.node.state, out, {
        signers,
        density: 'strict',
        stores: [],
        ledger: false,
        blobs: { store: ctx.store, ...picked },
      }),
    ).catch(refused)
    return summary(result, out, signers[0]!)
  }
  const stores = storesParam(params)
  const density: Density = DENSITY_OF[blobs]
  const result = await withHeartbeat(call, 'exporting', () =>
    exportBundle(ctx.node.state, out, {
      signers,
      density,
      sinceLedger,
      ...(stores !== undefined ? { stores } : {}),
      blobs: selection(ctx, blobs),
    }),
  ).catch(refused)
  return summary(result, out, signers[0]!)
}

function summary(result: Awaited<ReturnType<typeof exportBundle>>, out: string, signer: Signer) {
  return {
    out,
    bundleHash: result.bundleHash,
    bytes: result.bytes,
    density: result.manifest.density,
    signer: Buffer.from(signer.publicKey).toString('hex'),
    exporter: result.manifest.exporter,
    parts: result.manifest.parts.map((p) => ({
      kind: p.kind,
      store: p.store ?? null,
      count: p.count ?? null,
      size: p.size,
    })),
  }
}

export async function importBundleMethod(ctx: BlobContext, params: Params, call: MethodCall) {
  const file = text(params, 'file', { maxBytes: 4096 })
  const extra = params.trustKeys ?? []
  if (!Array.isArray(extra) || !extra.every((k) => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k))) {
    throw new InvalidRequestError('trustKeys must be a list of 32-byte keys in hex')
  }
  const trustedKeys = [...ctx.trust, ...extra.map((k) => Uint8Array.from(Buffer.from(k as string, 'hex')))]
  const result = await withHeartbeat(call, 'importing', () =>
    importBundle(ctx.node.state, file, {
      trustedKeys,
      registry: join(ctx.dataDir, BUNDLE_REGISTRY),
      blobs: ctx.store,
    }),
  ).catch(refused)
  for (const hex of [...ctx.wanted]) {
    if (ctx.store.missing(Buffer.from(hex, 'hex'))?.length === 0) ctx.wanted.delete(hex)
  }
  return { file, ...result }
}
