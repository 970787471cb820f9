import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { IdentityKeyError, UnsupportedPeerKeyError } from '../src/errors.js'
import { IDENTITY_FILE, loadOrCreateIdentity, peerPublicKey, privateKeySeed } from '../src/identity.js'
import { trustBundleHash } from '../src/trust.js'

const key = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('trust bundle hash', () => {
  it('ignores order and duplicates', () => {
    fc.assert(
      fc.property(fc.array(key, { maxLength: 8 }), fc.nat(), (keys, seed) => {
        const shuffled = [...keys, ...keys.slice(0, 2)].sort(
          () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 3) - 1,
        )
        expect(trustBundleHash(shuffled)).toEqual(trustBundleHash(keys))
      }),
    )
  })

  it('differs for different sets', () => {
    fc.assert(
      fc.property(fc.uniqueArray(key, { minLength: 1, maxLength: 5, selector: (k) => k.join() }), (keys) => {
        expect(trustBundleHash(keys)).not.toEqual(trustBundleHash(keys.slice(1)))
      }),
    )
  })
})

describe('node identity', () => {
  it('is created once with mode 0600 and reloaded unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'provsync-id-'))
    try {
      const first = await loadOrCreateIdentity(dir)
      const mode = (await stat(join(dir, IDENTITY_FILE))).mode & 0o777
      expect(mode).toBe(0o600)
      const again = await loadOrCreateIdentity(dir)
      expect(peerIdFromPrivateKey(again).toString()).toBe(peerIdFromPrivateKey(first).toString())
      expect(privateKeySeed(again)).toEqual(privateKeySeed(first))
      expect(peerPublicKey(peerIdFromPrivateKey(first))).toEqual(first.publicKey.raw)
      expect(peerPublicKey(peerIdFromPrivateKey(first))).toHaveLength(32)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses a corrupt key file instead of replacing the identity', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'provsync-id-'))
    try {
      await writeFile(join(dir, IDENTITY_FILE), 'not a key')
      await expect(loadOrCreateIdentity(dir)).rejects.toBeInstanceOf(IdentityKeyError)
      expect(await readFile(join(dir, IDENTITY_FILE), 'utf8')).toBe('not a key')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses peers whose key is not Ed25519', async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1'))
    expect(() => peerPublicKey(secp)).toThrow(UnsupportedPeerKeyError)
  })
})
