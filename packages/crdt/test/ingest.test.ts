import {
  encodeAssertion,
  FarFutureError,
  InvalidArgumentError,
  InvalidRunError,
  OversizedFieldError,
  RevokedSignerError,
  type StoreName,
  signAssertion,
  UnknownKindError,
  UntrustedOperatorError,
} from '@provsync/crdt'
import { EMPTY_ROOT } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  assertionBytes,
  BASE_MS,
  coordinate,
  crdtSuite,
  hash32,
  hlc,
  NETWORK,
  revocationBytes,
  signerN,
  supersessionBytes,
} from './helpers.js'

const { temp, operator, A } = crdtSuite()

const c1 = coordinate(1)

async function node() {
  return temp.open({ trust: [operator.publicKey] })
}

function expectNothingStored(state: Awaited<ReturnType<typeof node>>) {
  for (const store of ['assertions', 'supersessions', 'revocations'] as StoreName[]) {
    expect(state.tree(store).root()).toEqual(EMPTY_ROOT)
    expect(state.tree(store).count()).toBe(0)
  }
  expect([...state.view.entries()]).toEqual([])
  expect(state.history.latestSeq()).toBe(0)
  expect(state.ledger.latestSeq()).toBe(0)
}

describe('ingest refuses bad input with typed reasons and stores nothing', () => {
  it('forged signatures', async () => {
    const state = await node()
    const good = assertionBytes(A, c1, 5n)
    const forged = good.slice()
    forged[forged.length - 1]! ^= 1
    // Same fields, signed by another key but claiming A: the asserter bytes are A's.
    const impostor = signerN(2)
    const claimed = encodeAssertion(
      {
        ...signAssertion({ coordinate: c1, run: 5n, method: 'm', hlc: hlc(BASE_MS) }, A, NETWORK),
        signature: signAssertion(
          { coordinate: c1, run: 5n, method: 'm', hlc: hlc(BASE_MS) },
          impostor,
          NETWORK,
        ).signature,
      },
      NETWORK,
    )
    const outcomes = await state.apply('assertions', [forged, claimed], { from: A.publicKey })
    expect(outcomes).toMatchObject([
      { status: 'refused', reason: 'bad-signature' },
      { status: 'refused', reason: 'bad-signature' },
    ])
    expectNothingStored(state)
  })

  it('a record of another network', async () => {
    const state = await node()
    const outcomes = await state.apply('assertions', [assertionBytes(A, c1, 5n, BASE_MS, 0, 'other')], {
      from: A.publicKey,
    })
    expect(outcomes[0]).toMatchObject({ status: 'refused', reason: 'wrong-network' })
    expectNothingStored(state)
  })

  it('oversized records and fields', async () => {
    const state = await node()
    const big = new Uint8Array(5000)
    big[0] = 2
    const good = assertionBytes(A, c1, 5n)
    // Rewrite the method length prefix to claim more than the bound allows.
    const longMethod = good.slice()
    const methodAt = 10 + 2 + 3 + 2 + 3 + 2 + 8 + 8
    longMethod[methodAt] = 0x01
    const outcomes = await state.apply('assertions', [big, longMethod], { from: A.publicKey })
    expect(outcomes.map((o) => o.reason)).toEqual(['oversized', 'oversized'])
    expectNothingStored(state)
  })

  it('far-future HLCs', async () => {
    const state = await node()
    const outcomes = await state.apply('assertions', [assertionBytes(A, c1, 5n, Date.now() + 3_600_000)], {
      from: A.publicKey,
    })
    expect(outcomes[0]).toMatchObject({ status: 'refused', reason: 'far-future' })
    expectNothingStored(state)
    await expect(
      state.supersessions.put(supersessionBytes(A, hash32(1), { wallMs: Date.now() + 3_600_000 })),
    ).rejects.toThrow(FarFutureError)
  })

  it('negative, 2^64+ and non-bigint run ids', async () => {
    const state = await node()
    for (const run of [-1n, 2n ** 64n, 3, '3'] as unknown[]) {
      expect(() => state.advanceVerified(c1, run as bigint)).toThrow(InvalidRunError)
    }
    expect(() => state.gate(c1, -1n)).toThrow(InvalidRunError)
    expectNothingStored(state)
  })

  it('unknown kinds, wrong store and malformed bytes', async () => {
    const state = await node()
    const sup = supersessionBytes(A, hash32(1))
    const unknownKind = sup.slice()
    unknownKind[10] = 42
    const outcomes = await state.apply(
      'supersessions',
      [unknownKind, assertionBytes(A, c1, 1n), new Uint8Array([1])],
      {
        from: A.publicKey,
      },
    )
    expect(outcomes.map((o) => o.reason)).toEqual(['unknown-kind', 'unknown-kind', 'malformed'])
    await expect(state.supersessions.put(unknownKind)).rejects.toThrow(UnknownKindError)
    expectNothingStored(state)
  })

  it('revocations by operators outside the trust bundle', async () => {
    const state = await node()
    const outcomes = await state.apply('revocations', [revocationBytes(signerN(55), A.publicKey)], {
      from: A.publicKey,
    })
    expect(outcomes[0]).toMatchObject({ status: 'refused', reason: 'untrusted-operator' })
    await expect(
      state.revocations.revoke({ subject: A.publicKey, subjectKind: 'peer', reason: 'x' }, signerN(55)),
    ).rejects.toThrow(UntrustedOperatorError)
    expectNothingStored(state)
  })

  it('records signed by a revoked key', async () => {
    const state = await node()
    await state.apply('revocations', [revocationBytes(operator, A.publicKey)], { from: operator.publicKey })
    const before = state.tree('assertions').root()
    const outcomes = await state.apply('assertions', [assertionBytes(A, c1, 1n)], { from: A.publicKey })
    expect(outcomes[0]).toMatchObject({ status: 'refused', reason: 'revoked-signer' })
    await expect(state.supersessions.put(supersessionBytes(A, hash32(1)))).rejects.toThrow(RevokedSignerError)
    expect(state.tree('assertions').root()).toEqual(before)
  })

  it('a batch with bad records applies only the valid ones, atomically, with outcomes in order', async () => {
    const state = await node()
    const bad = assertionBytes(A, coordinate(2), 1n).slice()
    bad[bad.length - 3]! ^= 0xff
    const batch = [
      assertionBytes(A, c1, 1n),
      bad,
      assertionBytes(A, c1, 1n),
      assertionBytes(A, c1, 0n, BASE_MS - 1),
    ]
    const outcomes = await state.apply('assertions', batch, { from: A.publicKey })
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'refused', 'duplicate', 'superseded'])
    expect(state.tree('assertions').count()).toBe(1)
  })

  it('a large batch verified on worker threads while it is applied refuses exactly the forged records', async () => {
    const state = await temp.open({ trust: [operator.publicKey], verifyThreads: 2 })
    const batch = Array.from({ length: 200 }, (_, i) => assertionBytes(A, coordinate(i), BigInt(i)))
    const forged = new Set([0, 7, 64, 199])
    for (const i of forged) batch[i]![batch[i]!.length - 10]! ^= 0x20
    const outcomes = await state.apply('assertions', batch, { from: A.publicKey })
    expect(outcomes.map((o, i) => (forged.has(i) ? o.reason : o.status))).toEqual(
      batch.map((_, i) => (forged.has(i) ? 'bad-signature' : 'applied')),
    )
    expect(state.tree('assertions').count()).toBe(196)
    expect(state.view.get(coordinate(7))).toBeUndefined()
    expect(state.view.get(coordinate(8))?.run).toBe(8n)
  })

  it('batches applied without waiting for each other each land whole, and end where applying them one by one ends', async () => {
    const B = signerN(2)
    // Large batches commit on lmdb-js's write thread, small ones at once on the calling thread.
    const first = Array.from({ length: 400 }, (_, i) => assertionBytes(A, coordinate(i % 300), BigInt(i)))
    const second = Array.from({ length: 300 }, (_, i) => assertionBytes(B, coordinate(i), 1n))
    const third = [assertionBytes(A, coordinate(3), 500n), assertionBytes(A, coordinate(3), 2n)]
    const sequential = await temp.open({ trust: [operator.publicKey], verifyThreads: 1 })
    for (const batch of [first, second, third])
      await sequential.apply('assertions', batch, { from: B.publicKey })
    const concurrent = await temp.open({ trust: [operator.publicKey], verifyThreads: 1 })
    const pending = [first, second, third].map((batch) =>
      concurrent.apply('assertions', batch, { from: B.publicKey }),
    )
    // A local act while they are queued commits and is not lost among them.
    expect(concurrent.advanceVerified(coordinate(500), 9n).status).toBe('applied')
    const outcomes = await Promise.all(pending)
    expect(outcomes.flat().every((o) => o.status !== 'refused')).toBe(true)
    expect(outcomes[1]!.every((o) => o.status === 'applied')).toBe(true)
    expect(concurrent.view.get(coordinate(3))?.run).toBe(500n)
    expect(concurrent.view.get(coordinate(500))?.run).toBe(9n)
    // Apart from the local act (signed with each node's own key), both hold the same.
    expect(concurrent.tree('assertions').count()).toBe(sequential.tree('assertions').count() + 1)
    const pulled = (origin: string) => origin !== 'origin-500'
    const views = (state: typeof sequential) =>
      [...state.view.entries()]
        .filter((e) => pulled(e.coordinate.origin))
        .map((e) => [e.coordinate.origin, e.component.run])
    expect(views(concurrent)).toEqual(views(sequential))
    // History follows commit order (a small batch commits before larger ones queued earlier, so a
    // register may advance once instead of twice); the coordinates that changed are the same.
    const changed = (state: typeof sequential) =>
      [...new Set(state.history.since(0).map((e) => e.coordinate.origin))].filter(pulled).sort()
    expect(changed(concurrent)).toEqual(changed(sequential))
  })

  it('close waits for a batch still being committed, and the batch is there after reopening', async () => {
    const dataDir = temp.dir()
    const state = await temp.open({ dataDir, trust: [operator.publicKey], verifyThreads: 1 })
    const batch = Array.from({ length: 300 }, (_, i) => assertionBytes(A, coordinate(i), 1n))
    const applying = state.apply('assertions', batch, { from: A.publicKey })
    await state.close()
    expect((await applying).every((o) => o.status === 'applied')).toBe(true)
    const reopened = await temp.open({ dataDir, trust: [operator.publicKey] })
    expect(reopened.tree('assertions').count()).toBe(300)
  })

  it('argument errors are typed', async () => {
    const state = await node()
    await expect(state.apply('nope' as StoreName, [], { from: A.publicKey })).rejects.toThrow(
      InvalidArgumentError,
    )
    await expect(state.apply('assertions', [], { from: new Uint8Array(3) })).rejects.toThrow(
      InvalidArgumentError,
    )
    expect(() =>
      state.advanceVerified({ volume: 'v'.repeat(300), destination: 'd', origin: 'o' }, 1n),
    ).toThrow(OversizedFieldError)
  })

  it('no random bytes crash apply or get stored (property)', async () => {
    const state = await node()
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<StoreName>('assertions', 'supersessions', 'revocations'),
        fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 5 }),
        async (store, records) => {
          const outcomes = await state.apply(store, records, { from: A.publicKey })
          expect(outcomes.every((o) => o.status === 'refused')).toBe(true)
        },
      ),
      { numRuns: 50 },
    )
    expectNothingStored(state)
  })
})
