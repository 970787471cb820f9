import {
  decodeInvalidation,
  encodeInvalidation,
  type InvalidationCriteria,
  invalidationHash,
  type NodeState,
  RecordRefusedError,
  signInvalidation,
  toHex,
} from '@provsync/crdt'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { assertionBytes, BASE_MS, coordinate, NETWORK, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const operator = signerN(100)
const stranger = signerN(101)
const A = signerN(1)
const B = signerN(2)
const coords = [coordinate(1), coordinate(2), coordinate('x', 'other')]
const tick = (n: number) => ({ wallMs: BASE_MS + n, counter: 0 })

function invalidationBytes(criteria: InvalidationCriteria, at = 1, signer = operator): Uint8Array {
  const record = signInvalidation(
    { action: 'invalidate', criteria, reason: 'bad batch', hlc: tick(at) },
    signer,
    NETWORK,
  )
  return encodeInvalidation(record, NETWORK)
}

function liftBytes(target: Uint8Array, at = 2, signer = operator): Uint8Array {
  const record = signInvalidation(
    { action: 'lift', target, reason: 'false alarm', hlc: tick(at) },
    signer,
    NETWORK,
  )
  return encodeInvalidation(record, NETWORK)
}

async function seeded(options: { trust?: Uint8Array[] } = {}): Promise<NodeState> {
  const state = await temp.open({ trust: options.trust ?? [operator.publicKey] })
  await state.apply(
    'assertions',
    coords.map((c) => assertionBytes(A, c, 9n)),
    { from: A.publicKey },
  )
  return state
}

const viewOf = (state: NodeState) => coords.map((c) => state.view.get(c)?.run)
const pattern: InvalidationCriteria = { type: 'pattern', pattern: 'vol/dst/*' }

describe('invalidation records', () => {
  it('round-trip canonically, and a record of the previous kinds never decodes as one', () => {
    const bytes = invalidationBytes(pattern)
    const record = decodeInvalidation(bytes, NETWORK)
    expect(record).toMatchObject({ action: 'invalidate', criteria: pattern, reason: 'bad batch' })
    expect(encodeInvalidation(record, NETWORK)).toEqual(bytes)
    expect(bytes[0]).toBe(0x04)
    // Frozen: Ed25519 signatures are deterministic, so the record hash is a test vector.
    expect(toHex(invalidationHash(bytes))).toMatchInlineSnapshot(
      `"8d2ad0d79fe53d10d680c7058d4691eb715718fb2c82f1568386b191df380824"`,
    )
    expect(() => decodeInvalidation(new Uint8Array([...bytes, 0]), NETWORK)).toThrow(/trailing/)
    expect(() => decodeInvalidation(bytes, 'other-net')).toThrow(
      expect.objectContaining({ reason: 'wrong-network' }),
    )
    expect(() => decodeInvalidation(assertionBytes(A, coords[0]!, 1n), NETWORK)).toThrow(
      expect.objectContaining({ reason: 'unknown-kind' }),
    )
    for (const criteria of [
      { type: 'signer', key: A.publicKey },
      { type: 'prefix', prefix: 'vol/' },
      { type: 'family', family: 'cluster_snapshot' },
      { type: 'older-than', epoch: { wallMs: BASE_MS, counter: 3, nodeId: new Uint8Array(8).fill(1) } },
    ] as InvalidationCriteria[]) {
      const lifted = decodeInvalidation(invalidationBytes(criteria), NETWORK)
      expect(lifted.action === 'invalidate' && lifted.criteria).toEqual(criteria)
    }
    const lift = decodeInvalidation(liftBytes(invalidationHash(bytes)), NETWORK)
    expect(lift.action === 'lift' && toHex(lift.target)).toBe(toHex(invalidationHash(bytes)))
  })
})

describe('decoding untrusted bytes', () => {
  it('any bytes decode or fail with a typed refusal, never another error', () => {
    const valid = invalidationBytes(pattern)
    const mutated = fc
      .tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }))
      .map(([at, value]) => Uint8Array.from(valid, (byte, i) => (i === at ? value : byte)))
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (bytes) => {
        try {
          decodeInvalidation(bytes, NETWORK)
        } catch (error) {
          expect(error).toBeInstanceOf(RecordRefusedError)
        }
      }),
      { numRuns: 2000 },
    )
  })
})

