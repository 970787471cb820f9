import type { ParsedArgs } from '../args.js'
import type { clock } from '../control/handlers.js'
import { toHex } from '../hex.js'
import type { Io } from '../io.js'
import { parseU64, type RecordView, readSigner } from './artifact-sign.js'
import { keyBytes, readProposal, TrustLinkRefusedError } from './trust-file.js'

/** The node's `trust` answer: the bundle in force, where bundles are published, links refused. */
export interface TrustView {
  readonly networkId: string
  readonly version: string
  readonly threshold: number
  readonly keys: readonly string[]
  readonly scope: string
  readonly name: string
  readonly linksRefused: Readonly<Record<string, number>>
}

export function trustText(v: TrustView): string {
  const refused = Object.entries(v.linksRefused).filter(([, n]) => n > 0)
  return [
    `trust bundle version ${v.version} of network ${JSON.stringify(v.networkId)}: ${v.threshold} of ${v.keys.length} key${v.keys.length === 1 ? '' : 's'} sign the next`,
    ...v.keys.map((k) => `  ${k}`),
    `  published as ${v.scope} trust_bundle ${v.name}`,
    `  links refused: ${refused.length === 0 ? 'none' : refused.map(([r, n]) => `${r} ${n}`).join(', ')}`,
  ]
    .join('\n')
    .concat('\n')
}

/**
 * Publishes a signed proposal: the link is checked here against the node's bundle in force (so a
 * link the node would refuse is never published), then the artifact is signed with the publisher
 * key, stamped with the node's clock, and handed to the node, which applies it, follows the chain
 * and pushes it to its peers. Answers the bundle in force afterwards.
 */
export async function publishProposal(args: ParsedArgs, io: Io, path: string, file: string) {
  const proposal = await readProposal(path, file)
  const epoch = parseU64(args, 'epoch', true)!
  const publisher = await readSigner(args, io, 'key', ['agent', 'operator'])
  const lib = await import('@provsync/artifacts/records')
  const { networkTag } = await import('@provsync/crdt')
  const { ask } = await import('./remote.js')
  const inForce = await ask<TrustView>(args, io, 'trust')
  if (proposal.networkId !== inForce.networkId)
    throw new TrustLinkRefusedError(
      'wrong-network',
      `${file} is for network ${JSON.stringify(proposal.networkId)}, the node's is ${JSON.stringify(inForce.networkId)}`,
    )
  const version = BigInt(proposal.version)
  const bundle = { threshold: proposal.threshold, keys: proposal.operators.map(keyBytes) }
  const signatures = proposal.signatures.map((s) => ({
    key: keyBytes(s.key),
    signature: keyBytes(s.signature),
  }))
  const content = lib.encodeBundleContent(version, bundle, signatures)
  const now = await ask<ReturnType<typeof clock>>(args, io, 'clock')
  const input = {
    scope: inForce.scope,
    family: lib.TRUST_BUNDLE_FAMILY,
    name: inForce.name,
    version,
    epoch,
    content,
  }
  const signed = lib.signArtifact(input, publisher, inForce.networkId, {
    wallMs: now.wallMs,
    counter: now.counter,
  })
  const decoded = lib.decodeRecord(signed.bytes, inForce.networkId, networkTag(inForce.networkId))
  const current = {
    version: BigInt(inForce.version),
    threshold: inForce.threshold,
    keys: inForce.keys.map(keyBytes),
  }
  try {
    lib.verifyTrustLink(current, decoded as Parameters<typeof lib.verifyTrustLink>[1], inForce.networkId)
  } catch (err) {
    if (!(err instanceof lib.TrustChainError)) throw err
    throw new TrustLinkRefusedError(err.reason, `version ${version}: ${err.detail}`)
  }
  const applied = await ask<RecordView>(args, io, 'artifact-record', { record: toHex(signed.bytes) })
  const after = await ask<TrustView>(args, io, 'trust')
  if (after.version !== proposal.version)
    throw new TrustLinkRefusedError(
      'not-followed',
      `the node stored version ${version} (${applied.id}) but keeps version ${after.version} in force (is the publisher's grant on ${inForce.scope} live?)`,
    )
  return {
    ...after,
    id: applied.id,
    line: `trust bundle version ${after.version} in force: ${after.threshold} of ${after.keys.length} keys (${applied.id})`,
  }
}
