import { join } from 'node:path'
import { type Coordinate, type NodeState, type Signer, STORE_NAMES, toHex } from '@provsync/crdt'
import * as testing from '@provsync/testing'

export { BASE_MS, coordinate } from '@provsync/testing'

export const NETWORK = 'bundle-test-net'

/** This suite's signers: their own seed tag (0xb7), so no other suite shares a key with them. */
export function signerN(n: number): Signer {
  return testing.signerN(n, 0xb7)
}

export const operator = signerN(1)
export const stranger = signerN(2)

export function assertion(signer: Signer, coord: Coordinate, run: bigint, counter = 0): Uint8Array {
  return testing.assertionBytes(signer, coord, run, testing.BASE_MS, counter, NETWORK)
}

export class TempDirs extends testing.TempDirs {
  constructor() {
    super('provsync-bundles-')
  }

  node(trust: Uint8Array[] = [operator.publicKey]): Promise<NodeState> {
    return testing.openTestState(this, {
      dataDir: join(this.dir(), 'node'),
      networkId: NETWORK,
      trust,
      noSync: true,
      verifyThreads: 1,
    })
  }
}

/** Everything an import could change: roots, ledger, history, view. */
export function snapshot(node: NodeState) {
  return {
    roots: STORE_NAMES.map((s) => toHex(node.tree(s).root())),
    ledger: node.ledger.latestSeq(),
    history: node.history.latestSeq(),
    view: [...node.view.entries()].map((e) => `${e.coordinate.origin}:${e.component.run}`).sort(),
  }
}
