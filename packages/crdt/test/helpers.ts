import type { NodeState, NodeStateOptions } from '@provsync/crdt'
import * as testing from '@provsync/testing'
import { afterAll, afterEach } from 'vitest'

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

/**
 * The setup most crdt suites open with: a {@link TempDirs} removed after each test (`'each'`) or
 * after the file (`'all'`), the trusted operator (signer 100) and asserters A (1) and B (2).
 */
export function crdtSuite(cleanup: 'each' | 'all' = 'each') {
  const temp = new TempDirs()
  ;(cleanup === 'each' ? afterEach : afterAll)(() => temp.cleanup())
  const [operator, A, B] = [testing.signerN(100), testing.signerN(1), testing.signerN(2)]
  /** A state trusting the operator, holding A's run 9 at {@link SEEDED_COORDS} and B's run 4 at the first. */
  async function seeded(options: Partial<NodeStateOptions> = {}): Promise<NodeState> {
    const state = await temp.open({ trust: [operator.publicKey], ...options })
    const byA = SEEDED_COORDS.map((c) => testing.assertionBytes(A, c, 9n))
    await state.apply('assertions', byA, { from: A.publicKey })
    await state.apply('assertions', [testing.assertionBytes(B, SEEDED_COORDS[0], 4n)], { from: B.publicKey })
    return state
  }
  return { temp, operator, A, B, seeded }
}

/** The coordinates {@link crdtSuite}'s `seeded` state holds records at. */
export const SEEDED_COORDS = [testing.coordinate(1), testing.coordinate(2), testing.coordinate(3)] as const
