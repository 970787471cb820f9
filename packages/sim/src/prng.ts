/**
 * A small seeded PRNG (sfc32, seeded through a 128-bit string hash) so a scenario's workload and
 * faults are a pure function of its seed: the seed printed by a failing run replays it.
 */
export interface Rng {
  /** The seed this generator (or its parent) was created from, for replay messages. */
  readonly seed: string
  /** A float in [0, 1). */
  next(): number
  /** An integer in [0, bound); `bound` must be a positive integer. */
  int(bound: number): number
  /** An integer in [min, max]. */
  range(min: number, max: number): number
  chance(probability: number): boolean
  pick<T>(items: readonly T[]): T
  shuffle<T>(items: readonly T[]): T[]
  /** 32 deterministic bytes, e.g. an Ed25519 seed. */
  bytes(length: number): Uint8Array
  /** An independent generator derived from this seed and a label; draws here do not shift it. */
  fork(label: string): Rng
}

/** cyrb128: spreads any string over four 32-bit words. */
function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703
  let h2 = 3144134277
  let h3 = 1013904242
  let h4 = 2773480762
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i)
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067)
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233)
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213)
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179)
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067)
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233)
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213)
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179)
  h1 ^= h2 ^ h3 ^ h4
  h2 ^= h1
  h3 ^= h1
  h4 ^= h1
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0]
}

export class InvalidRngArgumentError extends RangeError {
  override readonly name = 'InvalidRngArgumentError'
}

export function createRng(seed: string | number): Rng {
  const seedText = String(seed)
  let [a, b, c, d] = hash128(seedText)
  const next32 = (): number => {
    a >>>= 0
    b >>>= 0
    c >>>= 0
    d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return t >>> 0
  }
  // The first outputs of sfc32 correlate with the seed words; discard them.
  for (let i = 0; i < 15; i++) next32()
  const next = (): number => next32() / 4294967296
  const int = (bound: number): number => {
    if (!Number.isInteger(bound) || bound <= 0)
      throw new InvalidRngArgumentError(`bound must be a positive integer, got ${bound}`)
    return Math.floor(next() * bound)
  }
  return {
    seed: seedText,
    next,
    int,
    range(min, max) {
      if (max < min) throw new InvalidRngArgumentError(`empty range [${min}, ${max}]`)
      return min + int(max - min + 1)
    },
    chance: (probability) => next() < probability,
    pick(items) {
      if (items.length === 0) throw new InvalidRngArgumentError('cannot pick from an empty list')
      return items[int(items.length)] as (typeof items)[number]
    },
    shuffle(items) {
      const out = [...items]
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1)
        ;[out[i], out[j]] = [out[j]!, out[i]!]
      }
      return out
    },
    bytes(length) {
      const out = new Uint8Array(length)
      for (let i = 0; i < length; i++) out[i] = next32() & 0xff
      return out
    },
    fork: (label) => createRng(`${seedText}/${label}`),
  }
}
