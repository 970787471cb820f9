import { createHash } from 'node:crypto'

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
