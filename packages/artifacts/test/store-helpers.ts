import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ArtifactStore,
  type ArtifactStoreOptions,
  openArtifactStore,
  type RevocationSource,
} from '@provsync/artifacts'
import { afterEach } from 'vitest'
import { NET, operator } from './helpers.js'

const dirs: string[] = []
const stores: ArtifactStore[] = []

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'provsync-artifacts-'))
  dirs.push(dir)
  return dir
}

/** A mutable revocation set, as crdt's revocation state would be. */
export function mutableRevocations(): RevocationSource & {
  revoke(k: Uint8Array): void
  reinstate(k: Uint8Array): void
} {
  const set = new Set<string>()
  const hex = (k: Uint8Array) => Buffer.from(k).toString('hex')
  return {
    isRevoked: (k) => set.has(hex(k)),
    revoke: (k) => set.add(hex(k)),
    reinstate: (k) => set.delete(hex(k)),
  }
}

export async function openStore(
  nodeKey: Uint8Array,
  options: Partial<ArtifactStoreOptions> = {},
): Promise<ArtifactStore> {
  const store = await openArtifactStore({
    networkId: NET,
    nodeKey,
    trust: [operator.publicKey],
    dataDir: tempDir(),
    noSync: true,
    verifyThreads: 0,
    ...options,
  })
  stores.push(store)
  return store
}

export function hex(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? 'none' : Buffer.from(bytes).toString('hex')
}
