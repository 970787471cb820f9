/**
 * Canonical text: the one form a text field may take on the wire, so that every decoder accepts
 * only bytes that re-encode identically and every reader of a record sees the text its signature
 * covers. A canonical text is
 *
 * - valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF), which is what a
 *   well-formed JavaScript string encodes to (a lone surrogate is refused on the encoding side);
 * - free of U+FEFF anywhere (byte-order mark / zero-width no-break space): a default TextDecoder
 *   strips a leading one, so "\uFEFFphotos" would read as "photos" while its bytes, hash and
 *   signature are another coordinate's;
 * - free of control characters: C0 (U+0000–U+001F, tab and newline included), DEL and C1
 *   (U+007F–U+009F), and the bidirectional embedding, override and isolate controls
 *   (U+202A–U+202E, U+2066–U+2069), which can make one name display as another in an audit listing;
 * - in Unicode Normalization Form C (NFC), so one visible name has one encoding.
 */
import { MalformedRecordError } from '../errors.js'

export type TextProblem =
  | 'invalid-utf8'
  | 'lone-surrogate'
  | 'byte-order-mark'
  | 'control-character'
  | 'not-nfc'

/** A text field that is not canonical (see `codec/text.ts`); refused like any malformed record. */
export class NonCanonicalTextError extends MalformedRecordError {
  readonly field: string
  readonly problem: TextProblem
  constructor(field: string, problem: TextProblem) {
    super(`${field} is not canonical text: ${problem}`)
    this.field = field
    this.problem = problem
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8 = new TextEncoder()

const isControl = (c: number) =>
  // Stryker disable next-line EqualityOperator,ConditionalExpression: equivalent, isControl is only asked about code units outside [0x20, 0x7f)
  c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)

/** The first forbidden code unit of `value`, by kind (a lone surrogate included). */
function forbiddenIn(value: string): TextProblem | undefined {
  // Stryker disable next-line EqualityOperator: equivalent, charCodeAt past the end is NaN, which no rule matches
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the ASCII fast path: the rules below accept a space too
    if (c < 0x7f && c >= 0x20) continue
    if (isControl(c)) return 'control-character'
    if (c === 0xfeff) return 'byte-order-mark'
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1)
      if (!(next >= 0xdc00 && next <= 0xdfff)) return 'lone-surrogate'
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) return 'lone-surrogate'
  }
  return undefined
}

/** What is wrong with `value` as canonical text, or undefined when it is canonical. */
export function textProblem(value: string): TextProblem | undefined {
  const forbidden = forbiddenIn(value)
  if (forbidden !== undefined) return forbidden
  if (value.normalize('NFC') !== value) return 'not-nfc'
  return undefined
}

/** UTF-8 bytes of a canonical text; NonCanonicalTextError naming `field` otherwise. */
export function encodeCanonicalText(field: string, value: string): Uint8Array {
  const problem = textProblem(value)
  if (problem !== undefined) throw new NonCanonicalTextError(field, problem)
  return utf8.encode(value)
}

/** The text `bytes` hold if they are canonical text; NonCanonicalTextError naming `field` otherwise. */
export function decodeCanonicalText(field: string, bytes: Uint8Array): string {
  // Stryker disable next-line BooleanLiteral: equivalent, the ASCII fast path: the full check accepts ASCII too
  let ascii = true
  // Stryker disable next-line EqualityOperator: equivalent, the byte past the end is undefined, which no rule matches
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte < 0x20 || byte === 0x7f) throw new NonCanonicalTextError(field, 'control-character')
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the fast path: non-ASCII text always has a lead byte >= 0xc2
    if (byte >= 0x80) ascii = false
  }
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    throw new NonCanonicalTextError(field, 'invalid-utf8')
  }
  // Stryker disable next-line ConditionalExpression: equivalent, the fast path: the full check accepts ASCII text too
  if (ascii) return text
  const problem = textProblem(text)
  if (problem !== undefined) throw new NonCanonicalTextError(field, problem)
  return text
}
