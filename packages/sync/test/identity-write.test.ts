import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { IDENTITY_FILE, loadOrCreateIdentity, writeIdentity } from '@provsync/sync'
import { describe, expect, it } from 'vitest'

describe('writeIdentity', () => {
  it('provisions the identity loadOrCreateIdentity reads, owner-only, replacing an earlier one', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'provsync-id-')), 'not-yet')
    try {
      const created = await loadOrCreateIdentity(dir)
      const seeded = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(7))
      await writeIdentity(dir, seeded)
      const loaded = await loadOrCreateIdentity(dir)
      expect(peerIdFromPrivateKey(loaded).equals(peerIdFromPrivateKey(seeded))).toBe(true)
      expect(peerIdFromPrivateKey(loaded).equals(peerIdFromPrivateKey(created))).toBe(false)
      expect((await stat(join(dir, IDENTITY_FILE))).mode & 0o777).toBe(0o600)
      expect(await readdir(dir)).toEqual([IDENTITY_FILE])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
