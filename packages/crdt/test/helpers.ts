import type { NodeState, NodeStateOptions } from '@provsync/crdt'
import * as testing from '@provsync/testing'

// The shared builders live in @provsync/testing; crdt's suites use its defaults (network
// 'test-net', signer tag 0x5a), and the names below stay for them.
export { generateSigner } from '@provsync/crdt'
export {
  assertionBytes,
  BASE_MS,
  coordinate,
  hash32,
  hlc,
  revocationBytes,
  signerN,
  supersessionBytes,
  TEST_NETWORK as NETWORK,
} from '@provsync/testing'

/** Temporary data directories (and the states opened on them) that {@link TempDirs.cleanup} removes. */
export class TempDirs extends testing.TempDirs {
  constructor() {
    super('provsync.crdt.')
  }

  open(options: Partial<NodeStateOptions> = {}): Promise<NodeState> {
    return testing.openTestState(this, options)
  }
}
