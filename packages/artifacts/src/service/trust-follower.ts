import type { Decoded } from '../codec/signed.js'
import type { Artifact } from '../codec/types.js'
import type { ArtifactStore } from '../store/store.js'
import { followTrustChain, TRUST_BUNDLE_FAMILY, type TrustBundle } from '../trust.js'
import { DEFAULT_TRUST_NAME, DEFAULT_TRUST_SCOPE } from './constants.js'

/**
 * Trust rotation over the network: bundles newer than the one in force, replicated as artifacts
 * of family `trust_bundle` in the trust scope, are followed link by link (`followTrustChain`: a
 * threshold of the keys in force and of the new keys must sign each link); when the chain moves,
 * the store puts the new keys in force. A node that was offline follows every link it missed.
 */
export class TrustFollower {
  private inForce: TrustBundle
  private readonly scope: string
  private readonly name: string
  /** Links already refused (by record hash), counted once. */
  private readonly refusedLinks = new Set<string>()

  constructor(
    private readonly store: ArtifactStore,
    options: { bundle: TrustBundle; scope?: string; name?: string },
    private readonly refusals: Record<string, number>,
    private readonly onRotate: (bundle: TrustBundle, applied: readonly bigint[]) => void,
  ) {
    this.inForce = options.bundle
    this.scope = options.scope ?? DEFAULT_TRUST_SCOPE
    this.name = options.name ?? DEFAULT_TRUST_NAME
  }

  get bundle(): TrustBundle {
    return this.inForce
  }

  /** Follows the chain over the stored candidates; true when a newer bundle took effect. */
  follow(): boolean {
    const candidates: Decoded<Artifact>[] = this.store
      .history(this.scope, TRUST_BUNDLE_FAMILY, this.name)
      .filter((e) => e.admissible && e.version.artifact.version > this.inForce.version)
      .map((e) => ({ record: e.version.artifact, bytes: e.version.bytes, hash: e.version.hash }))
    if (candidates.length === 0) return false
    const result = followTrustChain(this.inForce, candidates, this.store.networkId)
    for (const err of result.refused) {
      const id = `${err.version}/${err.reason}/${err.detail}`
      if (err.reason === 'replayed' || this.refusedLinks.has(id)) continue
      this.refusedLinks.add(id)
      this.refusals[err.reason] = (this.refusals[err.reason] ?? 0) + 1
    }
    if (result.applied.length === 0) return false
    this.store.setTrust(result.bundle.keys)
    this.inForce = result.bundle
    this.onRotate(result.bundle, result.applied)
    return true
  }
}
