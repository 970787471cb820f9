import type { NodeState, StoreName } from '@provsync/crdt'
import { signedAssertions } from '@provsync/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { COLD_AFTER, COLD_SAMPLE } from '../src/ingest.js'
import {
  assertionBytes,
  BASE_MS,
  coordinate,
  crdtSuite,
  hash32,
  revocationBytes,
  signerN,
  supersessionBytes,
} from './helpers.js'

// A record that is byte-identical to one the store holds is not verified again (ingest's
// heldCopy); everything else about it runs as for any record. These tests compare a state with
// the shortcut against one that verifies every signature (`verifyHeldCopies: true`).

const { temp, operator, A, B } = crdtSuite()
const C = signerN(3)
const relay = signerN(4)
const peers = [A, B, C, relay]

const open = (verifyHeldCopies: boolean) => temp.open({ trust: [operator.publicKey], verifyHeldCopies })

/** A copy with the last signature byte flipped: the same register, bytes that do not verify. */
function forged(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes)
  out[out.length - 1]! ^= 1
  return out
}

/** The records the batches draw from: each valid one, a re-signed one at its register, a forgery. */
function pools() {
  const assertions: Uint8Array[] = []
  for (const signer of [A, B, C])
    for (const c of [1, 2])
      for (const run of [1n, 2n]) {
        const valid = assertionBytes(signer, coordinate(c), run)
        // Same register (asserter, coordinate), same run, different bytes: a later HLC.
        assertions.push(valid, assertionBytes(signer, coordinate(c), run, BASE_MS, 1), forged(valid))
      }
  const supersessions: Uint8Array[] = []
  for (const signer of [A, B]) {
    const valid = supersessionBytes(signer, hash32(7))
    supersessions.push(valid, forged(valid))
  }
  const revocations: Uint8Array[] = []
  for (const [i, subject] of [B, C].entries()) {
    revocations.push(revocationBytes(operator, subject.publicKey, 'revoke', BASE_MS + 10 + i))
    revocations.push(revocationBytes(operator, subject.publicKey, 'reinstate', BASE_MS + 20 + i))
  }
  revocations.push(forged(revocations[0]!))
  return { assertions, supersessions, revocations } as const
}

const POOLS = pools()
type PoolStore = keyof typeof POOLS

const batchArb = fc.record({
  store: fc.constantFrom<PoolStore>('assertions', 'assertions', 'supersessions', 'revocations'),
  picks: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
  from: fc.nat(peers.length - 1),
  pipelined: fc.boolean(),
})
type Batch = typeof batchArb extends fc.Arbitrary<infer T> ? T : never

async function applyBatch(state: NodeState, batch: Batch) {
  const pool = POOLS[batch.store]
  const records = batch.picks.map((p) => pool[p % pool.length]!)
  const from = { from: peers[batch.from]!.publicKey }
  const outcomes = batch.pipelined
    ? await state.applyVerified(state.verifyRecords(batch.store, records), from)
    : await state.apply(batch.store, records, from)
  // A refusal's detail may name a clock drift that moved between the two states' calls.
  return outcomes.map(({ detail: _detail, ...rest }) => rest)
}

/** Everything the batches leave that a peer, the gate or an audit can see. */
function snapshot(state: NodeState) {
  const stores: StoreName[] = ['revocations', 'supersessions', 'assertions']
  return {
    roots: stores.map((store) => Buffer.from(state.tree(store).root()).toString('hex')),
    records: stores.map((store) => [...state.records(store)]),
    view: [...state.view.entries()],
    evidence: [1, 2].map((c) => state.assertions.evidence(coordinate(c))),
    history: state.history.since().map(({ hlc: _hlc, ...entry }) => entry),
    ledger: state.ledger.since().map(({ correlationId: _c, ...entry }) => entry),
    revoked: [B, C].map((s) => state.revocations.isRevoked(s.publicKey)),
  }
}

