import { type NodeState, STORE_NAMES, type StoreName } from '@provsync/crdt'
import { createReconciler, createResponder } from '@provsync/merkle'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
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

const { temp, operator, A: K, B } = crdtSuite('all')

const coords = [coordinate(1), coordinate(2), coordinate(3)]
const options = { trust: [operator.publicKey], noSync: true }

interface Signed {
  store: StoreName
  bytes: Uint8Array
  /** The supersession's target (hash32 of it). */
  target?: number
}

// K's records: several runs per register (so two nodes can hold different maxima) and supersessions.
const fromK: Signed[] = [
  ...coords.flatMap((c) =>
    [1n, 2n, 3n].map((run) => ({ store: 'assertions' as const, bytes: assertionBytes(K, c, run) })),
  ),
  ...[1, 2].map((t) => ({
    store: 'supersessions' as const,
    bytes: supersessionBytes(K, hash32(t), { wallMs: BASE_MS + t }),
    target: t,
  })),
]
const fromB: Signed[] = [
  { store: 'assertions', bytes: assertionBytes(B, coords[0]!, 2n) },
  { store: 'assertions', bytes: assertionBytes(B, coords[1]!, 1n) },
  { store: 'supersessions', bytes: supersessionBytes(B, hash32(1), { wallMs: BASE_MS + 9 }) },
]
const revokeK = revocationBytes(operator, K.publicKey, 'revoke', BASE_MS + 100)
const reinstateK = revocationBytes(operator, K.publicKey, 'reinstate', BASE_MS + 200)

async function applyAll(state: NodeState, records: readonly Signed[], from: Uint8Array) {
  const outcomes = []
  for (const { store, bytes } of records) outcomes.push(...(await state.apply(store, [bytes], { from })))
  return outcomes
}

const roots = (state: NodeState) => STORE_NAMES.map((store) => state.tree(store).root())

/** One anti-entropy exchange per store, as the sync layer runs it: reconcile, then both pull. */
async function exchange(a: NodeState, b: NodeState): Promise<void> {
  for (const store of STORE_NAMES) {
    const reconciler = createReconciler(a.tree(store))
    const responder = createResponder(b.tree(store))
    for (let request = reconciler.next(); request !== undefined; request = reconciler.next()) {
      reconciler.receive(responder.respond(request))
    }
    const { localOnly, remoteOnly, differing } = reconciler.result()
    const present = (r: Uint8Array | undefined): r is Uint8Array => r !== undefined
    const toA = b.getRecords(store, [...remoteOnly, ...differing]).filter(present)
    const toB = a.getRecords(store, [...localOnly, ...differing]).filter(present)
    if (toA.length > 0) await a.apply(store, toA, { from: b.publicKey })
    if (toB.length > 0) await b.apply(store, toB, { from: a.publicKey })
  }
}

const views = (state: NodeState) =>
  coords.map((c) => {
    const component = state.view.get(c)
    return component === undefined
      ? undefined
      : [component.run, component.provenance.type, component.corroborators]
  })

describe("a revoked signer's records leave the replicated set", () => {
  it('nodes that saw different subsets of its records converge on every root after the revocation, and again after the reinstatement (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(fromK),
        fc.subarray(fromK),
        fc.boolean(),
        async (seen1, seen2, revocationFirstOnTwo) => {
          const [n1, n2] = [await temp.open(options), await temp.open(options)]
          for (const n of [n1, n2]) await applyAll(n, fromB, B.publicKey)
          await applyAll(n1, seen1, K.publicKey)
          await n1.apply('revocations', [revokeK], { from: operator.publicKey })
          if (revocationFirstOnTwo) {
            await n2.apply('revocations', [revokeK], { from: operator.publicKey })
            // Arriving after the revocation, K's records are refused and never enter the tree.
            const late = await applyAll(n2, seen2, K.publicKey)
            expect(late.every((o) => o.reason === 'revoked-signer')).toBe(true)
          } else {
            await applyAll(n2, seen2, K.publicKey)
            await n2.apply('revocations', [revokeK], { from: operator.publicKey })
          }
          expect(roots(n1)).toEqual(roots(n2))
          expect(n1.tree('assertions').count()).toBe(2) // B's registers only
          expect(n1.tree('supersessions').count()).toBe(1)
          expect(views(n1)).toEqual(views(n2))
          // Stored for audit, out of force.
          for (const { target } of seen1) {
            if (target === undefined) continue
            const stored = n1.supersessions.all(hash32(target))
            expect(stored.filter((s) => !s.inForce).map((s) => s.record.agent)).toEqual([K.publicKey])
          }
          if (seen1.some((r) => r.store === 'assertions')) {
            expect(coords.some((c) => n1.assertions.get(K.publicKey, c) !== undefined)).toBe(true)
          }
          // Replaying the ledger changes nothing.
          expect(n1.ledger.replay()).toBe(0)
          expect(roots(n1)).toEqual(roots(n2))

          for (const n of [n1, n2]) await n.apply('revocations', [reinstateK], { from: operator.publicKey })
          await exchange(n1, n2)
          expect(roots(n1)).toEqual(roots(n2))
          expect(views(n1)).toEqual(views(n2))
          // Records refused while K was revoked are nowhere; the others spread.
          const union = new Set([...seen1, ...(revocationFirstOnTwo ? [] : seen2)])
          const kSupersessions = [...union].filter((r) => r.store === 'supersessions').length
          expect(n1.tree('supersessions').count()).toBe(1 + kSupersessions)
          const kRegisters = coords.filter((c) => n1.assertions.get(K.publicKey, c) !== undefined).length
          expect(n1.tree('assertions').count()).toBe(2 + kRegisters)
          await Promise.all([n1.close(), n2.close()])
        },
      ),
      { numRuns: 10 },
    )
  })
})

