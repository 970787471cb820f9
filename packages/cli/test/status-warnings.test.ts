import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type NodeContext, status } from '@provsync/cli'
import { DEFAULT_READER_LIMITS, generateSigner } from '@provsync/crdt'
import { createResponder } from '@provsync/merkle'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { formatStatus } from '../src/commands/status.js'

// `provsync status` names what an operator should act on while the node still serves: a read
// snapshot held long past many commits (session 15: one held for a node's life grew each node's
// data file to ~270 MB). A real node, its LMDB file, and a merkle responder holding a snapshot.
let dir: string
let node: ProvsyncNode
let ctx: NodeContext

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provsync-status-'))
  node = await createNode({
    dataDir: join(dir, 'node'),
    networkId: 'status-warnings',
    trust: [generateSigner().publicKey],
    listen: ['/ip4/127.0.0.1/tcp/0'],
  })
  ctx = { node, dataDir: join(dir, 'node'), startedAtMs: Date.now(), peerHeads: new Map() }
})

afterAll(async () => {
  vi.useRealTimers()
  await node?.stop()
  await rm(dir, { recursive: true, force: true })
})

const coordinate = (i: number) => ({ volume: 'vol', destination: `dst-${i % 20}`, origin: 'org' })

describe('status warnings', () => {
  it('a healthy node has none, and its status prints no warning line', () => {
    const view = status(ctx)
    expect(view.warnings).toEqual([])
    expect(formatStatus(view)).not.toMatch(/^ {2}warning /m)
  })

  it('names an LMDB read snapshot held past the limits in one line, and drops it once released', () => {
    const responder = createResponder(node.state.tree('supersessions'))
    status(ctx) // the check that first sees the snapshot
    for (let i = 0; i < DEFAULT_READER_LIMITS.maxLagTxns + 50; i++)
      node.state.advanceVerified(coordinate(i), BigInt(i + 1))
    expect(status(ctx).warnings).toEqual([]) // behind, but not yet for long
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + DEFAULT_READER_LIMITS.maxHeldMs + 60_000)
    const view = status(ctx)
    expect(view.warnings).toHaveLength(1)
    expect(view.warnings[0]).toMatch(/LMDB read snapshot of transaction \d+ has been held for 6\.\d min/)
    const warningLines = formatStatus(view)
      .split('\n')
      .filter((line: string) => line.startsWith('  warning '))
    expect(warningLines).toEqual([`  warning    ${view.warnings[0]}`])
    vi.useRealTimers()

    responder.close()
    node.state.advanceVerified(coordinate(0), 5_000n)
    expect(status(ctx).warnings).toEqual([])
  }, 120_000)

  it('prints no warning line for a node of an earlier release, which sends none', () => {
    const { warnings: _, ...earlier } = status(ctx)
    expect(formatStatus(earlier as ReturnType<typeof status>)).not.toMatch(/^ {2}warning /m)
  })
})
