/** Deterministic blob contents for the committed vectors: byte i is (i × 31 + 7) mod 256. */
export function vectorBytes(size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7) & 255
  return out
}
