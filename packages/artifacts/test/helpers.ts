import {
  type ArtifactInput,
  Authority,
  type Decoded,
  type Grant,
  type RevocationSource,
  type Right,
  signArtifact,
  signGrant,
} from '@provsync/artifacts'
import { generateSigner, type Signer } from '@provsync/crdt'
import { hex, signerN } from '@provsync/testing'

export const NET = 'artifacts-test'

/** This suite's signers: their own seed tag (0xa5), so no other suite shares a key with them. */
export function seeded(n: number): Signer {
  return signerN(n, 0xa5)
}

export const operator = seeded(1)
export const publishers = [seeded(2), seeded(3), seeded(4)]
export { generateSigner }

let tick = 1_000_000
export function at() {
  tick += 1
  return { wallMs: tick, counter: 0 }
}

export function grant(
  subject: Signer,
  right: Right,
  scopes: string[],
  epoch = 1n,
  extra: Partial<Grant> = {},
): Decoded<Grant> {
  return signGrant({ subject: subject.publicKey, right, scopes, epoch, ...extra }, operator, NET, at())
}

export function artifact(publisher: Signer, input: Partial<ArtifactInput> & { version: bigint }) {
  return signArtifact(
    {
      scope: 'cluster/c1',
      family: 'cluster_snapshot',
      name: 'main',
      epoch: 1n,
      content: new TextEncoder().encode(`v${input.version}`),
      ...input,
    },
    publisher,
    NET,
    at(),
  )
}

/** An authority where every test publisher may publish under `cluster`. */
export function authorityWithPublishers(): Authority {
  const authority = new Authority([operator.publicKey])
  for (const p of publishers) authority.add(grant(p, 'publish', ['cluster']))
  return authority
}

export function revokedSet(keys: Uint8Array[]): RevocationSource {
  const revoked = new Set(keys.map(hex))
  return { isRevoked: (k) => revoked.has(hex(k)) }
}
