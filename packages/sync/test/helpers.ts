import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Assertion,
  type Coordinate,
  encodeAssertion,
  generateSigner,
  type NodeState,
  type Signer,
  signAssertion,
} from '@provsync/crdt'
import { createNode, type ProvsyncNode, type ProvsyncNodeOptions, SYNC_ORDER } from '@provsync/sync'

export const NETWORK = 'provsync-test'

/** Temp directories created by a test file, removed by `cleanup`. */
export function tempDirs() {
  const dirs: string[] = []
  return {
    async make(prefix = 'provsync-sync-'): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), prefix))
      dirs.push(dir)
      return dir
    },
    async cleanup(): Promise<void> {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
    },
  }
}

export type TestNodeOptions = Partial<ProvsyncNodeOptions> & { dataDir: string; trust: readonly Uint8Array[] }

/** A node on 127.0.0.1 with short debounce and anti-entropy, so tests converge in well under a second. */
export function startNode(options: TestNodeOptions): Promise<ProvsyncNode> {
  return createNode({
    networkId: NETWORK,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    ...options,
    sync: {
      announce: { debounceMs: 20, maxWaitMs: 100 },
      antiEntropy: { intervalMs: 300, jitter: 0.3 },
      ...options.sync,
    },
    store: { verifyThreads: 1, ...options.store },
  })
}

/** Polls `check` until it holds; fails with `what` once the deadline passes. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

export function rootsEqual(...states: NodeState[]): boolean {
  const [first, ...rest] = states
  if (first === undefined) return true
  return SYNC_ORDER.every((store) => {
    const root = Buffer.from(first.tree(store).root()).toString('hex')
    return rest.every((s) => Buffer.from(s.tree(store).root()).toString('hex') === root)
  })
}

export function coordinate(i: number): Coordinate {
  return { volume: 'vol', destination: 'dst', origin: `origin-${i}` }
}

/** `count` encoded assertions by `signer` (distinct coordinates from `offset`), as a peer would ship them. */
export function signedAssertions(
  signer: Signer,
  count: number,
  options: { offset?: number; run?: bigint; wallMs?: number; networkId?: string } = {},
): Uint8Array[] {
  const out: Uint8Array[] = []
  const wallMs = options.wallMs ?? Date.now()
  for (let i = 0; i < count; i++) {
    const record: Assertion = signAssertion(
      {
        coordinate: coordinate((options.offset ?? 0) + i),
        run: options.run ?? 1n,
        hlc: { wallMs, counter: i % 60_000 },
        method: 'test',
      },
      signer,
      options.networkId ?? NETWORK,
    )
    out.push(encodeAssertion(record, options.networkId ?? NETWORK))
  }
  return out
}

/** Loads records into a node as if pulled from `from`, in batches (one transaction each). */
export async function load(
  state: NodeState,
  records: Uint8Array[],
  from: Uint8Array,
  batch = 2000,
): Promise<void> {
  for (let i = 0; i < records.length; i += batch) {
    const outcomes = await state.apply('assertions', records.slice(i, i + batch), { from })
    const refused = outcomes.filter((o) => o.status === 'refused')
    if (refused.length > 0) throw new Error(`load refused ${refused.length}: ${refused[0]?.reason}`)
  }
}

export { generateSigner }
