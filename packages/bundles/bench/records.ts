/**
 * What the bundle bench and its phase probe share: the bench's network, signers and records, and a
 * node state in a work directory (not a bench suite itself).
 */
import { join } from 'node:path'
import {
  encodeAssertion,
  nodeIdFor,
  openNodeState,
  type Signer,
  signAssertion,
  signerFromSeed,
} from '@provsync/crdt'

export const NETWORK = 'bundle-bench'

/** Signer `n`: `n + 1` big-endian in the seed's first four bytes, 0x5e in its last. */
export function signer(n: number): Signer {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, n + 1)
  seed[31] = 0x5e
  return signerFromSeed(seed)
}

/** `count` assertions by 64 signers in turn, on distinct coordinates, one ms apart from 2026-01-01. */
export function records(count: number): Uint8Array[] {
  const signers = Array.from({ length: 64 }, (_, i) => signer(i))
  const base = Date.UTC(2026, 0, 1)
  return Array.from({ length: count }, (_, i) => {
    const s = signers[i % signers.length]!
    const hlc = { wallMs: base + i, counter: 0, nodeId: nodeIdFor(s.publicKey) }
    const coordinate = { volume: `vol-${i % 97}`, destination: 'offsite', origin: `host-${i}` }
    return encodeAssertion(
      signAssertion({ coordinate, run: BigInt(i + 1), method: 'checksum', hlc }, s, NETWORK),
      NETWORK,
    )
  })
}

/** A node state named `name` in `work`, trusting no operator, without sync's trees. */
export const openIn = (work: string, name: string) =>
  openNodeState({ dataDir: join(work, name), networkId: NETWORK, trust: [], noSync: true })
