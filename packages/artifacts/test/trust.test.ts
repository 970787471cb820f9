import {
  encodeBundleContent,
  followTrustChain,
  signArtifact,
  signTrustBundle,
  TRUST_BUNDLE_FAMILY,
  type TrustBundle,
  TrustChainError,
  trustBundleStatement,
  verifyTrustLink,
} from '@provsync/artifacts'
import type { Signer } from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import { at, NET, seeded } from './helpers.js'

const k = Array.from({ length: 8 }, (_, i) => seeded(100 + i))
const keysOf = (signers: Signer[]) => signers.map((s) => s.publicKey)
const genesis: TrustBundle = { version: 1n, threshold: 2, keys: keysOf([k[0]!, k[1]!, k[2]!]) }

function link(version: bigint, threshold: number, keys: Signer[], signers: Signer[]) {
  const content = signTrustBundle(version, { threshold, keys: keysOf(keys) }, signers, NET)
  return signArtifact(
    { scope: 'trust', family: TRUST_BUNDLE_FAMILY, name: 'root', version, epoch: 1n, content },
    signers[0]!,
    NET,
    at(),
  )
}

// v2 rotates k0 out and k3 in (signed by k0, k1 of v1 and k1, k2 of v2's own keys);
// v3 rotates to k4, k5, k6 (signed by k1, k2 from v2 and k4, k5).
const v2 = link(2n, 2, [k[1]!, k[2]!, k[3]!], [k[0]!, k[1]!, k[2]!])
const v3 = link(3n, 2, [k[4]!, k[5]!, k[6]!], [k[1]!, k[2]!, k[4]!, k[5]!])

function reasonOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof TrustChainError) return error.reason
    throw error
  }
  return 'ok'
}

describe('trust rotation', () => {
  it('a node that was offline follows the chain link by link, in any arrival order', () => {
    const result = followTrustChain(genesis, [v3, v2], NET)
    expect(result.applied).toEqual([2n, 3n])
    expect(result.bundle.keys).toEqual(keysOf([k[4]!, k[5]!, k[6]!]).sort(Buffer.compare))
    expect(result.refused).toEqual([])
  })

  it('refuses a skipped link: v3 is not signed by the bundle in force at v1', () => {
    expect(reasonOf(() => verifyTrustLink(genesis, v3, NET))).toBe('skipped')
    const result = followTrustChain(genesis, [v3], NET)
    expect(result.bundle).toBe(genesis)
    expect(result.refused.map((e) => e.reason)).toEqual(['skipped'])
  })

  it('refuses a link below the threshold of the keys in force', () => {
    const weak = link(2n, 1, [k[3]!], [k[0]!, k[3]!])
    expect(reasonOf(() => verifyTrustLink(genesis, weak, NET))).toBe('below-threshold')
    // Signatures by keys outside the bundle in force do not count toward its threshold.
    const outsiders = link(2n, 2, [k[5]!, k[6]!], [k[0]!, k[5]!, k[6]!])
    expect(reasonOf(() => verifyTrustLink(genesis, outsiders, NET))).toBe('below-threshold')
  })

  it('refuses a link its own new keys did not sign to their threshold', () => {
    const unsigned = link(2n, 2, [k[6]!, k[7]!], [k[0]!, k[1]!])
    expect(reasonOf(() => verifyTrustLink(genesis, unsigned, NET))).toBe('below-threshold')
  })

  it('refuses a replayed older bundle once a newer one is in force', () => {
    const result = followTrustChain(genesis, [v2, v3, v2], NET)
    expect(result.bundle.version).toBe(3n)
    expect(result.refused.map((e) => e.reason)).toEqual(['replayed'])
    expect(reasonOf(() => verifyTrustLink(result.bundle, v2, NET))).toBe('replayed')
  })

  it('refuses a bundle signed for another network and malformed content', () => {
    const content = signTrustBundle(
      2n,
      { threshold: 2, keys: keysOf([k[1]!, k[2]!]) },
      [k[0]!, k[1]!, k[2]!],
      'other',
    )
    const a = signArtifact(
      { scope: 'trust', family: TRUST_BUNDLE_FAMILY, name: 'root', version: 2n, epoch: 1n, content },
      k[0]!,
      NET,
      at(),
    )
    expect(reasonOf(() => verifyTrustLink(genesis, a, NET))).toBe('below-threshold')
    const bad = signArtifact(
      {
        scope: 'trust',
        family: TRUST_BUNDLE_FAMILY,
        name: 'root',
        version: 2n,
        epoch: 1n,
        content: new Uint8Array([1, 0]),
      },
      k[0]!,
      NET,
      at(),
    )
    expect(reasonOf(() => verifyTrustLink(genesis, bad, NET))).toBe('malformed')
  })
})

describe('signatures collected offline, one key at a time', () => {
  const next = { threshold: 2, keys: keysOf([k[1]!, k[2]!, k[3]!]) }
  const signOne = (signer: Signer) => ({
    key: signer.publicKey,
    signature: signer.sign(trustBundleStatement(NET, 2n, next)),
  })
  const artifactOf = (content: Uint8Array) =>
    signArtifact(
      { scope: 'trust', family: TRUST_BUNDLE_FAMILY, name: 'root', version: 2n, epoch: 1n, content },
      k[0]!,
      NET,
      at(),
    )

  it('in any order gives the bytes signTrustBundle gives, and the link verifies', () => {
    const collected = [k[2]!, k[0]!, k[1]!].map(signOne)
    const content = encodeBundleContent(2n, next, collected)
    expect(Buffer.from(content)).toEqual(Buffer.from(signTrustBundle(2n, next, [k[0]!, k[1]!, k[2]!], NET)))
    expect(verifyTrustLink(genesis, artifactOf(content), NET).version).toBe(2n)
  })

  it('below the threshold of the bundle in force when one old key signs', () => {
    const content = encodeBundleContent(2n, next, [signOne(k[0]!), signOne(k[3]!)])
    expect(reasonOf(() => verifyTrustLink(genesis, artifactOf(content), NET))).toBe('below-threshold')
  })

  it('a statement of another network or version does not count', () => {
    const other = (signer: Signer) => ({
      key: signer.publicKey,
      signature: signer.sign(trustBundleStatement('other-net', 2n, next)),
    })
    const content = encodeBundleContent(2n, next, [other(k[0]!), other(k[1]!), other(k[2]!)])
    expect(reasonOf(() => verifyTrustLink(genesis, artifactOf(content), NET))).toBe('below-threshold')
  })

  it('refuses two signatures of one key and malformed signatures', () => {
    const one = signOne(k[0]!)
    expect(reasonOf(() => encodeBundleContent(2n, next, [one, one]))).toBe('malformed')
    expect(
      reasonOf(() => encodeBundleContent(2n, next, [{ key: one.key, signature: one.signature.slice(1) }])),
    ).toBe('malformed')
  })
})
