import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  applyRevocation,
  audit,
  createControlHandler,
  gate,
  InvalidRequestError,
  ledger,
  type NodeContext,
  RevocationRefusedError,
  status,
  verify,
} from '@provsync/cli'
import { encodeRevocation, generateSigner, signRevocation } from '@provsync/crdt'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import { hex } from '@provsync/testing'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The control handlers are plain functions over a running node: one real node (LMDB in a temp
// directory, TCP on loopback) serves every test here.
let dir: string
let node: ProvsyncNode
let ctx: NodeContext
const operator = generateSigner()
const coordinate = { volume: 'vol', destination: 'dst', origin: 'org' }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provsync-handlers-'))
  node = await createNode({
    dataDir: join(dir, 'node'),
    networkId: 'handlers',
    trust: [operator.publicKey],
    listen: ['/ip4/127.0.0.1/tcp/0'],
  })
  ctx = { node, dataDir: join(dir, 'node'), startedAtMs: Date.now() - 1000, peerHeads: new Map() }
  node.state.advanceVerified(coordinate, 4n)
})

afterAll(async () => {
  await node?.stop()
  await rm(dir, { recursive: true, force: true })
})

function revocationRecord(signer = operator, subject: Uint8Array = randomBytes(32)): string {
  const now = node.state.clock.now()
  const record = signRevocation(
    {
      action: 'revoke',
      subjectKind: 'signer',
      subject,
      reason: 'test',
      hlc: { wallMs: now.wallMs, counter: now.counter },
    },
    signer,
    'handlers',
  )
  return hex(encodeRevocation(record, 'handlers'))
}