describe('networked invalidation', () => {
  it('applies through the ledger as a networked entry, and a lift restores the view', async () => {
    const state = await seeded()
    expect(viewOf(state)).toEqual([9n, 9n, 9n])
    const entry = await state.invalidations.invalidate(pattern, { reason: 'bad batch' }, operator)
    expect(entry).toMatchObject({
      kind: 'invalidate',
      origin: 'networked',
      actor: toHex(operator.publicKey),
      source: { type: 'local' },
      reason: 'bad batch',
      criteria: pattern,
      result: { invalidated: 2, restored: 0, viewChanges: 2 },
    })
    expect(viewOf(state)).toEqual([undefined, undefined, 9n])
    expect(state.invalidations.get(entry.id)?.inForce).toBe(true)
    const historyBefore = state.history.since()
    const lift = await state.invalidations.lift(entry.id, { reason: 'false alarm' }, operator)
    expect(lift).toMatchObject({
      kind: 'lift',
      origin: 'networked',
      subjectKind: 'invalidation',
      target: entry.id,
      result: { invalidated: 0, restored: 2, viewChanges: 2 },
    })
    expect(viewOf(state)).toEqual([9n, 9n, 9n])
    expect(state.invalidations.get(entry.id)?.inForce).toBe(false)
    // Forward acts: the history only grows.
    expect(state.history.since().slice(0, historyBefore.length)).toEqual(historyBefore)
    expect(state.tree('invalidations').count()).toBe(2)
    const local = state.ledger.invalidate(
      { type: 'signer', key: B.publicKey },
      { actor: 'ops', reason: 'policy' },
    )
    expect(local.origin).toBe('local')
    expect(state.ledger.since().map((e) => [e.kind, e.origin])).toEqual([
      ['invalidate', 'networked'],
      ['lift', 'networked'],
      ['invalidate', 'local'],
    ])
  })

  it('records which peer an invalidation was pulled from, and invalidates matching records that arrive later', async () => {
    const source = await seeded()
    const entry = await source.invalidations.invalidate(pattern, { reason: 'bad batch' }, operator)
    const target = await temp.open({ trust: [operator.publicKey] })
    const [record] = source.getRecords('invalidations', [entry.id])
    const outcomes = await target.apply('invalidations', [record!], { from: B.publicKey })
    expect(outcomes).toEqual([{ status: 'applied', key: entry.id }])
    expect(target.ledger.since()[0]).toMatchObject({
      kind: 'invalidate',
      origin: 'networked',
      source: { type: 'peer', peer: B.publicKey },
      result: { invalidated: 0 },
    })
    // Records that match arrive after the invalidation: stored and replicated, but out of the view.
    await target.apply(
      'assertions',
      coords.map((c) => assertionBytes(A, c, 9n)),
      { from: A.publicKey },
    )
    expect(viewOf(target)).toEqual([undefined, undefined, 9n])
    expect(target.tree('assertions').root()).toEqual(source.tree('assertions').root())
    expect(await target.apply('invalidations', [record!], { from: B.publicKey })).toEqual([
      { status: 'duplicate', key: entry.id },
    ])
    const lift = liftBytes(entry.id)
    await target.apply('invalidations', [lift], { from: B.publicKey })
    expect(viewOf(target)).toEqual([9n, 9n, 9n])
    expect(target.ledger.since()[1]).toMatchObject({ kind: 'lift', result: { restored: 2 } })
  })

  it('refuses records not signed by an operator of the trust bundle, forged or malformed, storing nothing', async () => {
    const state = await seeded()
    const root = state.tree('invalidations').root()
    const forged = invalidationBytes(pattern)
    forged[forged.length - 1]! ^= 1
    const outcomes = await state.apply(
      'invalidations',
      [
        invalidationBytes(pattern, 1, stranger),
        forged,
        new Uint8Array([4, 1, 2]),
        assertionBytes(A, coords[0]!, 1n),
      ],
      { from: B.publicKey },
    )
    expect(outcomes.map((o) => o.reason)).toEqual([
      'untrusted-operator',
      'bad-signature',
      'malformed',
      'unknown-kind',
    ])
    expect(state.tree('invalidations').root()).toEqual(root)
    expect(state.ledger.latestSeq()).toBe(0)
    expect(viewOf(state)).toEqual([9n, 9n, 9n])
    await expect(state.invalidations.invalidate(pattern, { reason: 'x' }, stranger)).rejects.toMatchObject({
      name: 'UntrustedOperatorError',
      reason: 'untrusted-operator',
    })
  })

  it('is replayed idempotently at open, and follows the trust bundle', async () => {
    const dataDir = temp.dir()
    const first = await temp.open({ dataDir, trust: [operator.publicKey] })
    await first.apply(
      'assertions',
      coords.map((c) => assertionBytes(A, c, 9n)),
      { from: A.publicKey },
    )
    const inv = await first.invalidations.invalidate(pattern, { reason: 'r' }, operator)
    await first.invalidations.invalidate({ type: 'prefix', prefix: 'other/' }, { reason: 'r' }, operator)
    await first.invalidations.lift(inv.id, { reason: 'back' }, operator)
    expect(viewOf(first)).toEqual([9n, 9n, undefined])
    await first.close()
    const again = await temp.open({ dataDir, trust: [operator.publicKey] })
    expect(viewOf(again)).toEqual([9n, 9n, undefined])
    expect(again.ledger.replay()).toBe(0)
    expect(viewOf(again)).toEqual([9n, 9n, undefined])
    await again.close()
    // The operator leaves the bundle: its invalidations stop acting.
    const untrusted = await temp.open({ dataDir, trust: [stranger.publicKey] })
    expect(viewOf(untrusted)).toEqual([9n, 9n, 9n])
    // ...and leave its tree: the replicated set is the trusted operators' records.
    expect(untrusted.tree('invalidations').count()).toBe(0)
    expect([...untrusted.records('invalidations')].map((r) => r.replicated)).toEqual([false, false, false])
  })
})

