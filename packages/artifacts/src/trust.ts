import { type Signer, verifySignature } from '@provsync/crdt'
import { compareBytes, equalBytes, toHex } from './bytes.js'
import type { Decoded } from './codec/signed.js'
import { utf8 } from './codec/text.js'
import type { Artifact } from './codec/types.js'
import { Reader, Writer } from './codec/wire.js'
import { ArtifactRefusedError, TrustChainError, type TrustLinkRefusal } from './errors.js'

export const TRUST_BUNDLE_FAMILY = 'trust_bundle'
export const MAX_BUNDLE_KEYS = 8
export const MAX_BUNDLE_SIGNATURES = 16
const FORMAT = 1
const DOMAIN = utf8('provsync/trust-bundle/v1')

/** The operator keys in force and how many of them must sign the next bundle. */
export interface TrustBundle {
  readonly version: bigint
  readonly threshold: number
  readonly keys: readonly Uint8Array[]
}

/** A bundle's content: its body and the signatures over (version, body). */
export interface BundleContent {
  readonly threshold: number
  readonly keys: readonly Uint8Array[]
  readonly signatures: readonly { readonly key: Uint8Array; readonly signature: Uint8Array }[]
}

function statement(networkId: string, version: bigint, body: Uint8Array): Uint8Array {
  return new Writer().bytes(DOMAIN).u8(0).bytes(utf8(networkId)).u8(0).u64(version).bytes(body).finish()
}

function encodeBody(threshold: number, keys: readonly Uint8Array[]): Uint8Array {
  const sorted = [...keys].sort(compareBytes)
  if (sorted.length < 1 || sorted.length > MAX_BUNDLE_KEYS)
    throw new TrustChainError('malformed', 0n, 'key count')
  if (!(Number.isInteger(threshold) && threshold >= 1 && threshold <= sorted.length)) {
    throw new TrustChainError('malformed', 0n, 'threshold must be 1..keys')
  }
  const w = new Writer().u8(FORMAT).u8(threshold).u8(sorted.length)
  sorted.forEach((k, i) => {
    if (k.length !== 32 || (i > 0 && compareBytes(sorted[i - 1]!, k) === 0)) {
      throw new TrustChainError('malformed', 0n, 'keys must be distinct 32-byte keys')
    }
    w.bytes(k)
  })
  return w.finish()
}

/** One key's signature over a bundle's statement. */
export interface BundleSignature {
  readonly key: Uint8Array
  readonly signature: Uint8Array
}

/**
 * What every signer of bundle `version` signs: `provsync/trust-bundle/v1 ‖ 0 ‖ network ‖ 0 ‖
 * version ‖ body`. Lets signatures be collected offline, one key at a time (`provsync trust sign`),
 * and put together with {@link encodeBundleContent}.
 */
export function trustBundleStatement(
  networkId: string,
  version: bigint,
  bundle: Omit<TrustBundle, 'version'>,
): Uint8Array {
  return statement(networkId, version, encodeBody(bundle.threshold, bundle.keys))
}

/**
 * The content of bundle `version` from signatures collected one by one: sorted by key, one per
 * key, at most {@link MAX_BUNDLE_SIGNATURES}. Signatures are not verified here (a link is judged
 * by {@link verifyTrustLink} against the bundle in force); malformed input is a TrustChainError.
 */
export function encodeBundleContent(
  version: bigint,
  bundle: Omit<TrustBundle, 'version'>,
  signatures: readonly BundleSignature[],
): Uint8Array {
  const body = encodeBody(bundle.threshold, bundle.keys)
  const sigs = [...signatures].sort((a, b) => compareBytes(a.key, b.key))
  if (sigs.length > MAX_BUNDLE_SIGNATURES)
    throw new TrustChainError('malformed', version, 'too many signatures')
  const w = new Writer().bytes(body).u8(sigs.length)
  sigs.forEach((s, i) => {
    if (s.key.length !== 32 || s.signature.length !== 64)
      throw new TrustChainError('malformed', version, 'a signature is a 32-byte key and 64 bytes')
    if (i > 0 && compareBytes(sigs[i - 1]!.key, s.key) === 0)
      throw new TrustChainError('malformed', version, 'one signature per key')
    w.bytes(s.key).bytes(s.signature)
  })
  return w.finish()
}

/** The content of bundle `version` (threshold, keys), signed by `signers` (old and new keys). */
export function signTrustBundle(
  version: bigint,
  bundle: Omit<TrustBundle, 'version'>,
  signers: readonly Signer[],
  networkId: string,
): Uint8Array {
  const message = trustBundleStatement(networkId, version, bundle)
  const signatures = signers.map((s) => ({ key: s.publicKey, signature: s.sign(message) }))
  return encodeBundleContent(version, bundle, signatures)
}

