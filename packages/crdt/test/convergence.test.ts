import { type NodeState, type StoreName, toHex } from '@provsync/crdt'
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

const { temp, operator } = crdtSuite('all')

const asserters = [signerN(1), signerN(2), signerN(3)]
const coords = [coordinate(1), coordinate(2), coordinate(3)]

interface Signed {
  bytes: Uint8Array
  from: Uint8Array
}

// A pool of signed records per store, signed once; properties pick sequences from it.
const assertionPool: Signed[] = []
for (const signer of asserters) {
  for (const coord of coords) {
    for (const run of [1n, 2n, 3n]) {
      // Two records at the same run with different HLCs exercise the register's tie-break.
      assertionPool.push({
        bytes: assertionBytes(signer, coord, run, BASE_MS + Number(run)),
        from: signer.publicKey,
      })
      assertionPool.push({ bytes: assertionBytes(signer, coord, run, BASE_MS + 10), from: signer.publicKey })
    }
  }
}
const supersessionPool: Signed[] = []
for (const [i, signer] of asserters.entries()) {
  for (const target of [1, 2]) {
    supersessionPool.push({
      bytes: supersessionBytes(signer, hash32(target), { wallMs: BASE_MS + i }),
      from: signer.publicKey,
    })
    supersessionPool.push({
      bytes: supersessionBytes(signer, hash32(target), { replacement: hash32(10 + i), wallMs: BASE_MS + 5 }),
      from: signer.publicKey,
    })
  }
}
const revocationPool: Signed[] = []
for (const [i, subject] of asserters.entries()) {
  revocationPool.push({
    bytes: revocationBytes(operator, subject.publicKey, 'revoke', BASE_MS + i),
    from: operator.publicKey,
  })
  revocationPool.push({
    bytes: revocationBytes(operator, subject.publicKey, 'reinstate', BASE_MS + 3 - i),
    from: operator.publicKey,
  })
}

/** A sequence of records in some order, with duplicates, applied in batches of random sizes. */
const arbSchedule = (pool: Signed[]) =>
  fc.record({
    order: fc.shuffledSubarray(pool, { minLength: pool.length, maxLength: pool.length }),
    duplicates: fc.array(fc.constantFrom(...pool), { maxLength: 8 }),
    batchSizes: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }),
    insertAt: fc.nat(),
  })

type Schedule = { order: Signed[]; duplicates: Signed[]; batchSizes: number[]; insertAt: number }

async function play(state: NodeState, store: StoreName, schedule: Schedule): Promise<void> {
  const records = [...schedule.order]
  records.splice(schedule.insertAt % (records.length + 1), 0, ...schedule.duplicates)
  let i = 0
  let b = 0
  while (i < records.length) {
    const size = schedule.batchSizes[b++ % schedule.batchSizes.length]!
    const batch = records.slice(i, i + size)
    i += size
    // Records of one batch are pulled from one peer; keep `from` = signer so provenance matches.
    for (const group of groupByFrom(batch)) {
      const outcomes = await state.apply(
        store,
        group.map((r) => r.bytes),
        { from: group[0]!.from },
      )
      for (const o of outcomes) expect(o.status).not.toBe('refused')
    }
  }
}

function groupByFrom(batch: Signed[]): Signed[][] {
  const groups = new Map<string, Signed[]>()
  for (const r of batch) {
    const key = toHex(r.from)
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  return [...groups.values()]
}

function viewSnapshot(state: NodeState) {
  return [...state.view.entries()]
    .map((e) => ({ ...e, key: `${e.coordinate.volume}/${e.coordinate.origin}` }))
    .sort((a, b) => a.key.localeCompare(b.key))
}

function supersessionSnapshot(state: NodeState) {
  return [1, 2].map((t) => ({
    winner: state.supersessions.get(hash32(t))?.hash,
    all: state.supersessions.all(hash32(t)).map((s) => toHex(s.hash)),
    chain: state.supersessions.chain(hash32(t)),
  }))
}

const runs = { numRuns: 12 }

describe('replicated stores converge (commutative, associative, idempotent)', () => {
  it('assertions: any order, batching and duplication give the same root, records and view', async () => {
    await fc.assert(
      fc.asyncProperty(arbSchedule(assertionPool), arbSchedule(assertionPool), async (s1, s2) => {
        const [n1, n2] = [await temp.open({ noSync: true }), await temp.open({ noSync: true })]
        await play(n1, 'assertions', s1)
        await play(n2, 'assertions', s2)
        expect(n1.tree('assertions').root()).toEqual(n2.tree('assertions').root())
        expect(n1.tree('assertions').count()).toBe(asserters.length * coords.length)
        expect(viewSnapshot(n1)).toEqual(viewSnapshot(n2))
        await Promise.all([n1.close(), n2.close()])
      }),
      runs,
    )
  })

  it('supersessions: any order gives the same root, the same winners and chains', async () => {
    await fc.assert(
      fc.asyncProperty(arbSchedule(supersessionPool), arbSchedule(supersessionPool), async (s1, s2) => {
        const [n1, n2] = [await temp.open({ noSync: true }), await temp.open({ noSync: true })]
        await play(n1, 'supersessions', s1)
        await play(n2, 'supersessions', s2)
        expect(n1.tree('supersessions').root()).toEqual(n2.tree('supersessions').root())
        expect(n1.tree('supersessions').count()).toBe(supersessionPool.length)
        expect(supersessionSnapshot(n1)).toEqual(supersessionSnapshot(n2))
        await Promise.all([n1.close(), n2.close()])
      }),
      runs,
    )
  })

  it('revocations: any order gives the same root, the same revoked keys and the same view', async () => {
    const evidence = asserters.map((a, i) => ({
      bytes: assertionBytes(a, coords[0]!, BigInt(i + 1)),
      from: a.publicKey,
    }))
    await fc.assert(
      fc.asyncProperty(arbSchedule(revocationPool), arbSchedule(revocationPool), async (s1, s2) => {
        const options = { trust: [operator.publicKey], noSync: true }
        const [n1, n2] = [await temp.open(options), await temp.open(options)]
        for (const n of [n1, n2]) {
          for (const e of evidence) await n.apply('assertions', [e.bytes], { from: e.from })
        }
        await play(n1, 'revocations', s1)
        await play(n2, 'revocations', s2)
        expect(n1.tree('revocations').root()).toEqual(n2.tree('revocations').root())
        const revoked = (n: NodeState) => asserters.map((a) => n.revocations.isRevoked(a.publicKey))
        expect(revoked(n1)).toEqual(revoked(n2))
        expect(revoked(n1)).toEqual([false, false, true]) // the latest HLC per subject wins
        expect(viewSnapshot(n1)).toEqual(viewSnapshot(n2))
        expect(n1.view.get(coords[0]!)?.run).toBe(2n)
        await Promise.all([n1.close(), n2.close()])
      }),
      runs,
    )
  })
})
