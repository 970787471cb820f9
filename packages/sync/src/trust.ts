import { createHash } from 'node:crypto'
import { NetworkMismatchError } from './errors.js'

const TRUST_DOMAIN = 'provsync/trust-bundle/v1'

/**
 * A digest of the operator keys a node obeys. Order and duplicates do not matter, so two nodes
 * configured with the same set agree; the hash travels in every Hello and announcement.
 */
export function trustBundleHash(operatorKeys: readonly Uint8Array[]): Uint8Array {
  const unique = new Map<string, Uint8Array>()
  for (const key of operatorKeys) unique.set(Buffer.from(key).toString('hex'), key)
  const hash = createHash('sha256').update(TRUST_DOMAIN)
  for (const hex of [...unique.keys()].sort()) {
    const key = unique.get(hex)!
    hash.update(Uint8Array.of(key.byteLength)).update(key)
  }
  return new Uint8Array(hash.digest())
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/**
 * The trust bundle a running service obeys. Its hash is read by every hello and announcement, so
 * a rotation (the embedder's `setTrust`, e.g. from @provsync/artifacts' `trust:rotated`) reaches
 * the next session and the next announcement without a restart.
 */
export class TrustInForce {
  private current: Uint8Array

  constructor(operatorKeys: readonly Uint8Array[]) {
    this.current = trustBundleHash(operatorKeys)
  }

  get hash(): Uint8Array {
    return this.current
  }

  /** Puts `operatorKeys` in force; true when that changed the hash. */
  set(operatorKeys: readonly Uint8Array[]): boolean {
    const next = trustBundleHash(operatorKeys)
    if (bytesEqual(next, this.current)) return false
    this.current = next
    return true
  }
}

/**
 * The remote is of our network but obeys another trust bundle: a peer on the other side of a
 * rotation. Refused like another network (`wrong-network`), but no offence: an honest node that
 * has not yet followed the chain (or already has) causes it, and blocking it would cut the very
 * connection it catches up over.
 */
export class TrustBundleMismatchError extends NetworkMismatchError {
  static override name = 'TrustBundleMismatchError'
  override name = 'TrustBundleMismatchError'
}
