import {
  InvalidArgumentError,
  type NodeState,
  StateClosedError,
  type StoreName,
  type VerifiedRecords,
} from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  assertionBytes,
  coordinate,
  crdtSuite,
  hash32,
  revocationBytes,
  signerN,
  supersessionBytes,
} from './helpers.js'

const { temp, operator, A, B } = crdtSuite()

const relay = signerN(3)

const node = () => temp.open({ trust: [operator.publicKey] })

/** Everything a batch leaves behind that a peer or the gate can see. */
function snapshot(state: NodeState) {
  const stores: StoreName[] = ['revocations', 'supersessions', 'assertions']
  return {
    roots: stores.map((store) => Buffer.from(state.tree(store).root()).toString('hex')),
    view: [...state.view.entries()],
    history: state.history.since().map(({ hlc: _hlc, ...entry }) => entry),
    count: state.view.count(),
  }
}

/** A batch with one record of each kind of refusal between good ones. */
function mixedBatch(): Uint8Array[] {
  const forged = assertionBytes(A, coordinate(2), 4n)
  forged[forged.length - 1]! ^= 1
  const farFuture = assertionBytes(B, coordinate(3), 1n, Date.now() + 3_600_000)
  return [
    assertionBytes(A, coordinate(1), 5n),
    forged,
    new Uint8Array([2, 1, 0]),
    assertionBytes(B, coordinate(1), 5n),
    farFuture,
    new Uint8Array(5000),
    assertionBytes(B, coordinate(1), 5n),
    assertionBytes(A, coordinate(1), 3n),
  ]
}

