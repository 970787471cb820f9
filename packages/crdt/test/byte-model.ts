import { blake3 } from '@provsync/crdt'

// The byte model the codec semantics suites write records against, field by field as the codec
// names them (shared by codec.semantics and codec-v2.semantics).

export const utf8 = (text: string) => new TextEncoder().encode(text)

/** One field of the model: its name (as the codec names it) and its bytes. */
export type Field = readonly [name: string, bytes: Uint8Array]
export const u8 = (name: string, value: number): Field => [name, Uint8Array.of(value)]
export const fixed = (name: string, bytes: Uint8Array): Field => [name, bytes]
/** A text field: a big-endian u16 length, then the UTF-8 bytes. */
export const text = (name: string, value: string): Field => {
  const body = utf8(value)
  return [name, Uint8Array.from([body.length >> 8, body.length & 0xff, ...body])]
}
export const u64 = (name: string, value: bigint): Field => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, value)
  return [name, out]
}
export const join = (fields: readonly Field[]) => Uint8Array.from(fields.flatMap(([, b]) => [...b]))
/** The 8-byte network tag a record carries. */
export const tagOf = (network: string) => blake3(utf8(`provsync/network${network}`)).slice(0, 8)
