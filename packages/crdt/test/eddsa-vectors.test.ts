/**
 * Edge cases of Ed25519 verification, built from the description of the twelve test cases in
 * Chalkias, Garillot and Nikolaenko, "Taming the many EdDSAs" (2020): small-order and mixed-order
 * keys and commitments, signatures that pass only the cofactored equation, non-canonical S, R and
 * A. A verifier that replaces sodium-native here (a batch verifier, issue #16) must give the same
 * verdict on each, alone and on the pool.
 */

import { ed25519 } from '@noble/curves/ed25519.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { createBatchVerifier, verifySignature } from '@provsync/crdt'
import { afterAll, describe, expect, it } from 'vitest'

type Point = InstanceType<typeof ed25519.Point>
const { Point } = ed25519
const B = Point.BASE
const O = Point.ZERO
const L = Point.Fn.ORDER
/** A point of order 8 (the torsion subgroup's generator). */
const T = Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a')
const P25519 = 2n ** 255n - 19n

const le = (n: bigint, length = 32): Uint8Array => {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}
const fromLe = (bytes: Uint8Array): bigint => bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n)
const mul = (p: Point, n: bigint): Point => (n % L === 0n ? O : p.multiplyUnsafe(((n % L) + L) % L))
const torsion = (k: bigint): Point => (k % 8n === 0n ? O : T.multiplyUnsafe(((k % 8n) + 8n) % 8n))

/** The challenge h = SHA-512(R ‖ A ‖ M) mod L over the encodings as sent. */
const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint => {
  const digest = sha512(new Uint8Array([...r, ...a, ...m]))
  return fromLe(digest) % L
}

interface Vector {
  readonly name: string
  readonly publicKey: Uint8Array
  readonly message: Uint8Array
  readonly signature: Uint8Array
  /** libsodium's verdict (strict: canonical S and A, no small-order A or R, cofactorless). */
  readonly valid: boolean
}

const a = 0x3a9f_11c2_77d0_45e1_9b2c_0d3e_6f81_aa55_1234_5678_9abc_def0_0fed_cba9_8765_4321n % L
const r = 0x7c01_9e3a_5b6d_2f48_a1c3_e5f7_0911_3355_7799_bbdd_ff00_2244_6688_aacc_eef1_0203n % L

/**
 * The first message (from a counter) whose challenge meets `want`, so a case that needs h ≡ 0
 * (mod 8) or h ≢ 0 gets one.
 */
function findMessage(R: Uint8Array, A: Uint8Array, want: (h: bigint) => boolean): [Uint8Array, bigint] {
  for (let i = 0; ; i++) {
    const m = new TextEncoder().encode(`taming the many EdDSAs ${i}`)
    const h = challenge(R, A, m)
    if (want(h)) return [m, h]
  }
}

const sig = (R: Uint8Array, s: bigint | Uint8Array): Uint8Array =>
  new Uint8Array([...R, ...(s instanceof Uint8Array ? s : le(s))])