describe('verifyRecords + applyVerified', () => {
  it('gives the outcomes, trees, view and history apply gives', async () => {
    const viaApply = await node()
    const viaVerified = await node()
    const batch = mixedBatch()
    const expected = await viaApply.apply('assertions', batch, { from: relay.publicKey })
    const handle = viaVerified.verifyRecords('assertions', batch)
    expect(handle).toMatchObject({ store: 'assertions', count: 8 })
    const outcomes = await viaVerified.applyVerified(handle, { from: relay.publicKey })
    // The far-future refusal names the drift, which moved between the two calls.
    const withoutDetail = (o: { detail?: string }[]) => o.map(({ detail: _detail, ...rest }) => rest)
    expect(withoutDetail(outcomes)).toEqual(withoutDetail(expected))
    expect(outcomes.map((o) => o.reason ?? o.status)).toEqual([
      'applied',
      'bad-signature',
      'malformed',
      'applied',
      'far-future',
      'oversized',
      'duplicate',
      'superseded',
    ])
    expect(snapshot(viaVerified)).toEqual(snapshot(viaApply))
  })

  it('tags provenance with the from of applyVerified, as apply does', async () => {
    const state = await node()
    const handle = state.verifyRecords('assertions', [assertionBytes(A, coordinate(1), 7n)])
    await state.applyVerified(handle, { from: relay.publicKey })
    const component = state.view.get(coordinate(1))!
    expect(component.run).toBe(7n)
    expect(component.provenance).toEqual({ type: 'asserted', asserter: A.publicKey, via: relay.publicKey })
    expect(state.history.since().at(-1)!.cause).toMatchObject({ type: 'pull', from: relay.publicKey })
  })

  it('stores the bytes it verified, whatever the caller does to its arrays afterwards', async () => {
    const state = await node()
    // Records of different lengths, copied side by side into one buffer (ingest's copyAll).
    const records = [
      assertionBytes(A, coordinate(1), 5n),
      assertionBytes(B, { volume: 'a-longer-volume', destination: 'd', origin: 'o' }, 6n),
      assertionBytes(A, coordinate(3), 7n),
    ]
    const originals = records.map((r) => r.slice())
    const handle = state.verifyRecords('assertions', records)
    for (const record of records) record[record.length - 1]! ^= 1 // no longer verifies in the caller's copy
    const outcomes = await state.applyVerified(handle, { from: A.publicKey })
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'applied', 'applied'])
    expect(
      state.getRecords(
        'assertions',
        outcomes.map((o) => o.key!),
      ),
    ).toEqual(originals)
  })

  it('refuses a signer revoked between verification and apply', async () => {
    const state = await node()
    const handle = state.verifyRecords('assertions', [assertionBytes(A, coordinate(1), 5n)])
    await state.revocations.revoke({ subject: A.publicKey, subjectKind: 'peer', reason: 'test' }, operator)
    const [outcome] = await state.applyVerified(handle, { from: A.publicKey })
    expect(outcome).toMatchObject({ status: 'refused', reason: 'revoked-signer' })
    expect(state.tree('assertions').count()).toBe(0)
  })

  it('applies supersessions and revocations too', async () => {
    const state = await node()
    const revocation = revocationBytes(operator, B.publicKey)
    const [r] = await state.applyVerified(state.verifyRecords('revocations', [revocation]), {
      from: operator.publicKey,
    })
    expect(r!.status).toBe('applied')
    expect(state.revocations.isRevoked(B.publicKey)).toBe(true)
    const supersession = supersessionBytes(A, hash32(9))
    const [s] = await state.applyVerified(state.verifyRecords('supersessions', [supersession]), {
      from: A.publicKey,
    })
    expect(s!.status).toBe('applied')
    expect(state.supersessions.isSuperseded(hash32(9))).toBe(true)
  })

  it('uses a handle once, on the state that made it, and writes nothing for any other value', async () => {
    const state = await node()
    const other = await node()
    const before = snapshot(state)
    const handle = other.verifyRecords('assertions', [assertionBytes(A, coordinate(1), 5n)])
    const from = { from: A.publicKey }
    await expect(state.applyVerified(handle, from)).rejects.toMatchObject({
      name: 'InvalidArgumentError',
      argument: 'verified',
    })
    const lookalike = { store: 'assertions', count: 1 } as VerifiedRecords
    await expect(state.applyVerified(lookalike, from)).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(snapshot(state)).toEqual(before)
    await other.applyVerified(handle, from)
    await expect(other.applyVerified(handle, from)).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('refuses bad arguments with typed errors', async () => {
    const state = await node()
    expect(() => state.verifyRecords('invalidations' as 'assertions', [])).toThrow(InvalidArgumentError)
    expect(() => state.verifyRecords('nope' as 'assertions', [])).toThrow(InvalidArgumentError)
    expect(() => state.verifyRecords('assertions', 'x' as unknown as Uint8Array[])).toThrow(
      InvalidArgumentError,
    )
    const handle = state.verifyRecords('assertions', [assertionBytes(A, coordinate(1), 5n)])
    await expect(state.applyVerified(handle, { from: new Uint8Array(3) })).rejects.toMatchObject({
      argument: 'from',
    })
    // A refused call leaves the handle usable.
    expect((await state.applyVerified(handle, { from: A.publicKey }))[0]!.status).toBe('applied')
    await state.close()
    expect(() => state.verifyRecords('assertions', [])).toThrow(StateClosedError)
  })

  it('matches apply on any batch of good, forged and repeated records (property)', async () => {
    const pool = [
      ...[1, 2, 3].map((i) => assertionBytes(A, coordinate(i % 2), BigInt(i))),
      ...[1, 2].map((i) => assertionBytes(B, coordinate(i), 2n)),
    ]
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ pick: fc.nat(pool.length - 1), flip: fc.option(fc.nat(199)) }), {
          maxLength: 12,
        }),
        async (picks) => {
          const batch = () =>
            picks.map(({ pick, flip }) => {
              const bytes = pool[pick]!.slice()
              if (flip !== null) bytes[flip % bytes.length]! ^= 1
              return bytes
            })
          const [x, y] = [await node(), await node()]
          const expected = await x.apply('assertions', batch(), { from: relay.publicKey })
          const got = await y.applyVerified(y.verifyRecords('assertions', batch()), { from: relay.publicKey })
          expect(got).toEqual(expected)
          expect(snapshot(y)).toEqual(snapshot(x))
          await Promise.all([x.close(), y.close()])
        },
      ),
      { numRuns: 15 },
    )
  })
})