describe('copies of held records are not verified again', () => {
  it('any mix of duplicates, fresh records, forged copies and revocations ends as with every signature verified (property)', async () => {
    let skipped = 0
    await fc.assert(
      fc.asyncProperty(fc.array(batchArb, { minLength: 1, maxLength: 8 }), async (batches) => {
        const [shortcut, full] = [await open(false), await open(true)]
        for (const batch of batches) {
          expect(await applyBatch(shortcut, batch)).toEqual(await applyBatch(full, batch))
        }
        expect(snapshot(shortcut)).toEqual(snapshot(full))
        expect(full.verifyCounts().skipped).toBe(0)
        skipped += shortcut.verifyCounts().skipped
        await Promise.all([shortcut.close(), full.close()])
      }),
      { numRuns: 40 },
    )
    // The comparison means something only if the shortcut was taken.
    expect(skipped).toBeGreaterThan(20)
  })

  it('counts a byte-identical copy as skipped, and verifies a forged or re-signed one', async () => {
    const state = await open(false)
    const record = assertionBytes(A, coordinate(1), 1n)
    const resigned = assertionBytes(A, coordinate(1), 1n, BASE_MS, 1)
    expect(await state.apply('assertions', [record], { from: A.publicKey })).toMatchObject([
      { status: 'applied' },
    ])
    expect(state.verifyCounts()).toEqual({ verified: 1, skipped: 0 })
    const outcomes = await state.apply('assertions', [record, forged(record), resigned, record], {
      from: relay.publicKey,
    })
    expect(outcomes.map((o) => o.reason ?? o.status)).toEqual([
      'duplicate',
      'bad-signature',
      'applied',
      'superseded',
    ])
    // The first copy is skipped; the last is held when the batch is checked too (the re-signed
    // record replaces it only in this batch's transaction): skipped, then superseded as before.
    expect(state.verifyCounts()).toEqual({ verified: 3, skipped: 2 })
    // Now the register holds the re-signed record: the original is no longer held, so verified.
    const again = await state.apply('assertions', [resigned, record], { from: B.publicKey })
    expect(again.map((o) => o.status)).toEqual(['duplicate', 'superseded'])
    expect(state.verifyCounts()).toEqual({ verified: 4, skipped: 3 })
    // The duplicate left the provenance as the copy that applied set it (relayed, not from B).
    expect(state.assertions.evidence(coordinate(1))[0]!.via).toEqual(relay.publicKey)
  })

  it('skips held supersessions and revocations, and refuses a held copy of a signer revoked since it was checked', async () => {
    const state = await open(false)
    const sup = supersessionBytes(B, hash32(9))
    const record = assertionBytes(B, coordinate(2), 1n)
    await state.apply('supersessions', [sup], { from: B.publicKey })
    await state.apply('assertions', [record], { from: B.publicKey })
    const revoke = revocationBytes(operator, B.publicKey, 'revoke', BASE_MS + 5)
    // Checked (and found held) before the revocation lands, applied after it.
    const pending = state.verifyRecords('assertions', [record])
    await state.apply('revocations', [revoke], { from: operator.publicKey })
    expect(await state.apply('revocations', [revoke], { from: relay.publicKey })).toMatchObject([
      { status: 'duplicate' },
    ])
    expect(state.verifyCounts()).toEqual({ verified: 3, skipped: 2 })
    expect(state.refusalsOf(pending)).toEqual([])
    expect(await state.applyVerified(pending, { from: relay.publicKey })).toMatchObject([
      { status: 'refused', reason: 'revoked-signer' },
    ])
    // Once revoked, a copy is refused by the checks before any lookup, as before.
    expect(await state.apply('supersessions', [sup], { from: relay.publicKey })).toMatchObject([
      { status: 'refused', reason: 'revoked-signer' },
    ])
    expect(state.verifyCounts()).toEqual({ verified: 3, skipped: 2 })
  })

  it(`after ${COLD_AFTER} lookups found nothing, looks up one record in ${COLD_SAMPLE}, and every one again once a copy is found`, async () => {
    const state = await open(false)
    const signer = signerN(5)
    const fresh = signedAssertions(signer, COLD_AFTER, { wallMs: BASE_MS })
    await state.apply('assertions', fresh, { from: signer.publicKey })
    expect(state.verifyCounts()).toEqual({ verified: COLD_AFTER, skipped: 0 })
    // Copies now: the first lookup is the COLD_SAMPLE-th copy; it finds one, so every later copy
    // is looked up (and skipped) too, and the copies before it are verified.
    const copies = fresh.slice(0, 2 * COLD_SAMPLE)
    const outcomes = await state.apply('assertions', copies, { from: relay.publicKey })
    expect(outcomes.every((o) => o.status === 'duplicate')).toBe(true)
    expect(state.verifyCounts()).toEqual({
      verified: COLD_AFTER + COLD_SAMPLE - 1,
      skipped: COLD_SAMPLE + 1,
    })
  })
})
