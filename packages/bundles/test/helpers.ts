import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Coordinate,
  encodeAssertion,
  type NodeState,
  nodeIdFor,
  openNodeState,
  type Signer,
  STORE_NAMES,
  signAssertion,
  signerFromSeed,
  toHex,
} from '@provsync/crdt'

export const NETWORK = 'bundle-test-net'
export const BASE_MS = Date.UTC(2026, 0, 1)

export function signerN(n: number): Signer {
  const seed = new Uint8Array(32)
  seed[0] = n & 0xff
  seed[1] = (n >> 8) & 0xff
  seed[31] = 0xb7
  return signerFromSeed(seed)
}

export const operator = signerN(1)
export const stranger = signerN(2)

export function coordinate(i: number): Coordinate {
  return { volume: 'vol', destination: 'dst', origin: `origin-${i}` }
}

export function assertion(signer: Signer, coord: Coordinate, run: bigint, counter = 0): Uint8Array {
  const hlc = { wallMs: BASE_MS, counter, nodeId: nodeIdFor(signer.publicKey) }
  return encodeAssertion(
    signAssertion({ coordinate: coord, run, method: 'checksum', hlc }, signer, NETWORK),
    NETWORK,
  )
}

export class TempDirs {
  private readonly dirs: string[] = []
  private readonly nodes: NodeState[] = []

  dir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'provsync-bundles-'))
    this.dirs.push(dir)
    return dir
  }

  async node(trust: Uint8Array[] = [operator.publicKey]): Promise<NodeState> {
    const node = await openNodeState({
      dataDir: join(this.dir(), 'node'),
      networkId: NETWORK,
      trust,
      noSync: true,
      verifyThreads: 1,
    })
    this.nodes.push(node)
    return node
  }

  async cleanup(): Promise<void> {
    for (const node of this.nodes.splice(0)) await node.close()
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
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
