import { type Coordinate, formatCoordinate, toHex } from '@provsync/crdt'
import { afterEach, describe, expect, it } from 'vitest'
import { assertionBytes, BASE_MS, coordinate, revocationBytes, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const operator = signerN(100)
const A = signerN(1)
const B = signerN(2)
const D = signerN(4)
const c1: Coordinate = coordinate(1)

async function node() {
  return temp.open({ trust: [operator.publicKey] })
}

describe('durability view on LMDB: provenance rules', () => {
  it('rule 1: a strict advance adopts the incoming provenance', async () => {
    const state = await node()
    state.advanceVerified(c1, 3n)
    const [outcome] = await state.apply('assertions', [assertionBytes(A, c1, 5n)], { from: A.publicKey })
    expect(outcome?.status).toBe('applied')
    expect(state.view.get(c1)).toMatchObject({
      run: 5n,
      provenance: { type: 'asserted', asserter: A.publicKey },
    })
    expect(state.history.since().at(-1)?.kind).toBe('advance')
  })

  it('rule 2: local evidence at the recorded run reclaims a peer-asserted component', async () => {
    const state = await node()
    await state.apply('assertions', [assertionBytes(A, c1, 5n)], { from: A.publicKey })
    state.advanceVerified(c1, 5n)
    const component = state.view.get(c1)!
    expect(component.provenance).toEqual({ type: 'local' })
    expect(component.corroborators.map(toHex).sort()).toEqual(
      [A.publicKey, state.publicKey].map(toHex).sort(),
    )
    expect(state.history.since().at(-1)?.kind).toBe('reclaim')
  })

  it('rule 3: a peer assertion at the recorded run never downgrades local evidence', async () => {
    const state = await node()
    state.advanceVerified(c1, 5n)
    await state.apply('assertions', [assertionBytes(A, c1, 5n)], { from: A.publicKey })
    expect(state.view.get(c1)?.provenance).toEqual({ type: 'local' })
    expect(state.history.since().at(-1)?.kind).toBe('corroborate')
  })

  it('rule 4: a lower run never lowers the view', async () => {
    const state = await node()
    await state.apply('assertions', [assertionBytes(A, c1, 9n)], { from: A.publicKey })
    const seq = state.history.latestSeq()
    await state.apply('assertions', [assertionBytes(B, c1, 2n)], { from: B.publicKey })
    state.advanceVerified(c1, 4n)
    expect(state.view.get(c1)).toMatchObject({ run: 9n, provenance: { asserter: A.publicKey } })
    expect(state.history.latestSeq()).toBe(seq)
    const outcome = await state.apply('assertions', [assertionBytes(A, c1, 7n, BASE_MS + 1)], {
      from: A.publicKey,
    })
    expect(outcome[0]?.status).toBe('superseded')
  })

  it('rule 5: revoking a peer falls back to the best remaining evidence; reinstating restores it without re-sync', async () => {
    const state = await node()
    const c2 = coordinate(2)
    state.advanceVerified(c1, 4n)
    await state.apply('assertions', [assertionBytes(A, c1, 9n), assertionBytes(A, c2, 3n)], {
      from: A.publicKey,
    })
    await state.apply('assertions', [assertionBytes(B, c1, 7n)], { from: B.publicKey })
    const historyBefore = state.history.since()

    const entry = await state.revocations.revoke(
      { subject: A.publicKey, subjectKind: 'peer', reason: 'compromised' },
      operator,
    )
    expect(entry.result).toEqual({ invalidated: 2, restored: 0, viewChanges: 2 })
    expect(state.view.get(c1)).toMatchObject({
      run: 7n,
      provenance: { type: 'asserted', asserter: B.publicKey },
    })
    expect(state.view.get(c2)).toBeUndefined()
    expect(state.view.local(c1)?.run).toBe(4n)
    expect(state.assertions.get(A.publicKey, c1)?.run).toBe(9n) // kept for audit and reinstatement
    expect(state.history.since().slice(0, historyBefore.length)).toEqual(historyBefore)
    expect(
      state.history
        .since()
        .slice(historyBefore.length)
        .map((h) => h.kind),
    ).toEqual(['revoke', 'revoke'])

    // New records from the revoked key are refused.
    const refused = await state.apply('assertions', [assertionBytes(A, c1, 10n, BASE_MS + 5)], {
      from: A.publicKey,
    })
    expect(refused[0]).toMatchObject({ status: 'refused', reason: 'revoked-signer' })

    // Revoking B as well leaves local evidence.
    await state.revocations.revoke({ subject: B.publicKey, subjectKind: 'peer', reason: 'also' }, operator)
    expect(state.view.get(c1)).toMatchObject({ run: 4n, provenance: { type: 'local' } })

    const back = await state.revocations.reinstate(
      { subject: A.publicKey, subjectKind: 'peer', reason: 'cleared' },
      operator,
    )
    expect(back.result?.restored).toBe(2)
    expect(state.view.get(c1)).toMatchObject({ run: 9n, provenance: { asserter: A.publicKey } })
    expect(state.view.get(c2)?.run).toBe(3n)
    expect(state.history.since().at(-1)?.kind).toBe('reinstate')
  })

  it('evidence recorded while its own key is revoked is asserted once the key is reinstated', async () => {
    const nodeA = await node()
    const peer = await node()
    const own = { subject: nodeA.publicKey, subjectKind: 'peer' as const, reason: 'suspected' }
    await nodeA.revocations.revoke(own, operator)
    nodeA.advanceVerified(c1, 7n, { method: 'sha256' })
    nodeA.advanceVerified(coordinate(2), 2n)
    // Local evidence counts here, but no assertion exists that a peer could pull (or would accept).
    expect(nodeA.view.get(c1)).toMatchObject({ run: 7n, provenance: { type: 'local' } })
    expect(nodeA.assertions.get(nodeA.publicKey, c1)).toBeUndefined()
    expect(nodeA.tree('assertions').count()).toBe(0)

    await nodeA.revocations.reinstate({ ...own, reason: 'cleared' }, operator)
    expect(nodeA.assertions.get(nodeA.publicKey, c1)).toMatchObject({ run: 7n, method: 'sha256' })
    expect(nodeA.assertions.get(nodeA.publicKey, coordinate(2))?.run).toBe(2n)
    expect(nodeA.tree('assertions').count()).toBe(2)
    // A peer that pulls them records A as the asserter.
    const keys = [...nodeA.tree('assertions').leaves()].map((leaf) => leaf.key)
    const records = nodeA.getRecords('assertions', keys).filter((r): r is Uint8Array => r !== undefined)
    expect((await peer.apply('assertions', records, { from: nodeA.publicKey })).map((o) => o.status)).toEqual(
      ['applied', 'applied'],
    )
    expect(peer.view.get(c1)).toMatchObject({
      run: 7n,
      provenance: { type: 'asserted', asserter: nodeA.publicKey },
    })
    // Withheld evidence is asserted once: a second reinstatement (or a replay) adds nothing.
    await nodeA.revocations.revoke(own, operator)
    await nodeA.revocations.reinstate({ ...own, reason: 'cleared again' }, operator)
    expect(nodeA.tree('assertions').count()).toBe(2)
    expect(nodeA.assertions.get(nodeA.publicKey, c1)?.run).toBe(7n)
  })

  it('relayed provenance: A signs, B relays, C records "asserted by A via B"', async () => {
    const nodeB = await node()
    const nodeC = await node()
    await nodeB.apply('assertions', [assertionBytes(A, c1, 6n)], { from: A.publicKey })
    const keys = [...nodeB.tree('assertions').leaves()].map((leaf) => leaf.key)
    const records = nodeB.getRecords('assertions', keys).filter((r): r is Uint8Array => r !== undefined)
    const outcomes = await nodeC.apply('assertions', records, { from: nodeB.publicKey })
    expect(outcomes.map((o) => o.status)).toEqual(['applied'])
    expect(nodeC.view.get(c1)?.provenance).toEqual({
      type: 'asserted',
      asserter: A.publicKey,
      via: nodeB.publicKey,
    })
    const gate = nodeC.gate(c1, 6n)
    expect(gate.reason).toContain(`asserted by ${toHex(A.publicKey)} via ${toHex(nodeB.publicKey)}`)

    // Revoking the relay leaves A's assertion in force.
    await nodeC.apply('revocations', [revocationBytes(operator, nodeB.publicKey)], { from: D.publicKey })
    expect(nodeC.view.get(c1)?.run).toBe(6n)
    // Revoking the asserter removes it.
    await nodeC.apply('revocations', [revocationBytes(operator, A.publicKey, 'revoke', BASE_MS + 1)], {
      from: D.publicKey,
    })
    expect(nodeC.view.get(c1)).toBeUndefined()
    expect(nodeC.ledger.since().map((e) => e.source)).toEqual([
      { type: 'peer', peer: D.publicKey },
      { type: 'peer', peer: D.publicKey },
    ])
    expect(nodeB.tree('assertions').root()).not.toEqual(new Uint8Array(32))
    expect(formatCoordinate(c1)).toBe('vol/dst/origin-1')
  })
})