/** Decodes bundle content canonically (sorted distinct keys and signers); TrustChainError otherwise. */
export function decodeBundleContent(
  content: Uint8Array,
  version: bigint,
): BundleContent & { body: Uint8Array } {
  try {
    const r = new Reader(content)
    if (r.u8('format') !== FORMAT) throw new Error('unknown format')
    const threshold = r.u8('threshold')
    const count = r.u8('keys')
    const keys = Array.from({ length: count }, () => r.bytes('key', 32))
    const body = content.slice(0, r.offset)
    if (!equalBytes(encodeBody(threshold, keys), body)) throw new Error('keys not sorted')
    const n = r.u8('signatures')
    if (n > MAX_BUNDLE_SIGNATURES) throw new Error('too many signatures')
    const signatures = Array.from({ length: n }, () => ({
      key: r.bytes('key', 32),
      signature: r.bytes('sig', 64),
    }))
    r.end()
    for (let i = 1; i < n; i++) {
      if (compareBytes(signatures[i - 1]!.key, signatures[i]!.key) >= 0) throw new Error('signers not sorted')
    }
    return { threshold, keys, signatures, body }
  } catch (error) {
    if (error instanceof TrustChainError) throw new TrustChainError('malformed', version, error.detail)
    if (error instanceof ArtifactRefusedError || error instanceof Error) {
      throw new TrustChainError('malformed', version, error.message)
    }
    throw error
  }
}

function countSigned(keys: readonly Uint8Array[], content: BundleContent, message: Uint8Array): number {
  const allowed = new Set(keys.map(toHex))
  let n = 0
  for (const { key, signature } of content.signatures) {
    if (allowed.has(toHex(key)) && verifySignature(key, message, signature)) n++
  }
  return n
}

/**
 * Verifies one link: `next` must be version `inForce.version + 1`, signed by a threshold of the
 * keys in force and by a threshold of its own keys (as TUF rotates its root).
 */
export function verifyTrustLink(
  inForce: TrustBundle,
  next: Decoded<Artifact>,
  networkId: string,
): TrustBundle {
  const a = next.record
  const fail = (reason: TrustLinkRefusal, detail: string) => new TrustChainError(reason, a.version, detail)
  if (a.family !== TRUST_BUNDLE_FAMILY || a.tombstone || a.content === undefined) {
    throw fail('wrong-family', 'not a trust bundle artifact with inline content')
  }
  if (a.version <= inForce.version) throw fail('replayed', `version ${inForce.version} is already in force`)
  if (a.version !== inForce.version + 1n) throw fail('skipped', `the next link is ${inForce.version + 1n}`)
  const content = decodeBundleContent(a.content, a.version)
  const message = statement(networkId, a.version, content.body)
  const byOld = countSigned(inForce.keys, content, message)
  if (byOld < inForce.threshold) {
    throw fail(
      'below-threshold',
      `${byOld} of the ${inForce.threshold} signatures the bundle in force requires`,
    )
  }
  const byNew = countSigned(content.keys, content, message)
  if (byNew < content.threshold)
    throw fail('below-threshold', `${byNew} of its own threshold ${content.threshold}`)
  return { version: a.version, threshold: content.threshold, keys: content.keys }
}

export interface TrustChainResult {
  readonly bundle: TrustBundle
  readonly applied: readonly bigint[]
  readonly refused: readonly TrustChainError[]
}

/**
 * Follows the chain from `inForce` link by link over `candidates` (any order): each step takes
 * the first candidate of the next version (by record hash) that verifies. Older versions are
 * refused as replayed, unreachable newer ones as skipped, bad links with their reason.
 */
export function followTrustChain(
  inForce: TrustBundle,
  candidates: readonly Decoded<Artifact>[],
  networkId: string,
): TrustChainResult {
  const sorted = [...candidates].sort((x, y) =>
    x.record.version < y.record.version
      ? -1
      : x.record.version > y.record.version
        ? 1
        : compareBytes(x.hash, y.hash),
  )
  let bundle = inForce
  const applied: bigint[] = []
  const refused: TrustChainError[] = []
  for (const candidate of sorted) {
    try {
      bundle = verifyTrustLink(bundle, candidate, networkId)
      applied.push(bundle.version)
    } catch (error) {
      if (!(error instanceof TrustChainError)) throw error
      // A second valid candidate of a version already applied is a replay, not an error of the chain.
      refused.push(error)
    }
  }
  return { bundle, applied, refused }
}