describe('ledger export and import', () => {
  it('carries networked entries with their signed records, verified on import', async () => {
    const source = await seeded()
    const inv = await source.invalidations.invalidate(pattern, { reason: 'r' }, operator)
    await source.invalidations.invalidate({ type: 'prefix', prefix: 'other/' }, { reason: 'r' }, operator)
    await source.invalidations.lift(inv.id, { reason: 'back' }, operator)
    const restored = await seeded()
    expect(restored.ledger.import(source.ledger.export())).toMatchObject({ added: 3 })
    expect(viewOf(restored)).toEqual(viewOf(source))
    expect(restored.tree('invalidations').root()).toEqual(source.tree('invalidations').root())
    expect(restored.ledger.since().map((e) => [e.kind, e.origin, e.source.type])).toEqual([
      ['invalidate', 'networked', 'import'],
      ['invalidate', 'networked', 'import'],
      ['lift', 'networked', 'import'],
    ])
    const untrusting = await seeded({ trust: [stranger.publicKey] })
    expect(() => untrusting.ledger.import(source.ledger.export())).toThrow(
      expect.objectContaining({ name: 'LedgerImportError' }),
    )
    expect(untrusting.ledger.latestSeq()).toBe(0)
  })
})

describe('the invalidations store is a CRDT', () => {
  it('any order, batching and duplication of invalidations and lifts gives the same root and view', async () => {
    const inv1 = invalidationBytes(pattern, 1)
    const inv2 = invalidationBytes({ type: 'signer', key: A.publicKey }, 2)
    const records = [
      inv1,
      inv2,
      liftBytes(invalidationHash(inv1), 3),
      liftBytes(invalidationHash(inv2), 4, stranger),
    ]
    const assertions = coords.map((c) => assertionBytes(A, c, 9n))
    const subsetAndOrder = fc
      .uniqueArray(fc.nat(records.length - 1), { minLength: 1, maxLength: records.length })
      .chain((set) =>
        fc.tuple(fc.constant(set), fc.shuffledSubarray(set, { minLength: set.length }), fc.nat(3)),
      )
    const outcome = async (order: number[], batchSize: number) => {
      const state = await temp.open({ trust: [operator.publicKey, stranger.publicKey] })
      await state.apply('assertions', assertions, { from: A.publicKey })
      for (let i = 0; i < order.length; i += batchSize) {
        const batch = order.slice(i, i + batchSize).map((n) => records[n]!)
        await state.apply('invalidations', batch, { from: B.publicKey })
      }
      const result = {
        root: toHex(state.tree('invalidations').root()),
        view: viewOf(state),
        inForce: state.invalidations.list().map((s) => [toHex(s.id), s.inForce]),
      }
      await state.close()
      return result
    }
    await fc.assert(
      fc.asyncProperty(subsetAndOrder, async ([set, shuffled, duplicate]) => {
        // The same set: once in one order one record per batch, once shuffled with a duplicate
        // (idempotence) in batches of two.
        const again = [...shuffled, shuffled[duplicate % shuffled.length]!]
        expect(await outcome(again, 2)).toEqual(await outcome(set, 1))
      }),
      { numRuns: 8 },
    )
  })
})
