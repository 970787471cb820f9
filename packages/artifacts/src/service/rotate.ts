import type { ArtifactSyncService } from './index.js'

/** What a trust rotation moves besides the artifact store: sync's hello and announcements. */
export interface TrustTarget {
  setTrust(operatorKeys: readonly Uint8Array[]): unknown
}

/**
 * Keeps `targets` (sync's service: `node.sync`) on the trust bundle the artifact service follows:
 * the bundle in force now, then every `trust:rotated`. Returns the unsubscribe. Without it sync
 * keeps comparing the hash of the keys it started with, and two rotated nodes stop syncing their
 * three stores until a restart.
 */
export function followTrustInSync(service: ArtifactSyncService, ...targets: TrustTarget[]): () => void {
  const put = (keys: readonly Uint8Array[]) => {
    for (const target of targets) target.setTrust(keys)
  }
  const now = service.trustBundle()
  if (now !== undefined) put(now.keys)
  const onRotated = (evt: CustomEvent<{ bundle: { keys: readonly Uint8Array[] } }>) =>
    put(evt.detail.bundle.keys)
  service.addEventListener('trust:rotated', onRotated)
  return () => service.removeEventListener('trust:rotated', onRotated)
}