describe('revocations and the trees, around the edges', () => {
  it('notifies the stores whose roots a revocation changed', async () => {
    const state = await temp.open(options)
    await applyAll(state, fromK, K.publicKey)
    const changed: StoreName[] = []
    state.onChange((store) => changed.push(store))
    await state.apply('revocations', [revokeK], { from: operator.publicKey })
    expect(changed.sort()).toEqual(['assertions', 'revocations', 'supersessions'])
    changed.length = 0
    expect(state.ledger.replay()).toBe(0)
    expect(changed).toEqual([])
  })

  it('a revoked operator key keeps its authority over revocations: the trust bundle decides it (property)', async () => {
    const second = signerN(101)
    const records: Signed[] = [
      // The second operator revokes the first one's key; the first revokes, then reinstates, K.
      {
        store: 'revocations',
        bytes: revocationBytes(second, operator.publicKey, 'revoke', BASE_MS + 1, 'signer'),
      },
      { store: 'revocations', bytes: revocationBytes(operator, K.publicKey, 'revoke', BASE_MS + 2) },
      { store: 'revocations', bytes: revocationBytes(operator, B.publicKey, 'revoke', BASE_MS + 3) },
      { store: 'revocations', bytes: revocationBytes(operator, B.publicKey, 'reinstate', BASE_MS + 4) },
      { store: 'assertions', bytes: assertionBytes(operator, coords[2]!, 1n) },
    ]
    const trusted = { trust: [operator.publicKey, second.publicKey], noSync: true }
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }),
        fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }),
        async (order1, order2) => {
          const [n1, n2] = [await temp.open(trusted), await temp.open(trusted)]
          const outcomes1 = await applyAll(n1, order1, second.publicKey)
          await applyAll(n2, order2, second.publicKey)
          // Every revocation is accepted, whatever the order; only the operator's own assertion
          // is subject to the revocation of its key.
          order1.forEach((r, i) => {
            if (r.store === 'revocations') expect(outcomes1[i]?.status).toBe('applied')
          })
          for (const n of [n1, n2]) {
            expect(n.revocations.isRevoked(operator.publicKey)).toBe(true)
            expect(n.revocations.isRevoked(K.publicKey)).toBe(true)
            expect(n.revocations.isRevoked(B.publicKey)).toBe(false)
            expect(n.tree('revocations').count()).toBe(4)
            expect(n.tree('assertions').count()).toBe(0)
          }
          expect(roots(n1)).toEqual(roots(n2))
          await Promise.all([n1.close(), n2.close()])
        },
      ),
      { numRuns: 10 },
    )
  })

  it('an operator removed from the trust bundle takes its revocations out of the tree at the next open, and its revoked keys’ records back in', async () => {
    const dataDir = temp.dir()
    const state = await temp.open({ dataDir, ...options })
    await applyAll(state, fromK, K.publicKey)
    const withK = roots(state)
    await state.apply('revocations', [revokeK], { from: operator.publicKey })
    expect(state.tree('revocations').count()).toBe(1)
    expect(state.tree('assertions').count()).toBe(0)
    await state.close()

    const untrusting = await temp.open({ dataDir, trust: [], noSync: true })
    expect(untrusting.revocations.isRevoked(K.publicKey)).toBe(false)
    expect(untrusting.revocations.records(K.publicKey)).toHaveLength(1) // still stored
    expect(roots(untrusting).slice(1)).toEqual(withK.slice(1))
    expect(untrusting.tree('revocations').count()).toBe(0)
    await untrusting.close()

    const trusting = await temp.open({ dataDir, ...options })
    expect(trusting.tree('revocations').count()).toBe(1)
    expect(trusting.tree('assertions').count()).toBe(0)
  })
})
