/**
 * sim's lying state (the store behind a Byzantine peer) against the ingest contract's acceptance
 * suite. It takes nothing and verifies nothing (`ingests: false`, `verifies: false`), but what it
 * serves must still hold together: trees, records by key, roots and notifications, for each
 * audience of its equivocation.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signerFromSeed } from '@provsync/crdt'
import type { SyncedState } from '@provsync/sync'
import { runSyncedStateTests, type SyncedStateFixture } from '@provsync/testing/synced-state'
import { open } from 'lmdb'
import { type LyingState, lyingState } from '../src/byzantine.js'

const capabilities = { ingests: false, verifies: false, revokes: false }
const PEER_B = 'peer-b'

/** The state as a peer of audience B sees it: every read runs inside `as(PEER_B)`. */
function asPeerB(lying: LyingState): SyncedState {
  return {
    networkId: lying.networkId,
    publicKey: lying.publicKey,
    tree: (store) => lying.as(PEER_B, () => lying.tree(store)),
    getRecords: (store, keys) => lying.as(PEER_B, () => lying.getRecords(store, keys)),
    apply: (store, records, options) => lying.as(PEER_B, () => lying.apply(store, records, options)),
    onChange: (listener) => lying.onChange(listener),
  }
}

async function fixture(networkId: string, audience: 'a' | 'b'): Promise<SyncedStateFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'provsync-lying-'))
  const env = open({ path: dir, maxDbs: 16, keyEncoding: 'binary', noSync: true })
  const publicKey = signerFromSeed(new Uint8Array(32).fill(3)).publicKey
  const lying = lyingState(env, networkId, publicKey, [[], []], new Set([PEER_B]))
  return {
    state: audience === 'a' ? lying : asPeerB(lying),
    // Each audience is served the records; the other one nothing, so its trees must not leak in.
    put: async (records) => lying.serve(audience === 'a' ? [records, []] : [[], records]),
    async close() {
      await env.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

runSyncedStateTests('sim lying state (audience A)', (networkId) => fixture(networkId, 'a'), capabilities)
runSyncedStateTests(
  'sim lying state (audience B, served through as())',
  (networkId) => fixture(networkId, 'b'),
  capabilities,
)
