import {
  Authority,
  checkArtifact,
  describeWinner,
  isAdmissible,
  NO_REVOCATIONS,
  selectWinner,
  signScopeEpoch,
  signWithdrawal,
  type Version,
} from '@provsync/artifacts'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  artifact,
  at,
  authorityWithPublishers,
  grant,
  NET,
  operator,
  publishers,
  revokedSet,
  seeded,
} from './helpers.js'

// A pool of signed versions to draw from: three publishers, epochs 1-2, versions 1-4.
const pool = publishers.flatMap((p, pi) =>
  [1n, 2n].flatMap((epoch) =>
    [1n, 2n, 3n, 4n].map((version) =>
      artifact(p, { version, epoch, tombstone: version === 4n && pi === 2, content: new Uint8Array([pi]) }),
    ),
  ),
)
const asVersion = (d: (typeof pool)[number]): Version => ({ artifact: d.record, hash: d.hash })
const subset = fc.array(fc.nat(pool.length - 1), { maxLength: 30 })
const winnerHex = (v: Version | undefined) => (v === undefined ? 'none' : Buffer.from(v.hash).toString('hex'))

describe('current-version join', () => {
  it('any order, batching and duplication gives the same winner', () => {
    const authority = authorityWithPublishers()
    const admissible = (v: Version) => isAdmissible(v.artifact, authority, NO_REVOCATIONS, 0)
    fc.assert(
      fc.property(subset, fc.nat(), (picks, seed) => {
        const items = picks.map((i) => asVersion(pool[i]!))
        const shuffled = [...items, ...items.slice(0, seed % (items.length + 1))].sort(
          (a, b) => ((a.hash[0]! * 31 + seed) % 257) - ((b.hash[0]! * 31 + seed) % 257),
        )
        // Batching: the winner of batches' winners equals the winner of all.
        const half = Math.floor(shuffled.length / 2)
        const batched = [
          selectWinner(shuffled.slice(0, half), admissible),
          selectWinner(shuffled.slice(half), admissible),
        ]
        const merged = selectWinner(batched.filter((v) => v !== undefined) as Version[], admissible)
        expect(winnerHex(selectWinner(shuffled, admissible))).toBe(winnerHex(selectWinner(items, admissible)))
        expect(winnerHex(merged)).toBe(winnerHex(selectWinner(items, admissible)))
      }),
    )
  })

  it('the winner has the highest (epoch, version) among admissible versions', () => {
    const w = selectWinner(pool.map(asVersion), () => true)!
    expect([w.artifact.epoch, w.artifact.version]).toEqual([2n, 4n])
  })
})

describe('fall-back (rule 5)', () => {
  it('revoking a publisher gives the winner of the versions without it', () => {
    const authority = authorityWithPublishers()
    fc.assert(
      fc.property(subset, fc.nat(2), (picks, victim) => {
        const items = picks.map((i) => asVersion(pool[i]!))
        const revoked = revokedSet([publishers[victim]!.publicKey])
        const after = selectWinner(items, (v) => isAdmissible(v.artifact, authority, revoked, 0))
        const without = items.filter(
          (v) => Buffer.compare(v.artifact.publisher, publishers[victim]!.publicKey) !== 0,
        )
        expect(winnerHex(after)).toBe(winnerHex(selectWinner(without, () => true)))
      }),
    )
  })

  it('withdrawing a publish grant or raising the epoch falls back to the best remaining version', () => {
    fc.assert(
      fc.property(subset, fc.nat(2), fc.boolean(), (picks, victim, byEpoch) => {
        const authority = authorityWithPublishers()
        const items = picks.map((i) => asVersion(pool[i]!))
        const subject = publishers[victim]!.publicKey
        if (byEpoch) authority.add(signScopeEpoch({ scope: 'cluster/c1', minEpoch: 2n }, operator, NET, at()))
        else
          authority.add(
            signWithdrawal({ subject, right: 'publish', epoch: 1n, reason: 'x' }, operator, NET, at()),
          )
        const after = selectWinner(items, (v) => isAdmissible(v.artifact, authority, NO_REVOCATIONS, 0))
        const keep = (v: Version) =>
          byEpoch ? v.artifact.epoch >= 2n : Buffer.compare(v.artifact.publisher, subject) !== 0
        expect(winnerHex(after)).toBe(winnerHex(selectWinner(items.filter(keep), () => true)))
      }),
    )
  })

  it('a regrant at a higher epoch than the withdrawal restores the publisher', () => {
    const authority = authorityWithPublishers()
    const subject = publishers[0]!.publicKey
    authority.add(signWithdrawal({ subject, right: 'publish', epoch: 1n, reason: 'x' }, operator, NET, at()))
    expect(authority.allows(subject, 'publish', 'cluster/c1', 0, NO_REVOCATIONS)).toBe(false)
    authority.add(grant(publishers[0]!, 'publish', ['cluster/c1'], 2n))
    expect(authority.allows(subject, 'publish', 'cluster/c1', 0, NO_REVOCATIONS)).toBe(true)
    expect(authority.allows(subject, 'publish', 'cluster/c2', 0, NO_REVOCATIONS)).toBe(false)
  })
})

