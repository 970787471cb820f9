/**
 * Mutations of valid inputs, as plain data so fast-check can generate and shrink them and the
 * long runner can draw them from a seeded generator. Positions are taken modulo the input length.
 */
export type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'truncate'; at: number }
  /** Inserts a token and adds its length to the bytes at `fix` (relative to `at`): grows a length-prefixed field. */
  | { op: 'splice'; at: number; token: number; fix: number[] }

/** Bytes that tend to matter: length edges, UTF-8 lead and continuation bytes, BOM, controls. */
export const INTERESTING = [
  0x00, 0x01, 0x02, 0x0a, 0x1f, 0x20, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe2, 0xed, 0xef, 0xbb, 0xf4, 0xfe, 0xff,
]

/** Byte sequences the text rules are about: BOM, combining accent, NEL, RLO, overlong, surrogate. */
export const TOKENS: readonly number[][] = [
  [0xef, 0xbb, 0xbf],
  [0xcc, 0x81],
  [0xc2, 0x85],
  [0xe2, 0x80, 0xae],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0x0a],
  [0x00],
  [0xc3, 0xa9],
]

export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = Array.from(input)
  for (const m of mutations) bytes = apply(bytes, m)
  return Uint8Array.from(bytes)
}

function apply(bytes: number[], m: Mutation): number[] {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + (m.op === 'insert' ? 1 : 0))
  switch (m.op) {
    case 'flip':
      if (bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << (m.bit & 7))
      return bytes
    case 'set':
      if (bytes.length > 0) bytes[at] = m.value & 0xff
      return bytes
    case 'insert':
      return [...bytes.slice(0, at), ...m.bytes.map((b) => b & 0xff), ...bytes.slice(at)]
    case 'delete':
      return [...bytes.slice(0, at), ...bytes.slice(at + m.length)]
    case 'duplicate':
      return [
        ...bytes.slice(0, at + m.length),
        ...bytes.slice(at, at + m.length),
        ...bytes.slice(at + m.length),
      ]
    case 'truncate':
      return bytes.slice(0, at)
    case 'splice': {
      const token = TOKENS[m.token % TOKENS.length]!
      const out = [...bytes.slice(0, at), ...token, ...bytes.slice(at)]
      for (const back of m.fix) {
        const i = at - 1 - (back % Math.max(at, 1))
        if (i >= 0) out[i] = (out[i]! + token.length) & 0xff
      }
      return out
    }
  }
}

/** A small seeded generator (mulberry32) for the long runner: same seed, same inputs. */
export { mulberry32 as prng } from '@provsync/testing'

export function randomMutations(next: () => number): Mutation[] {
  const int = (n: number) => Math.floor(next() * n)
  const byte = () => (next() < 0.5 ? INTERESTING[int(INTERESTING.length)]! : int(256))
  const count = 1 + int(next() < 0.7 ? 2 : 8)
  return Array.from({ length: count }, (): Mutation => {
    const at = int(1 << 16)
    switch (int(8)) {
      case 6:
      case 7:
        return { op: 'splice', at, token: int(TOKENS.length), fix: next() < 0.6 ? [0] : [0, int(64)] }
      case 0:
        return { op: 'flip', at, bit: int(8) }
      case 1:
        return { op: 'set', at, value: byte() }
      case 2:
        return { op: 'insert', at, bytes: Array.from({ length: 1 + int(4) }, byte) }
      case 3:
        return { op: 'delete', at, length: 1 + int(8) }
      case 4:
        return { op: 'duplicate', at, length: 1 + int(16) }
      default:
        return { op: 'truncate', at }
    }
  })
}
