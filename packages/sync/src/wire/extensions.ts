/**
 * Forward compatibility of the messages a later release may extend (hello, welcome,
 * announcement): their canonical encoding may be followed by fields this release does not know,
 * numbered above every field it knows, in increasing order and each well formed. Everything
 * before that tail must be byte for byte the canonical encoding of what was decoded. The first
 * release's decoders skipped unknown fields, which is how this release's `stores` reached them;
 * this keeps the same door open for the next one without loosening any other frame.
 */

/** True when `actual` is `known` followed only by well-formed fields numbered above `maxKnownField`. */
export function extendsCanonical(known: Uint8Array, actual: Uint8Array, maxKnownField: number): boolean {
  if (actual.byteLength < known.byteLength) return false
  if (Buffer.compare(actual.subarray(0, known.byteLength), known) !== 0) return false
  return isExtensionTail(actual, known.byteLength, maxKnownField)
}

/**
 * The body of a length-delimited field that is the whole of `bytes` (a Frame's one body), or
 * undefined when `bytes` is not exactly `tag`, a minimal length and that many bytes.
 */
export function soleFieldBody(bytes: Uint8Array, tag: number): Uint8Array | undefined {
  if (bytes[0] !== tag) return undefined
  const length = readVarint(bytes, 1)
  if (length === undefined || length.value !== bytes.byteLength - length.next) return undefined
  return bytes.subarray(length.next)
}

function isExtensionTail(bytes: Uint8Array, start: number, maxKnownField: number): boolean {
  let at = start
  let previous = maxKnownField
  while (at < bytes.byteLength) {
    const tag = readVarint(bytes, at)
    if (tag === undefined) return false
    const field = Math.floor(tag.value / 8)
    if (field <= previous) return false
    previous = field
    const next = skipValue(bytes, tag.next, tag.value % 8)
    if (next === undefined) return false
    at = next
  }
  return true
}

function skipValue(bytes: Uint8Array, at: number, wireType: number): number | undefined {
  switch (wireType) {
    case 0:
      return readVarint(bytes, at)?.next
    case 1:
      return at + 8 <= bytes.byteLength ? at + 8 : undefined
    case 2: {
      const length = readVarint(bytes, at)
      if (length === undefined || length.next + length.value > bytes.byteLength) return undefined
      return length.next + length.value
    }
    case 5:
      return at + 4 <= bytes.byteLength ? at + 4 : undefined
    default:
      return undefined
  }
}

/** A minimal varint of at most 7 bytes (values below 2^49, beyond any length or field here). */
function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } | undefined {
  let value = 0
  for (let i = 0; i < 7 && at + i < bytes.byteLength; i++) {
    const byte = bytes[at + i]!
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) return undefined
      return { value, next: at + i + 1 }
    }
  }
  return undefined
}