describe('describeWinner', () => {
  const v = asVersion(artifact(publishers[0]!, { version: 1n, expiresAt: 100 }))
  it('reports expired, never current, and stale only when allowed', () => {
    expect(describeWinner(v, 99, true, false)).toMatchObject({ status: 'current', stale: false })
    expect(describeWinner(v, 100, true, false)).toMatchObject({ status: 'expired' })
    expect(describeWinner(v, 99, false, false)).toEqual({ status: 'stale' })
    expect(describeWinner(v, 99, false, true)).toMatchObject({ status: 'current', stale: true })
    expect(describeWinner(undefined, 0, true, false)).toEqual({ status: 'none', stale: false })
    const t = asVersion(artifact(publishers[0]!, { version: 2n, tombstone: true }))
    expect(describeWinner(t, 0, true, false)).toMatchObject({ status: 'deleted' })
  })
})

describe('checks', () => {
  const authority = authorityWithPublishers()
  authority.add(signScopeEpoch({ scope: 'cluster', minEpoch: 2n }, operator, NET, at()))
  const base = {
    authority,
    revocations: NO_REVOCATIONS,
    holds: (s: string) => s.startsWith('cluster'),
    nowMs: 50,
  }
  const reason = (a: ReturnType<typeof artifact>, ctx = base) => {
    const r = checkArtifact(a.record, ctx)
    return r.ok ? 'ok' : r.reason
  }
  it('refuses each failure with its reason', () => {
    expect(reason(artifact(publishers[0]!, { version: 1n, epoch: 2n }))).toBe('ok')
    expect(reason(artifact(publishers[0]!, { version: 1n, epoch: 2n, scope: 'other' }))).toBe('out-of-scope')
    expect(reason(artifact(publishers[0]!, { version: 1n, epoch: 1n }))).toBe('stale-epoch')
    expect(reason(artifact(seeded(9), { version: 1n, epoch: 2n }))).toBe('no-publish-grant')
    const revoked = { ...base, revocations: revokedSet([publishers[0]!.publicKey]) }
    expect(reason(artifact(publishers[0]!, { version: 1n, epoch: 2n }), revoked)).toBe('revoked-signer')
    const a = artifact(publishers[0]!, { version: 1n, epoch: 2n })
    const tampered = { ...a.record, content: new Uint8Array([1, 2]) }
    expect(checkArtifact(tampered, base)).toMatchObject({ ok: false, reason: 'content-mismatch' })
    const decision = artifact(publishers[0]!, { version: 1n, epoch: 2n, family: 'decision', expiresAt: 10 })
    expect(reason(decision)).toBe('expired')
    expect(reason(artifact(publishers[0]!, { version: 1n, epoch: 2n, expiresAt: 10 }))).toBe('ok')
  })

  it('counts only grants by trusted operators, and expired grants are not live', () => {
    const other = new Authority([seeded(40).publicKey])
    other.add(grant(publishers[0]!, 'publish', ['cluster']))
    expect(other.allows(publishers[0]!.publicKey, 'publish', 'cluster', 0, NO_REVOCATIONS)).toBe(false)
    const a = new Authority([operator.publicKey])
    a.add(grant(publishers[0]!, 'publish', ['cluster'], 1n, { expiresAt: 10 }))
    expect(a.allows(publishers[0]!.publicKey, 'publish', 'cluster', 9, NO_REVOCATIONS)).toBe(true)
    expect(a.allows(publishers[0]!.publicKey, 'publish', 'cluster', 10, NO_REVOCATIONS)).toBe(false)
  })
})
