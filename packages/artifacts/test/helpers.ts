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
import { generateSigner, type Signer, signerFromSeed } from '@provsync/crdt'

export const NET = 'artifacts-test'

export function seeded(n: number): Signer {
  const seed = new Uint8Array(32)
  seed[0] = n
  seed[31] = 0xa5
  return signerFromSeed(seed)
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
  const hex = new Set(keys.map((k) => Buffer.from(k).toString('hex')))
  return { isRevoked: (k) => hex.has(Buffer.from(k).toString('hex')) }
}
