import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadTrust, parseTrustFile, TrustBundleError } from '@provsync/cli'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

const hexKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((k) => Buffer.from(k).toString('hex'))

describe('trust bundles', () => {
  it('read keys from lines with comments or from JSON, in order', () => {
    fc.assert(
      fc.property(fc.array(hexKey, { minLength: 1, maxLength: 5 }), (keys) => {
        const lines = ['# operators', ...keys.map((k, i) => (i % 2 ? `${k}  # ops team` : k)), ''].join('\n')
        expect(parseTrustFile('t', lines)).toEqual(keys)
        expect(parseTrustFile('t', JSON.stringify({ operators: keys }))).toEqual(keys)
      }),
    )
  })

  it('refuse anything that is not a public key, naming the line', () => {
    expect(() => parseTrustFile('bundle', 'abcd\n')).toThrow(
      'trust bundle bundle: line 1 is not a 32-byte public key',
    )
    expect(() => parseTrustFile('bundle', '# nothing\n')).toThrow('holds no operator keys')
    expect(() => parseTrustFile('bundle', '{"operators":[]}')).toThrow(TrustBundleError)
    expect(() => parseTrustFile('bundle', '{"format":"provsync-key","secretKey":"00"}')).toThrow(
      'secret key file',
    )
  })

  it('merge hex keys and files without duplicates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'provsync-trust-'))
    try {
      const [a, b] = ['11'.repeat(32), '22'.repeat(32)]
      await writeFile(join(dir, 'ops.pub'), `${a}\n${b}\n`)
      const keys = await loadTrust([a.toUpperCase(), join(dir, 'ops.pub')])
      expect(keys.map((k) => Buffer.from(k).toString('hex'))).toEqual([a, b])
      await expect(loadTrust([join(dir, 'missing')])).rejects.toThrow('no such file, and not a hex key')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
