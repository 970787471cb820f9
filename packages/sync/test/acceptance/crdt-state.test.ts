/** crdt's real NodeState (real LMDB in a temp dir) against the ingest contract's acceptance suite. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openNodeState } from '@provsync/crdt'
import { runSyncedStateTests } from '@provsync/testing/synced-state'

runSyncedStateTests(
  'crdt openNodeState',
  async (networkId, trust) => {
    const dir = await mkdtemp(join(tmpdir(), 'provsync-accept-'))
    const state = await openNodeState({ dataDir: dir, networkId, trust, verifyThreads: 0, noSync: true })
    return {
      state,
      async put(records) {
        for (const store of ['revocations', 'supersessions', 'assertions'] as const) {
          const batch = records.filter((r) => r.store === store).map((r) => r.bytes)
          if (batch.length > 0) await state.apply(store, batch, { from: state.publicKey })
        }
      },
      async close() {
        await state.close()
        await rm(dir, { recursive: true, force: true })
      },
    }
  },
  { ingests: true, verifies: true, revokes: true },
)
