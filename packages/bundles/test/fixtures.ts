import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { NodeState, Signer } from '@provsync/crdt'
import { encodeEnvelope, exportBundle, MAGIC, PAYLOAD_TYPE, signEnvelope } from '../src/index.js'
import { assertion, coordinate, operator, signerN, type TempDirs } from './helpers.js'

export const peers = [signerN(20), signerN(21), signerN(22)]

/** A node with `count` assertions by peers 0 and 1 and `count / 10` by peer 2, then peer 2 revoked. */
export async function sourceNode(temp: TempDirs, count: number): Promise<NodeState> {
  const node = await temp.node()
  for (const [p, peer] of peers.entries()) {
    const n = p === 2 ? Math.ceil(count / 10) : count
    const records = Array.from({ length: n }, (_, i) =>
      assertion(peer, coordinate(i), BigInt(10 + p + (i % 3))),
    )
    for (let i = 0; i < records.length; i += 1000) {
      await node.apply('assertions', records.slice(i, i + 1000), { from: peer.publicKey })
    }
  }
  await node.revocations.revoke(
    { subject: peers[2]!.publicKey, subjectKind: 'peer', reason: 'lost laptop' },
    operator,
  )
  return node
}

export async function exportTo(
  temp: TempDirs,
  node: NodeState,
  signers: Signer[] = [operator],
  stores?: ('revocations' | 'supersessions' | 'assertions')[],
) {
  const path = join(temp.dir(), 'out.bundle')
  const result = await exportBundle(node, path, { signers, density: 'standard', stores })
  return { path, result, bytes: new Uint8Array(readFileSync(path)) }
}

/** Writes a bundle from a hand-made manifest and part bytes, signed properly. */
export function craft(
  path: string,
  manifest: object,
  parts: Uint8Array[],
  signers: Signer[] = [operator],
): void {
  const payload = new TextEncoder().encode(JSON.stringify(manifest))
  const envelope = encodeEnvelope(signEnvelope(PAYLOAD_TYPE, payload, signers))
  const length = Buffer.alloc(4)
  length.writeUInt32BE(envelope.length)
  writeFileSync(path, Buffer.concat([MAGIC, length, envelope, ...parts]))
}

/** Offset of the first part: magic, length, envelope. */
export function partsOffset(bytes: Uint8Array): number {
  return MAGIC.length + 4 + Buffer.from(bytes).readUInt32BE(MAGIC.length)
}
