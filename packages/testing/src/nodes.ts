import { type NodeState, STORE_NAMES, type StoreName } from '@provsync/crdt'
import type { ProvsyncNode, ProvsyncNodeOptions } from '@provsync/sync'
import { TEST_NETWORK } from './constants.js'
import { hex } from './signers.js'
import { TempDirs } from './temp.js'

/**
 * Announcements after 20 ms (at most 100 ms), anti-entropy every 300 ms: nodes on loopback
 * converge in well under a second.
 */
export const FAST_SYNC = {
  announce: { debounceMs: 20, maxWaitMs: 100 },
  antiEntropy: { intervalMs: 300, jitter: 0.3 },
} as const

/** No announcements, no anti-entropy, no sync on connect: nothing syncs unless the test asks. */
export const QUIET_SYNC = { announce: false as const, antiEntropy: false as const, syncOnConnect: false }

/** What a test node needs at least: where it keeps its stores and whom it trusts. */
export type TestNodeOptions = Partial<ProvsyncNodeOptions> & {
  dataDir: string
  trust: readonly Uint8Array[]
}

/**
 * A `createNode` node on 127.0.0.1 (port 0) with {@link FAST_SYNC} under `options.sync` and one
 * verify thread. `@provsync/sync` loads on the first call, so suites without nodes never load libp2p.
 */
export async function startTestNode(options: TestNodeOptions): Promise<ProvsyncNode> {
  const { createNode } = await import('@provsync/sync')
  return createNode({
    networkId: TEST_NETWORK,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    ...options,
    sync: { ...FAST_SYNC, ...options.sync },
    store: { verifyThreads: 1, ...options.store },
  })
}

/**
 * Test nodes in fresh directories, all stopped (then their directories removed) by `cleanup`.
 * `nodes` and `dirs` are the live lists, for tests that add their own.
 */
export class TestNodes {
  readonly nodes: ProvsyncNode[] = []

  /**
   * @param defaults - options of every node this starts; `start` lays its own over them
   * @param dirs - where the data directories come from
   * @default dirs a new {@link TempDirs}
   */
  constructor(
    private readonly defaults: Omit<TestNodeOptions, 'dataDir'>,
    readonly dirs: TempDirs = new TempDirs('provsync-node-'),
  ) {}

  async start(options: Partial<TestNodeOptions> = {}): Promise<ProvsyncNode> {
    const node = await startTestNode({ ...this.defaults, dataDir: await this.dirs.make(), ...options })
    this.nodes.push(node)
    return node
  }

  cleanup(): Promise<void> {
    return stopAll(this.nodes, this.dirs)
  }
}

/**
 * Stops every node in `nodes` (emptying the list), then cleans up each of `after` in order
 * (the directories or stores the nodes ran on): the `afterEach` of a suite that starts nodes.
 */
export async function stopAll(
  nodes: Array<{ stop(): Promise<void> | void }>,
  ...after: Array<{ cleanup(): Promise<void> }>
): Promise<void> {
  await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
  for (const a of after) await a.cleanup()
}

/** Whether every state has the same root in every store. */
export function rootsEqual(...states: Pick<NodeState, 'tree'>[]): boolean {
  const [first, ...rest] = states
  if (first === undefined) return true
  return STORE_NAMES.every((store: StoreName) => {
    const root = hex(first.tree(store).root())
    return rest.every((s) => hex(s.tree(store).root()) === root)
  })
}
