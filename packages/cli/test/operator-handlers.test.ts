import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { audit, type NodeContext } from '@provsync/cli'
import {
  encodeAssertion,
  encodeSupersession,
  generateSigner,
  signAssertion,
  signSupersession,
} from '@provsync/crdt'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { hex } from '@provsync/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peerViews } from '../src/control/peers.js'
import { supersessionsOf, viewPage } from '../src/control/read.js'
import { applySupersession, recordEvidence } from '../src/control/write.js'

let dir: string
let node: ProvsyncNode
let ctx: NodeContext
const NETWORK = 'operator-handlers'
const asserter = generateSigner()
const agent = generateSigner()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provsync-op-handlers-'))
  node = await createNode({
    dataDir: join(dir, 'node'),
    networkId: NETWORK,
    trust: [],
    listen: ['/ip4/127.0.0.1/tcp/0'],
  })
  ctx = { node, dataDir: join(dir, 'node'), startedAtMs: Date.now(), peerHeads: new Map() }
})

afterAll(async () => {
  await node?.stop()
  await rm(dir, { recursive: true, force: true })
})

function supersession(target: Uint8Array, replacement?: Uint8Array): string {
  const now = node.state.clock.now()
  const record = signSupersession(
    {
      target,
      kind: replacement === undefined ? 'invalidate' : 'replace',
      reason: 'test',
      ...(replacement !== undefined ? { replacement } : {}),
      hlc: { wallMs: now.wallMs, counter: now.counter },
    },
    agent,
    NETWORK,
  )
  return hex(encodeSupersession(record, NETWORK))
}

describe('operator handlers', () => {
  it('record writes local evidence that the view lists, filtered and paged', async () => {
    for (const origin of ['o1', 'o2', 'o3']) {
      const out = await recordEvidence(ctx, {
        volume: 'v',
        destination: 'd',
        origin,
        run: '7',
        method: 'sha256',
      })
      expect(out).toMatchObject({
        status: 'applied',
        local: { run: '7' },
        component: { provenance: { type: 'local' } },
      })
    }
    expect(
      (await recordEvidence(ctx, { volume: 'v', destination: 'd', origin: 'o1', run: '6' })).status,
    ).toBe('superseded')
    const first = viewPage(ctx, { volume: 'v', limit: 2 })
    expect(first.entries).toHaveLength(2)
    expect(first.next).toBe(2)
    const second = viewPage(ctx, { volume: 'v', limit: 2, offset: 2 })
    expect(second.next).toBeNull()
    // The pages together list every coordinate once (in the view's own order).
    const origins = [...first.entries, ...second.entries].map((e) => e.coordinate.origin)
    expect(origins.sort()).toEqual(['o1', 'o2', 'o3'])
    expect(viewPage(ctx, { origin: 'o2' }).entries).toHaveLength(1)
    expect(viewPage(ctx, { volume: 'none' }).entries).toHaveLength(0)
  })

  it('audit says an invalidated assertion is not in force and names the ledger entry (bug 6)', async () => {
    const coordinate = { volume: 'v', destination: 'd', origin: 'peer-only' }
    const now = node.state.clock.now()
    const record = signAssertion(
      { coordinate, run: 3n, method: 'm', hlc: { wallMs: now.wallMs, counter: now.counter } },
      asserter,
      NETWORK,
    )
    const [outcome] = await node.state.apply('assertions', [encodeAssertion(record, NETWORK)], {
      from: asserter.publicKey,
    })
    expect(outcome?.status).toBe('applied')
    const before = audit(ctx, coordinate)
    expect(before.evidence[0]).toMatchObject({ inForce: true, removedBy: null })
    const entry = node.state.ledger.invalidate(
      { type: 'signer', key: asserter.publicKey },
      { actor: 'test', reason: 'lost key' },
    )
    const after = audit(ctx, coordinate)
    expect(after.component).toBeNull()
    expect(after.evidence[0]).toMatchObject({
      revoked: false,
      inForce: false,
      removedBy: { ledgerSeq: entry.seq, kind: 'invalidate', reason: 'lost key' },
    })
  })

  it('a supersession signed by an agent is applied, read back by target and agent, with its chain', async () => {
    const a = new Uint8Array(32).fill(1)
    const b = new Uint8Array(32).fill(2)
    const applied = await applySupersession(ctx, { record: supersession(a, b) })
    expect(applied).toMatchObject({ status: 'applied', kind: 'replace', inForce: true, target: hex(a) })
    const byTarget = supersessionsOf(ctx, { target: hex(a), chain: true })
    expect(byTarget).toMatchObject({ superseded: true, winner: applied.hash })
    expect('chain' in byTarget && byTarget.chain).toEqual({
      path: [hex(a), hex(b)],
      head: hex(b),
      end: 'head',
    })
    const byAgent = supersessionsOf(ctx, { agent: hex(agent.publicKey), to: String(Date.now() + 60_000) })
    expect(byAgent.supersessions.map((s) => s.hash)).toEqual([applied.hash])
  })

  it('peers shows a last failure when sync reports one, and none when it does not (bug 10)', () => {
    const original = node.sync.peers.bind(node.sync)
    const peer = '12D3KooWLRPJAA5o6Z6WsvLHMFrXNmRkdGSNJ5Sfwq1hK3JvxE5o'
    node.sync.peers = () => [
      { peer, offences: {} as never, lastFailure: { atMs: 1000, reason: 'timeout' } } as never,
    ]
    try {
      expect(peerViews(ctx)).toEqual([
        expect.objectContaining({ peer, connected: false, lastFailure: { atMs: 1000, reason: 'timeout' } }),
      ])
      node.sync.peers = () => [{ peer, offences: {} as never }]
      expect(peerViews(ctx)[0]!.lastFailure).toBeNull()
    } finally {
      node.sync.peers = original
    }
  })
})
