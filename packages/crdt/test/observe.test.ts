import type { ApplyingBatch, NodeState, ObservedBatch, StateObserver } from '@provsync/crdt'
import { describe, expect, it } from 'vitest'
import { assertionBytes, coordinate, crdtSuite, hash32, signerN } from './helpers.js'

const { temp, operator, A, B } = crdtSuite()
const relay = signerN(3)
const node = () => temp.open({ trust: [operator.publicKey] })

type Event = { type: 'applying'; batch: ApplyingBatch } | { type: 'applied'; batch: ObservedBatch }

/** Every event `state` reports to one observer, in order. */
function record(state: NodeState): Event[] {
  const events: Event[] = []
  state.observe({
    applying: (batch) => events.push({ type: 'applying', batch }),
    applied: (batch) => events.push({ type: 'applied', batch }),
  })
  return events
}

const applied = (events: Event[]) => events.flatMap((e) => (e.type === 'applied' ? [e.batch] : []))

/** One record of each outcome: applied, refused (three reasons), duplicate, superseded. */
function everyOutcome(): Uint8Array[] {
  const forged = assertionBytes(A, coordinate(2), 4n)
  forged[forged.length - 1]! ^= 1
  return [
    assertionBytes(A, coordinate(1), 5n),
    forged,
    new Uint8Array([2, 1, 0]),
    assertionBytes(B, coordinate(1), 5n),
    assertionBytes(B, coordinate(1), 5n),
    assertionBytes(A, coordinate(1), 3n),
  ]
}

const STATUSES = ['applied', 'refused', 'refused', 'applied', 'duplicate', 'superseded']

describe('NodeState.observe', () => {
  it('reports an apply once, every record handed in and every outcome, refused ones included', async () => {
    const state = await node()
    const events = record(state)
    const batch = everyOutcome()
    const outcomes = await state.apply('assertions', batch, { from: relay.publicKey })
    expect(outcomes.map((o) => o.status)).toEqual(STATUSES)
    expect(events.map((e) => e.type)).toEqual(['applying', 'applied'])
    expect(events[0]!.batch).toMatchObject({ store: 'assertions', via: 'apply', source: 'peer', count: 6 })
    const [seen] = applied(events)
    expect(seen).toMatchObject({ store: 'assertions', via: 'apply', source: 'peer', from: relay.publicKey })
    expect(seen!.records).toEqual(batch)
    expect(seen!.outcomes).toEqual(outcomes)
  })

  it('reports applyVerified alike: the records its checks refused as handed in, the others as verified', async () => {
    const state = await node()
    const events = record(state)
    const batch = everyOutcome()
    const handle = state.verifyRecords('assertions', batch)
    expect(events).toEqual([])
    const outcomes = await state.applyVerified(handle, { from: relay.publicKey })
    expect(outcomes.map((o) => o.status)).toEqual(STATUSES)
    expect(events.map((e) => e.type)).toEqual(['applying', 'applied'])
    expect(events[0]!.batch).toMatchObject({ via: 'applyVerified', count: 6 })
    const [seen] = applied(events)
    expect(seen).toMatchObject({ store: 'assertions', via: 'applyVerified', source: 'peer' })
    expect(seen!.records).toEqual(batch)
    expect(seen!.outcomes).toEqual(outcomes)
  })

  it("reports the state's own writes as local puts, a wholly refused one included", async () => {
    const state = await node()
    const events = record(state)
    const advanced = state.advanceVerified(coordinate(7), 2n)
    const superseded = await state.supersessions.supersede({
      target: hash32(1),
      kind: 'invalidate',
      reason: 'r',
    })
    await state.revocations.revoke({ subject: B.publicKey, subjectKind: 'peer', reason: 'r' }, operator)
    await expect(
      state.revocations.revoke({ subject: B.publicKey, subjectKind: 'peer', reason: 'r' }, A),
    ).rejects.toThrow()
    const seen = applied(events)
    expect(seen.map((b) => [b.store, b.via, b.source])).toEqual([
      ['assertions', 'put', 'local'],
      ['supersessions', 'put', 'local'],
      ['revocations', 'put', 'local'],
      ['revocations', 'put', 'local'],
    ])
    expect(seen.map((b) => b.outcomes.map((o) => o.status))).toEqual([
      ['applied'],
      ['applied'],
      ['applied'],
      ['refused'],
    ])
    expect(seen[0]!.outcomes[0]!.key).toEqual(advanced.key)
    expect(seen[1]!.records).toEqual(state.getRecords('supersessions', [seen[1]!.outcomes[0]!.key!]))
    expect(superseded.agent).toEqual(state.publicKey)
    expect(seen[3]!.outcomes[0]!.reason).toBe('untrusted-operator')
    // advanceVerified commits synchronously: no `applying` before it.
    expect(events[0]!.type).toBe('applied')
    for (const batch of seen) expect(batch.from).toEqual(state.publicKey)
  })

  it('reports batches in the order they were applied, each applying before its outcomes', async () => {
    const state = await node()
    const events = record(state)
    const first = [assertionBytes(A, coordinate(1), 1n)]
    const second = [assertionBytes(A, coordinate(2), 1n), assertionBytes(B, coordinate(2), 1n)]
    await Promise.all([
      state.apply('assertions', first, { from: A.publicKey }),
      state.apply('assertions', second, { from: B.publicKey }),
    ])
    const third = [assertionBytes(B, coordinate(3), 1n)]
    await state.apply('assertions', third, { from: B.publicKey })
    expect(applied(events).map((b) => b.records)).toEqual([first, second, third])
    const order = events.map(
      (e) => `${e.type}:${e.type === 'applying' ? e.batch.count : e.batch.records.length}`,
    )
    expect(order.indexOf('applying:1')).toBeLessThan(order.indexOf('applied:1'))
    expect(order.indexOf('applying:2')).toBeLessThan(order.indexOf('applied:2'))
    expect(order.filter((e) => e.startsWith('applied'))).toHaveLength(3)
  })

  it('ignores an observer that throws: the apply goes on and the other observers see it', async () => {
    const state = await node()
    const thrower: StateObserver = {
      applying: () => {
        throw new Error('observer failed')
      },
      applied: () => {
        throw new Error('observer failed')
      },
    }
    state.observe(thrower)
    const events = record(state)
    const outcomes = await state.apply('assertions', [assertionBytes(A, coordinate(1), 1n)], {
      from: A.publicKey,
    })
    expect(outcomes.map((o) => o.status)).toEqual(['applied'])
    expect(state.view.get(coordinate(1))).toBeDefined()
    expect(applied(events)).toHaveLength(1)
  })

  it('stops reporting once unsubscribed, and reports no outcomes of a call that throws', async () => {
    const state = await node()
    const events: ObservedBatch[] = []
    const stop = state.observe({ applied: (batch) => events.push(batch) })
    await expect(state.apply('assertions', [], { from: new Uint8Array(3) })).rejects.toThrow(/from/)
    expect(events).toEqual([])
    await state.apply('assertions', [assertionBytes(A, coordinate(1), 1n)], { from: A.publicKey })
    stop()
    await state.apply('assertions', [assertionBytes(A, coordinate(2), 1n)], { from: A.publicKey })
    expect(events).toHaveLength(1)
    expect(events[0]!.source).toBe('peer')
  })

  it('names a batch local when `from` is its own key, whatever path it took', async () => {
    const state = await node()
    const events = record(state)
    await state.apply('supersessions', [], { from: state.publicKey })
    expect(applied(events).map((b) => [b.via, b.source, b.records.length])).toEqual([['apply', 'local', 0]])
  })
})