describe('control handlers', () => {
  it('status reports identity, stores and counts from the node itself', () => {
    const s = status(ctx)
    expect(s.peerId).toBe(node.peerId.toString())
    expect(s.publicKey).toBe(hex(node.publicKey))
    expect(s.stores.find((x) => x.store === 'assertions')).toEqual({
      store: 'assertions',
      count: 1,
      root: hex(node.state.tree('assertions').root()),
    })
    expect(s.view.coordinates).toBe(1)
    expect(s.uptimeMs).toBeGreaterThanOrEqual(1000)
  })

  it('audit shows local evidence and the history of exactly that coordinate', () => {
    node.state.advanceVerified({ ...coordinate, origin: 'other' }, 1n)
    const a = audit(ctx, coordinate)
    expect(a.component).toMatchObject({ run: '4', provenance: { type: 'local' } })
    expect(a.local?.run).toBe('4')
    expect(a.history).toHaveLength(1)
    expect(a.history[0]).toMatchObject({
      kind: 'advance',
      before: null,
      after: { run: '4' },
      cause: { type: 'local' },
    })
    expect(audit(ctx, { ...coordinate, volume: 'unknown' })).toMatchObject({
      component: null,
      evidence: [],
      history: [],
    })
  })

  it('gate applies the policy it is sent', () => {
    expect(gate(ctx, { ...coordinate, run: '4' })).toMatchObject({
      allowed: true,
      evidence: [{ source: 'local' }],
    })
    expect(gate(ctx, { ...coordinate, run: '5' }).allowed).toBe(false)
    expect(gate(ctx, { ...coordinate, run: '4', policy: { type: 'min-asserters', k: 2 } }).allowed).toBe(
      false,
    )
  })

  it('gate names a peer by its peer id in the reason, as in the evidence lines', () => {
    const d = gate(ctx, { ...coordinate, run: '4', policy: { type: 'min-asserters', k: 1 } })
    const peer = node.peerId.toString()
    expect(d.reason).toContain(`1 distinct asserter (need 1): asserted by ${peer} at run 4`)
    expect(d.reason).not.toContain(hex(node.publicKey))
    expect(d.evidence[0]).toMatchObject({ asserter: { peer } })
  })

  it('refuses malformed parameters with InvalidRequestError, for any input', async () => {
    const handler = createControlHandler(ctx)
    const noop = { progress() {}, signal: new AbortController().signal }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('audit', 'gate', 'ledger', 'revocation'),
        fc.dictionary(
          fc.constantFrom(
            'volume',
            'destination',
            'origin',
            'run',
            'policy',
            'since',
            'kind',
            'record',
            'limit',
          ),
          fc.oneof(fc.jsonValue(), fc.string()),
        ),
        async (method, params) => {
          try {
            await handler({ id: 1, method, params }, noop)
          } catch (err) {
            expect((err as Error).name).toMatch(
              /InvalidRequestError|RevocationRefusedError|InvalidArgumentError/,
            )
          }
        },
      ),
      { numRuns: 200 },
    )
    await expect(handler({ id: 1, method: 'shutdown' }, noop)).rejects.toBeInstanceOf(InvalidRequestError)
    await expect(handler({ id: 1, method: 'gate', params: [] }, noop)).rejects.toThrow(
      'params must be an object',
    )
  })

  it('applies a trusted revocation and returns its ledger entry; refuses an untrusted one', async () => {
    const before = node.state.ledger.latestSeq()
    const applied = await applyRevocation(ctx, { record: revocationRecord() })
    expect(applied).toMatchObject({
      status: 'applied',
      action: 'revoke',
      revoked: true,
      entry: { seq: before + 1 },
    })
    const rogue = generateSigner()
    await expect(applyRevocation(ctx, { record: revocationRecord(rogue) })).rejects.toBeInstanceOf(
      RevocationRefusedError,
    )
    await expect(applyRevocation(ctx, { record: 'abcd' })).rejects.toThrow('not a revocation record')
    expect(node.state.ledger.latestSeq()).toBe(before + 1)
    const l = ledger(ctx, { since: before, kind: 'signer' })
    expect(l.entries.map((e) => e.seq)).toEqual([before + 1])
    expect(ledger(ctx, { kind: 'peer' }).entries).toEqual([])
  })

  it('verify passes on an intact store and finds leaves without records or with the wrong hash', async () => {
    const events: number[] = []
    const clean = await verify(ctx, (_stage, done) => events.push(done))
    expect(clean.ok).toBe(true)
    expect(events.at(-1)).toBe(clean.stores.reduce((n, s) => n + s.leaves, 0))

    const tree = node.state.tree('assertions')
    const [leaf] = [...tree.leaves({ limit: 1 })]
    const orphan = randomBytes(32)
    tree.update([
      { key: orphan, valueHash: randomBytes(32) },
      { key: leaf!.key, valueHash: randomBytes(32) },
    ])
    const broken = await verify(ctx, () => {})
    expect(broken.ok).toBe(false)
    const assertions = broken.stores.find((s) => s.store === 'assertions')!
    // The tampered leaf is caught from both sides: its record hashes elsewhere, and the record's
    // leaf differs in the tree.
    expect(assertions.mismatchCount).toBe(3)
    expect(assertions.mismatches.join('\n')).toContain(`${hex(orphan)}: no record stored for this leaf`)
    expect(assertions.mismatches.join('\n')).toMatch(/record hashes to [0-9a-f]{64}, the tree holds/)
    expect(assertions.mismatches.join('\n')).toContain(`${hex(leaf!.key)}: stored but different in the tree`)
    expect(broken.stores.find((s) => s.store === 'revocations')!.ok).toBe(true)
    tree.update([
      { key: orphan, valueHash: null },
      { key: leaf!.key, valueHash: leaf!.valueHash },
    ])
    expect((await verify(ctx, () => {})).ok).toBe(true)
  })

  it('verify finds a stored record whose leaf is missing from the tree', async () => {
    const tree = node.state.tree('assertions')
    const [leaf] = [...tree.leaves({ limit: 1 })]
    tree.update([{ key: leaf!.key, valueHash: null }])
    try {
      const broken = await verify(ctx, () => {})
      const assertions = broken.stores.find((s) => s.store === 'assertions')!
      expect(broken.ok).toBe(false)
      expect(assertions.mismatches).toEqual([
        `assertions record ${hex(leaf!.key)}: stored but missing from the tree`,
      ])
    } finally {
      tree.update([{ key: leaf!.key, valueHash: leaf!.valueHash }])
    }
    expect((await verify(ctx, () => {})).ok).toBe(true)
  })
})
