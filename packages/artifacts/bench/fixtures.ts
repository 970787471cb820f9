/**
 * What the artifacts bench and its profiling and comparison scripts share: the keys, the grants a
 * bench store starts from, batches of signed artifacts (the apply workload), the verification
 * baseline, and the raw lmdb-js copy that decision-cache hits are compared against.
 */
import { join } from 'node:path'
import {
  type ArtifactStore,
  DECISION_FAMILY,
  openArtifactStore,
  signArtifact,
  signGrant,
  verifyItem,
} from '@provsync/artifacts'
import { generateSigner, type Signer, verifySignature } from '@provsync/crdt'
import { tempDir } from '@provsync/testing'
import { open, type RootDatabase } from 'lmdb'

export const NET = 'bench-net'
export const BATCH = 1000
export const operator = generateSigner()
export const publisher = generateSigner()
export const nodeKey = generateSigner().publicKey

let tick = 0
/** A fresh timestamp for each record signed. */
export const at = () => ({ wallMs: Date.now(), counter: tick++ % 60_000 })

/** The node may hold, and `publisher` publish, under `bench`. */
export function grants(): Uint8Array[] {
  return [
    signGrant({ subject: nodeKey, right: 'hold', scopes: ['bench'], epoch: 1n }, operator, NET, at()).bytes,
    signGrant(
      { subject: publisher.publicKey, right: 'publish', scopes: ['bench'], epoch: 1n },
      operator,
      NET,
      at(),
    ).bytes,
  ]
}

/** The ~230-byte JSON content of artifact `i`. */
export const content = (i: number): Uint8Array =>
  new TextEncoder().encode(`{"config":${i},"pad":"${'x'.repeat(200)}"}`)

/** `count` artifacts `item-<start>`… by `signer`, spread over scopes `bench/s0` to `bench/s3` (or all in `scope`). */
export function artifacts(
  signer: Signer,
  family: string,
  start: number,
  count: number,
  options: { expiresAt?: number; scope?: string } = {},
): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => {
    const i = start + k
    const input = {
      scope: options.scope ?? `bench/s${i % 4}`,
      family,
      name: `item-${i}`,
      version: 1n,
      epoch: 1n,
      content: content(i),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
    }
    return signArtifact(input, signer, NET, at()).bytes
  })
}

/**
 * The apply benches' workload: `batches + 1` batches of {@link BATCH} new `cluster_snapshot`
 * artifacts by `publisher` in 4 scopes (the first to apply before measuring).
 */
export function applyBatches(batches: number): Uint8Array[][] {
  return Array.from({ length: batches + 1 }, (_, b) =>
    artifacts(publisher, 'cluster_snapshot', b * BATCH, BATCH),
  )
}

/**
 * The apply benches' baseline: `n` single-thread verifications of `record`'s signature. The whole
 * signed message (prefix ‖ body) is built once: the baseline is one verification, no copy.
 */
export function verifyBaseline(record: Uint8Array): (n: number) => void {
  const sample = verifyItem(record, NET)
  const message = Buffer.concat([sample.prefix ?? new Uint8Array(0), sample.message])
  return (n) => {
    for (let i = 0; i < n; i++) {
      if (!verifySignature(sample.publicKey, message, sample.signature)) throw new Error('bad')
    }
  }
}

/** The median of `xs` (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

/** A store in a fresh directory, with {@link grants} applied. */
export async function openBenchStore(
  noSync = false,
  prefix = 'provsync-artifacts-bench-',
): Promise<{ store: ArtifactStore; dir: string }> {
  const dir = tempDir(prefix)
  const store = await openArtifactStore({
    networkId: NET,
    nodeKey,
    trust: [operator.publicKey],
    dataDir: dir,
    noSync,
  })
  await store.apply(grants(), { from: nodeKey })
  return { store, dir }
}

/**
 * A raw lmdb-js database under `dir` holding, for each of `names` in `bench/s0`, the bytes the
 * store's decision cache returns: the baseline of decision-cache gets.
 */
export async function rawDecisionCopy(
  dir: string,
  store: ArtifactStore,
  names: readonly string[],
): Promise<{ raw: RootDatabase<Uint8Array, Uint8Array>; rawKeys: Uint8Array[] }> {
  const raw = open<Uint8Array, Uint8Array>({
    path: join(dir, 'raw'),
    noSubdir: false,
    keyEncoding: 'binary',
    encoding: 'binary',
  })
  const rawKeys = names.map((n) => new TextEncoder().encode(`bench/s0\u0000${DECISION_FAMILY}\u0000${n}`))
  await raw.transaction(() => {
    for (const [i, k] of rawKeys.entries())
      raw.put(k, store.history('bench/s0', DECISION_FAMILY, names[i]!)[0]!.version.bytes)
  })
  return { raw, rawKeys }
}
