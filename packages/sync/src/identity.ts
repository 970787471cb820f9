import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import { IdentityKeyError, UnsupportedPeerKeyError } from './errors.js'

export const IDENTITY_FILE = 'identity.key'

/**
 * Loads the node's Ed25519 libp2p key from `dataDir`, creating it on first start, so the peer id
 * (and the crdt asserter key derived from it) survives restarts. The file is protobuf-marshalled,
 * as libp2p stores keys, and readable by the owner only.
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<Ed25519PrivateKey> {
  const file = join(dataDir, IDENTITY_FILE)
  if (existsSync(file)) {
    let key: ReturnType<typeof privateKeyFromProtobuf>
    try {
      key = privateKeyFromProtobuf(await readFile(file))
    } catch (err) {
      throw new IdentityKeyError(`${file} is not a libp2p private key: ${(err as Error).message}`, {
        cause: err,
      })
    }
    if (key.type !== 'Ed25519')
      throw new IdentityKeyError(`${file} holds a ${key.type} key, expected Ed25519`)
    return key
  }
  const key = await generateKeyPair('Ed25519')
  await writeIdentity(dataDir, key)
  return key
}

/**
 * Writes `key` as the node's identity in `dataDir` (what {@link loadOrCreateIdentity} reads back),
 * replacing any there: through a temporary file and a rename, readable by the owner only. For
 * deployments that provision keys, and harnesses that need peer ids fixed by a seed.
 */
export async function writeIdentity(dataDir: string, key: Ed25519PrivateKey): Promise<void> {
  const file = join(dataDir, IDENTITY_FILE)
  await mkdir(dataDir, { recursive: true })
  const partial = `${file}.${process.pid}.tmp`
  await writeFile(partial, privateKeyToProtobuf(key), { mode: 0o600 })
  await chmod(partial, 0o600)
  await rename(partial, file)
}

/** The raw 32-byte Ed25519 public key behind a peer id: the identity crdt records use for `from`. */
export function peerPublicKey(peerId: PeerId): Uint8Array {
  if (peerId.type !== 'Ed25519') {
    throw new UnsupportedPeerKeyError(
      `peer ${peerId.toString()} has a ${peerId.type} key; provsync needs Ed25519`,
    )
  }
  return peerId.publicKey.raw
}

/** The 32-byte seed of a libp2p Ed25519 private key (libp2p keeps seed || public key). */
export function privateKeySeed(key: Ed25519PrivateKey): Uint8Array {
  return key.raw.subarray(0, 32)
}
