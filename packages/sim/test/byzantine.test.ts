import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fromHex, type NodeState, openNodeState, recordHash, signerFromSeed, toHex } from '@provsync/crdt'
import { BYZANTINE_BEHAVIOURS, formatCheck, runScenario } from '@provsync/sim'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { CAUGHT_BY, forgeRecords, type ServedRecord, servedTo } from '../src/byzantine.js'
import { createRng } from '../src/prng.js'

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

  test('the replayed register keeps its key and changes its bytes between phases', () => {
    const keyed = (phase: readonly ServedRecord[]) =>
      new Map(phase.map((r) => [`${r.store}/${toHex(r.key)}`, toHex(r.bytes)]))
    const [before, after] = [keyed(records.phases[0]), keyed(records.phases[1])]
    expect([...before.keys()].sort()).toEqual([...after.keys()].sort())
    const changed = [...before].filter(([key, bytes]) => after.get(key) !== bytes)
    expect(changed).toHaveLength(1)
  })

  test('the two audiences get one register in two versions at once, and nothing else differs', () => {
    const [a, b] = records.versions
    expect(a).toHaveLength(1)
    expect(b).toHaveLength(1)
    expect(toHex(a[0]!.key)).toBe(toHex(b[0]!.key))
    expect(toHex(a[0]!.bytes)).not.toBe(toHex(b[0]!.bytes))
    const keyed = (served: readonly ServedRecord[]) => served.map((r) => `${toHex(r.key)}:${toHex(r.bytes)}`)
    const onlyA = keyed(servedTo(records, 0, 0)).filter((r) => !keyed(servedTo(records, 0, 1)).includes(r))
    expect(onlyA).toEqual(keyed(a))
  })
})

describe('equivocation', () => {
  const [[versionA], [versionB]] = records.versions as [ServedRecord[], ServedRecord[]]
  const hashOf = (r: ServedRecord) => toHex(recordHash(r.bytes))

  async function held(order: readonly (0 | 1)[]): Promise<string | undefined> {
    const dataDir = await mkdtemp(join(tmpdir(), 'provsync-equivocation-'))
    const fresh = await openNodeState({ dataDir, networkId, trust: [operator.publicKey], verifyThreads: 0 })
    try {
      for (const side of order) {
        const record = side === 0 ? versionA! : versionB!
        await fresh.apply('assertions', [record.bytes], { from: byzantine.publicKey })
      }
      const valueHash = fresh.tree('assertions').get(versionA!.key)
      return valueHash === undefined ? undefined : toHex(valueHash)
    } finally {
      await fresh.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  }

  test('the register merge picks one winner whatever order and duplication the versions arrive in', async () => {
    const winner = await held([0, 1])
    expect([hashOf(versionA!), hashOf(versionB!)]).toContain(winner)
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<0 | 1>(0, 1), { minLength: 1, maxLength: 5 }),
        async (order) => {
          const both = order.includes(0) && order.includes(1)
          const only = order[0] === 0 ? hashOf(versionA!) : hashOf(versionB!)
          expect(await held(order)).toBe(both ? winner : only)
        },
      ),
      { numRuns: 12 },
    )
  })

  test('two honest peers are served different versions at once, and all honest nodes end on one', async () => {
    const { report, check } = await runScenario({
      seed: 'equivocation-1',
      nodes: 4,
      workload: { operations: 20, durationMs: 800 },
      byzantine: { behaviours: ['equivocation'] },
      convergeTimeoutMs: 20_000,
    })
    expect(check.ok, formatCheck(check)).toBe(true)
    expect(check.checked).toContain('equivocation-resolved')
    const [equivocation] = report.equivocations
    expect(equivocation!.byzantine).toBe('byz0')
    const [a, b] = equivocation!.versions
    // The Byzantine peer answered each audience with its own version, and honest stores received both.
    expect(a!.handedTo.length).toBeGreaterThan(0)
    expect(b!.handedTo.length).toBeGreaterThan(0)
    expect(a!.handedTo.filter((n) => b!.handedTo.includes(n))).toEqual([])
    expect(a!.receivedBy.length).toBeGreaterThan(0)
    expect(b!.receivedBy.length).toBeGreaterThan(0)
    expect([a!.hash, b!.hash]).toContain(equivocation!.winner)
    expect(fromHex(equivocation!.key)).toHaveLength(versionA!.key.length)
  }, 60_000)
})
