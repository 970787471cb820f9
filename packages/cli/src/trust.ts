import { readFile } from 'node:fs/promises'
import { TrustBundleError } from './errors.js'

const HEX_KEY = /^[0-9a-fA-F]{64}$/

/**
 * Reads the operator keys of a trust bundle. Each source is a key in hex or a file holding keys:
 * one hex key per line (`#` starts a comment; an `operator.key.pub` from `provsync keygen` is
 * such a file) or JSON `{ "operators": ["<hex>", ...] }`. Duplicates are dropped.
 */
export async function loadTrust(sources: readonly string[]): Promise<Uint8Array[]> {
  const keys = new Map<string, Uint8Array>()
  for (const source of sources) {
    const hexKeys = HEX_KEY.test(source) ? [source] : parseTrustFile(source, await readSource(source))
    for (const hex of hexKeys) keys.set(hex.toLowerCase(), new Uint8Array(Buffer.from(hex, 'hex')))
  }
  return [...keys.values()]
}

async function readSource(source: string): Promise<string> {
  try {
    return await readFile(source, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new TrustBundleError(
      source,
      code === 'ENOENT' ? 'no such file, and not a hex key' : (err as Error).message,
    )
  }
}

export function parseTrustFile(source: string, text: string): string[] {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) return parseJsonBundle(source, trimmed)
  const keys: string[] = []
  trimmed.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim()
    if (line === '') return
    if (!HEX_KEY.test(line)) {
      throw new TrustBundleError(source, `line ${index + 1} is not a 32-byte public key in hex`)
    }
    keys.push(line)
  })
  if (keys.length === 0) throw new TrustBundleError(source, 'holds no operator keys')
  return keys
}

function parseJsonBundle(source: string, text: string): string[] {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new TrustBundleError(source, 'is not valid JSON')
  }
  const record = value as { format?: unknown; operators?: unknown }
  if (record.format === 'provsync-key') {
    throw new TrustBundleError(source, 'is a secret key file; list its .pub file instead')
  }
  const operators = record.operators
  if (!Array.isArray(operators) || operators.length === 0) {
    throw new TrustBundleError(source, 'needs a non-empty "operators" array')
  }
  return operators.map((key, i) => {
    if (typeof key !== 'string' || !HEX_KEY.test(key)) {
      throw new TrustBundleError(source, `operators[${i}] is not a 32-byte public key in hex`)
    }
    return key
  })
}