function vectors(): Vector[] {
  const out: Vector[] = []
  const push = (name: string, A: Uint8Array, m: Uint8Array, signature: Uint8Array, valid: boolean) =>
    out.push({ name, publicKey: A, message: m, signature, valid })
  const aB = mul(B, a)
  const rB = mul(B, r)

  // Control: an honest signature (prime-order A and R, canonical everything).
  {
    const [A, R] = [aB.toBytes(), rB.toBytes()]
    const [m, h] = findMessage(R, A, () => true)
    push('honest signature', A, m, sig(R, (r + h * a) % L), true)
    // Case 6-7: S not reduced (S + L, S + 7L: both under 2^256, both pass the group equation).
    push('non-canonical S (S + L)', A, m, sig(R, ((r + h * a) % L) + L), false)
    push('non-canonical S (S + 7L)', A, m, sig(R, ((r + h * a) % L) + 7n * L), false)
  }
  // Case 0: small-order A and R, S = 0: both equations hold.
  push('small-order A and R, S = 0', O.toBytes(), new Uint8Array([1]), sig(O.toBytes(), 0n), false)
  // Case 1: small-order A, prime-order R, the equations hold (h ≡ 0 mod 8).
  {
    const [A, R] = [T.toBytes(), rB.toBytes()]
    const [m] = findMessage(R, A, (h) => h % 8n === 0n)
    push('small-order A', A, m, sig(R, r), false)
  }
  // Case 2: mixed-order A, small-order R (h ≡ 0 mod 8 so the torsion part cancels).
  {
    const A = aB.add(T).toBytes()
    const R = O.toBytes()
    const [m, h] = findMessage(R, A, (x) => x % 8n === 0n)
    push('mixed-order A, small-order R', A, m, sig(R, (h * a) % L), false)
  }
  // Case 3: mixed-order A and R, the cofactorless equation holds: accepted by libsodium.
  {
    const A = aB.add(T).toBytes()
    // R's torsion part is chosen after h, which depends on R: search over it.
    let found: Vector | undefined
    for (let k = 1n; k < 8n && found === undefined; k++) {
      const R = rB.add(torsion(k)).toBytes()
      for (let i = 0; i < 64 && found === undefined; i++) {
        const m = new TextEncoder().encode(`case 3, ${i}`)
        const h = challenge(R, A, m)
        // R + hA = rB + kT + h·aB + hT: the torsion cancels when k + h ≡ 0 (mod 8).
        if ((k + h) % 8n === 0n)
          found = {
            name: 'mixed-order A and R, cofactorless holds',
            publicKey: A,
            message: m,
            signature: sig(R, (r + h * a) % L),
            valid: true,
          }
      }
    }
    if (found === undefined) throw new Error('no case 3 vector found')
    out.push(found)
  }
  // Case 4: mixed-order A, prime-order R: only the cofactored equation holds (h ≢ 0 mod 8).
  {
    const A = aB.add(T).toBytes()
    const R = rB.toBytes()
    const [m, h] = findMessage(R, A, (x) => x % 8n !== 0n)
    push('mixed-order A, only cofactored holds', A, m, sig(R, (r + h * a) % L), false)
  }
  // Case 8-9: R encoded non-canonically (the identity as y = p + 1), with A = identity, S = 0.
  const nonCanonicalIdentity = le(P25519 + 1n)
  push('non-canonical R', O.toBytes(), new Uint8Array([2]), sig(nonCanonicalIdentity, 0n), false)
  // Case 10-11: A encoded non-canonically (the identity as y = p + 1).
  {
    const R = rB.toBytes()
    const [m] = findMessage(R, nonCanonicalIdentity, () => true)
    push('non-canonical A', nonCanonicalIdentity, m, sig(R, r), false)
  }
  return out
}

const all = vectors()
const pool = createBatchVerifier({ threads: 1 })
afterAll(() => pool.close())

describe('Ed25519 edge cases ("Taming the many EdDSAs")', () => {
  it('the vectors are what they claim: each passes the group equation it was built for', () => {
    // Cofactored check [8](S·B − R − h·A) = O for every vector with a decodable A and R and S < L:
    // only canonical-form and small-order rules can refuse them, which is what the cases test.
    for (const v of all) {
      const s = fromLe(v.signature.subarray(32))
      if (s >= L) continue
      const R = v.signature.subarray(0, 32)
      const h = challenge(R, v.publicKey, v.message)
      const A = Point.fromHex(Buffer.from(v.publicKey).toString('hex'), true)
      const Rp = Point.fromHex(Buffer.from(R).toString('hex'), true)
      const lhs = mul(B, s)
        .subtract(Rp)
        .subtract(h === 0n ? O : A.multiplyUnsafe(h))
      expect(lhs.multiplyUnsafe(8n).equals(O), v.name).toBe(true)
    }
  })

  it('one thread refuses every case libsodium refuses and accepts the rest', () => {
    const verdicts = Object.fromEntries(
      all.map((v) => [v.name, verifySignature(v.publicKey, v.message, v.signature)]),
    )
    expect(verdicts).toEqual(Object.fromEntries(all.map((v) => [v.name, v.valid])))
  })

  it('the pool (workers and calling thread) gives the same verdicts in a batch of them', async () => {
    const batch = Array.from({ length: 4 }, () => all).flat()
    const results = await pool.verify(batch)
    expect(results).toEqual(batch.map((v) => v.valid))
  })
})
