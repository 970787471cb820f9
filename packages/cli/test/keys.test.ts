import { createPublicKey, verify } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeyFileError, keyPairFromSeed, readKeyFile, writeNewKey } from '@provsync/cli'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provsync-keys-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function verifies(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey])
  return verify(null, message, createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature)
}

describe('key pairs', () => {
  it('sign messages that verify under their public key, and only those', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array(), (seed, message) => {
        const pair = keyPairFromSeed('operator', seed)
        const signature = pair.sign(message)
        expect(verifies(pair.publicKey, message, signature)).toBe(true)
        expect(verifies(pair.publicKey, Buffer.concat([message, Buffer.from([1])]), signature)).toBe(false)
      }),
      { numRuns: 50 },
    )
  })

  it('writes the secret owner-only and the public key as one hex line', async () => {
    const file = join(dir, 'operator.key')
    const written = await writeNewKey('operator', file)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(await readFile(`${file}.pub`, 'utf8')).toBe(`${written.publicKey}\n`)
    const loaded = await readKeyFile(file, 'operator')
    expect(Buffer.from(loaded.publicKey).toString('hex')).toBe(written.publicKey)
    expect(await readFile(file, 'utf8')).not.toContain(written.publicKey.repeat(2))
  })

  it('never overwrites a key unless forced', async () => {
    const file = join(dir, 'agent.key')
    const first = await writeNewKey('agent', file)
    await expect(writeNewKey('agent', file)).rejects.toThrow('already exists')
    expect((await readKeyFile(file, 'agent')).publicKey).toEqual(
      new Uint8Array(Buffer.from(first.publicKey, 'hex')),
    )
    const second = await writeNewKey('agent', file, { force: true })
    expect(second.publicKey).not.toBe(first.publicKey)
  })

  it('refuses key files that others can read, of the wrong kind, or damaged', async () => {
    const file = join(dir, 'operator.key')
    await writeNewKey('operator', file)
    await expect(readKeyFile(file, 'agent')).rejects.toThrow('expected an agent key')
    await chmod(file, 0o644)
    await expect(readKeyFile(file, 'operator')).rejects.toThrow('chmod 600')
    await chmod(file, 0o600)
    const content = JSON.parse(await readFile(file, 'utf8'))
    await writeFile(file, JSON.stringify({ ...content, publicKey: '00'.repeat(32) }), { mode: 0o600 })
    await expect(readKeyFile(file, 'operator')).rejects.toThrow('does not match')
    await writeFile(file, 'garbage', { mode: 0o600 })
    await expect(readKeyFile(file, 'operator')).rejects.toBeInstanceOf(KeyFileError)
    await expect(readKeyFile(join(dir, 'missing.key'), 'operator')).rejects.toThrow('no such key file')
  })
})
