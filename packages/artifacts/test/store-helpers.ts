import {
  type ArtifactStore,
  type ArtifactStoreOptions,
  openArtifactStore,
  type RevocationSource,
} from '@provsync/artifacts'
import { hex as hexOf, TempDirs } from '@provsync/testing'
import { afterEach } from 'vitest'
import { NET, operator } from './helpers.js'

const temp = new TempDirs('provsync-artifacts-')
afterEach(() => temp.cleanup())

export function tempDir(): string {
  return temp.dir()
}

/** A mutable revocation set, as crdt's revocation state would be. */
export function mutableRevocations(): RevocationSource & {
  revoke(k: Uint8Array): void
  reinstate(k: Uint8Array): void
} {
  const set = new Set<string>()
  return {
    isRevoked: (k) => set.has(hexOf(k)),
    revoke: (k) => set.add(hexOf(k)),
    reinstate: (k) => set.delete(hexOf(k)),
  }
}

export async function openStore(
  nodeKey: Uint8Array,
  options: Partial<ArtifactStoreOptions> = {},
): Promise<ArtifactStore> {
  return temp.adopt(
    await openArtifactStore({
      networkId: NET,
      nodeKey,
      trust: [operator.publicKey],
      dataDir: tempDir(),
      noSync: true,
      verifyThreads: 0,
      ...options,
    }),
  )
}

export function hex(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? 'none' : hexOf(bytes)
}
