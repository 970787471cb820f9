import { InvalidTextError } from '../errors.js'

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()
// C0 and C1 controls and DEL; a BOM anywhere is refused too.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\ufeff]/

/** Throws unless `text` has no lone surrogate, control character or BOM and is NFC. */
function checkChars(field: string, text: string): void {
  if (LONE_SURROGATE.test(text)) throw new InvalidTextError(field, 'lone surrogate')
  if (CONTROL.test(text)) throw new InvalidTextError(field, 'control character or BOM')
  if (text.normalize('NFC') !== text) throw new InvalidTextError(field, 'not NFC')
}

/** Throws unless `text` is canonical: no control characters, no BOM, NFC, at most `max` bytes. */
export function checkText(field: string, text: string, min: number, max: number): Uint8Array {
  if (typeof text !== 'string') throw new InvalidTextError(field, 'not a string')
  checkChars(field, text)
  const bytes = encoder.encode(text)
  if (bytes.length < min || bytes.length > max) {
    throw new InvalidTextError(field, `${bytes.length} bytes, expected ${min}..${max}`)
  }
  return bytes
}

/** Decodes canonical text (see {@link checkText}); throws InvalidTextError otherwise. */
export function readText(field: string, bytes: Uint8Array, min: number, max: number): string {
  let text: string
  try {
    text = decoder.decode(bytes)
  } catch {
    throw new InvalidTextError(field, 'invalid UTF-8')
  }
  if (bytes.length < min || bytes.length > max) {
    throw new InvalidTextError(field, `${bytes.length} bytes, expected ${min}..${max}`)
  }
  checkChars(field, text)
  return text
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}
