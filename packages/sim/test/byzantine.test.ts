import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type NodeState, openNodeState, signerFromSeed, toHex } from '@provsync/crdt'
import { BYZANTINE_BEHAVIOURS, CAUGHT_BY, createRng, forgeRecords, type ServedRecord } from '@provsync/sim'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const networkId = 'byzantine-test'
const coordinate = { volume: 'v', destination: 'd', origin: 'o' }
let dir: string
let state: NodeState
const byzantine = signerFromSeed(createRng('byz').bytes(32))
const operator = signerFromSeed(createRng('operator').bytes(32))
const records = forgeRecords(
  {
    networkId,
    behaviours: BYZANTINE_BEHAVIOURS,
    victims: [operator.publicKey],
    coordinates: [coordinate],
    rng: createRng('records'),
  },
  byzantine,
)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'provsync-byz-'))
  state = await openNodeState({ dataDir: dir, networkId, trust: [operator.publicKey], verifyThreads: 0 })
})

afterAll(async () => {
  await state.close()
  await rm(dir, { recursive: true, force: true })
})

async function apply(served: readonly ServedRecord[]) {
  const outcomes = []
  for (const store of ['revocations', 'supersessions', 'assertions'] as const) {
    const batch = served.filter((r) => r.store === store)
    outcomes.push(
      ...(await state.apply(
        store,
        batch.map((r) => r.bytes),
        { from: byzantine.publicKey },
      )),
    )
  }
  return outcomes
}

describe('forged records against a real store', () => {
  test('every forged record is refused for the reason the checker expects', async () => {
    const refusedFor = new Set<string>()
    for (const forged of records.forged) {
      const [outcome] = await state.apply(forged.store, [forged.bytes], { from: byzantine.publicKey })
      expect(outcome!.status).toBe('refused')
      refusedFor.add(outcome!.reason!)
    }
    const expected = (
      ['forged-signature', 'untrusted-revocation', 'wrong-network', 'far-future'] as const
    ).map((b) => CAUGHT_BY[b]![0]!)
    expect([...refusedFor].sort()).toEqual([...expected].sort())
    for (const forged of records.forged) expect(state.tree(forged.store).get(forged.key)).toBeUndefined()
  })

  test('phantom runs are valid records: only a revocation can take them out of the view', async () => {
    await apply(records.phases[0])
    expect(state.view.get(coordinate)?.run).toBe(1_000_000n)
    await state.revocations.revoke(
      { subject: byzantine.publicKey, subjectKind: 'peer', reason: 'phantom runs' },
      operator,
    )
    expect(state.view.get(coordinate)).toBeUndefined()
  })

  test('equivocated and replayed registers keep their keys and change their bytes between phases', () => {
    const keyed = (phase: readonly ServedRecord[]) =>
      new Map(phase.map((r) => [`${r.store}/${toHex(r.key)}`, toHex(r.bytes)]))
    const [before, after] = [keyed(records.phases[0]), keyed(records.phases[1])]
    expect([...before.keys()].sort()).toEqual([...after.keys()].sort())
    const changed = [...before].filter(([key, bytes]) => after.get(key) !== bytes)
    expect(changed).toHaveLength(2)
  })
})
