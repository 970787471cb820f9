import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { chmod, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { KeyFileError } from './errors.js'

/** Operators sign revocations; agents sign supersessions and assertions of a service. */
export type KeyKind = 'operator' | 'agent'
export const KEY_KINDS: readonly KeyKind[] = ['operator', 'agent']

export const KEY_FORMAT = 'provsync-key'

/** The on-disk form: JSON, so a person can tell what a file is; the secret is the 32-byte seed. */
interface KeyFile {
  format: typeof KEY_FORMAT
  version: 1
  kind: KeyKind
  publicKey: string
  secretKey: string
}

/** A loaded Ed25519 key pair; the shape crdt's record signers take (`publicKey`, `sign`). */
export interface KeyPair {
  readonly kind: KeyKind
  readonly publicKey: Uint8Array
  sign(message: Uint8Array): Uint8Array
}

export function generateKeyPair(kind: KeyKind): { keyPair: KeyPair; seed: Uint8Array } {
  const { privateKey } = generateKeyPairSync('ed25519')
  const seed = new Uint8Array(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'))
  return { keyPair: keyPairFromSeed(kind, seed), seed }
}

export function keyPairFromSeed(kind: KeyKind, seed: Uint8Array): KeyPair {
  const privateKey = privateKeyFromSeed(seed)
  const publicKey = new Uint8Array(
    Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url'),
  )
  return {
    kind,
    publicKey,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  }
}

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed 16-byte prefix, then the seed.
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
  return createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' })
}

export interface WrittenKey {
  readonly kind: KeyKind
  readonly publicKey: string
  readonly keyFile: string
  readonly publicKeyFile: string
}

/**
 * Writes a new key pair: the secret to `file` (mode 0600, created exclusively unless `force`), the
 * public key in hex to `file.pub` (mode 0644), ready to be listed in a trust bundle.
 */
export async function writeNewKey(
  kind: KeyKind,
  file: string,
  options: { force?: boolean } = {},
): Promise<WrittenKey> {
  const { keyPair, seed } = generateKeyPair(kind)
  const publicHex = Buffer.from(keyPair.publicKey).toString('hex')
  const content: KeyFile = {
    format: KEY_FORMAT,
    version: 1,
    kind,
    publicKey: publicHex,
    secretKey: Buffer.from(seed).toString('hex'),
  }
  const publicKeyFile = `${file}.pub`
  // Written to a private temporary name first so the secret is never visible with a wider mode.
  const partial = `${file}.${process.pid}.tmp`
  try {
    await writeFile(partial, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
    await chmod(partial, 0o600)
    if (!options.force && (await exists(file))) {
      throw new KeyFileError(file, 'already exists (use --force to replace it)')
    }
    await rename(partial, file)
  } catch (err) {
    await unlink(partial).catch(() => {})
    if (err instanceof KeyFileError) throw err
    throw new KeyFileError(file, `cannot write: ${(err as Error).message}`, { cause: err })
  }
  await writeFile(publicKeyFile, `${publicHex}\n`, { mode: 0o644 })
  return { kind, publicKey: publicHex, keyFile: file, publicKeyFile }
}

/** Loads a key file, refusing one of another kind or one others can read (like ssh does). */
export async function readKeyFile(file: string, kind: KeyKind): Promise<KeyPair> {
  let text: string
  let mode: number
  try {
    mode = (await stat(file)).mode
    text = await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new KeyFileError(
      file,
      code === 'ENOENT' ? 'no such key file' : `cannot read: ${(err as Error).message}`,
    )
  }
  // A public key file is told so before its (harmless) mode is complained about.
  if (/^[0-9a-fA-F]{64}$/.test(text.trim())) {
    const secret = file.endsWith('.pub') ? ` (the secret key is ${file.slice(0, -4)})` : ''
    throw new KeyFileError(file, `is a public key; give the secret ${kind} key file${secret}`)
  }
  if ((mode & 0o077) !== 0) {
    throw new KeyFileError(
      file,
      `is accessible by others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${file}`,
    )
  }
  const parsed = parseKeyFile(file, text)
  if (parsed.kind !== kind)
    throw new KeyFileError(file, `holds an ${parsed.kind} key, expected an ${kind} key`)
  return parsed
}

export function parseKeyFile(file: string, text: string): KeyPair {
  let value: Partial<KeyFile>
  try {
    value = JSON.parse(text) as Partial<KeyFile>
  } catch {
    throw new KeyFileError(file, 'is not a provsync key file (not JSON)')
  }
  if (typeof value !== 'object' || value === null || value.format !== KEY_FORMAT) {
    throw new KeyFileError(file, 'is not a provsync key file')
  }
  if (value.version !== 1) throw new KeyFileError(file, `has unsupported version ${String(value.version)}`)
  if (!KEY_KINDS.includes(value.kind as KeyKind))
    throw new KeyFileError(file, `has unknown kind ${String(value.kind)}`)
  if (typeof value.secretKey !== 'string' || !/^[0-9a-f]{64}$/.test(value.secretKey)) {
    throw new KeyFileError(file, 'has a malformed secret key')
  }
  const keyPair = keyPairFromSeed(value.kind as KeyKind, new Uint8Array(Buffer.from(value.secretKey, 'hex')))
  if (Buffer.from(keyPair.publicKey).toString('hex') !== value.publicKey) {
    throw new KeyFileError(file, 'public key does not match its secret key')
  }
  return keyPair
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  )
}
