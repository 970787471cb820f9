import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'

/** The libp2p peer id of a raw Ed25519 public key (what `provsync revoke --peer` takes). */
export function peerIdOfKey(key: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(key)).toString()
}

/** The raw Ed25519 public key behind a peer id string; undefined when it is not an Ed25519 peer id. */
export function keyOfPeerId(text: string): Uint8Array | undefined {
  try {
    const peerId = peerIdFromString(text)
    return peerId.type === 'Ed25519' ? peerId.publicKey.raw : undefined
  } catch {
    return undefined
  }
}
