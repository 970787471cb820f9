/**
 * The acceptance suite for the ingest contract (`SyncedState`, docs/CONTRACTS.md): every
 * implementer runs `runSyncedStateTests` against its own state, as automerge-repo's storage
 * adapters run `runStorageAdapterTests`.
 *
 * Capabilities decide which cases are registered (none is ever skipped):
 * - always: identity, trees change exactly with the records put in, records listed by tree key
 *   round-trip, unknown keys read as undefined, roots of equal sets are equal whatever the order,
 *   `onChange` fires after a change and stops after unsubscribing.
 * - `ingests: true`: `apply` of a peer's valid records stores them; it is idempotent,
 *   order-independent (fast-check) and one call commits as one batch (one notification that
 *   already sees every record). `ingests: false` (a lying state that takes nothing): `apply`
 *   answers one outcome per record, stores none and changes no root.
 * - `verifies: true`: invalid records (forged signature, foreign network) are refused with their
 *   reason and change nothing, and do not stop the valid records of the same call.
 * - `revokes: true`: a revocation by a trusted operator (`SUITE_OPERATOR`, passed to the factory)
 *   is stored and refuses the revoked signer's later records; one by anyone else is refused.
 */
import { assertionKey, type Coordinate, recordHash, type Signer, signerFromSeed, toHex } from '@provsync/crdt'
import { type StoreName, SYNC_ORDER, type SyncedState } from '@provsync/sync'
import fc from 'fast-check'
import { afterEach, describe, expect, test } from 'vitest'
import { assertionBytes, revocationBytes, supersessionBytes } from './records.js'

export interface SuiteRecord {
  readonly store: StoreName
  readonly key: Uint8Array
  readonly bytes: Uint8Array
}

export interface SyncedStateFixture {
  readonly state: SyncedState
  /** Puts records in the way the state's owner does (crdt: a local apply; a lying state: what it serves). */
  put(records: readonly SuiteRecord[]): Promise<void>
  close(): Promise<void>
}

export interface SyncedStateCapabilities {
  /** `apply` stores a peer's valid records; without it `apply` must store nothing. */
  readonly ingests: boolean
  /** `apply` refuses forged and foreign records with a reason. */
  readonly verifies: boolean
  /** `apply` obeys revocations signed by the trusted operators it was opened with, and only those. */
  readonly revokes: boolean
}

/** The network every fixture is opened on. */
export const SUITE_NETWORK = 'acceptance-net'

const peer = signerFromSeed(new Uint8Array(32).fill(7))
/** The operator every fixture is opened trusting. */
export const SUITE_OPERATOR = signerFromSeed(new Uint8Array(32).fill(5))

// The suite's records are recent (the state's drift guard takes them) and the operator's
// revocation comes after the peer's records it is tested against.
function revocation(operator: Signer, subject: Uint8Array): SuiteRecord {
  const bytes = revocationBytes(operator, subject, 'revoke', Date.now() - 500, 'peer', SUITE_NETWORK)
  return { store: 'revocations', key: recordHash(bytes), bytes }
}

function supersession(signer: Signer, i: number, networkId = SUITE_NETWORK): SuiteRecord {
  const target = new Uint8Array(32).fill(i + 1)
  const bytes = supersessionBytes(signer, target, { reason: `r${i}`, wallMs: Date.now() - 1000, networkId })
  return { store: 'supersessions', key: recordHash(bytes), bytes }
}

function assertion(signer: Signer, coordinate: Coordinate, run: bigint): SuiteRecord {
  const bytes = assertionBytes(signer, coordinate, run, Date.now() - 1000 + Number(run), 0, SUITE_NETWORK)
  return { store: 'assertions', key: assertionKey(signer.publicKey, coordinate), bytes }
}

/** Valid records with distinct tree keys: `n` supersessions and `n` assertions on distinct registers. */
export function validRecords(n = 4, signer: Signer = peer): SuiteRecord[] {
  const out: SuiteRecord[] = []
  for (let i = 0; i < n; i++) {
    out.push(supersession(signer, i))
    out.push(assertion(signer, { volume: `v${i}`, destination: 'd', origin: 'o' }, BigInt(i + 1)))
  }
  return out
}

const roots = (state: SyncedState): string[] => SYNC_ORDER.map((s) => toHex(state.tree(s).root()))

function leavesOf(state: SyncedState, store: StoreName) {
  return [...state.tree(store).leaves()].map((l) => ({ key: toHex(l.key), valueHash: toHex(l.valueHash) }))
}

function expectTreesHold(state: SyncedState, records: readonly SuiteRecord[]): void {
  for (const store of SYNC_ORDER) {
    const mine = records.filter((r) => r.store === store)
    const leaves = leavesOf(state, store)
    expect(leaves.map((l) => l.key).sort()).toEqual(mine.map((r) => toHex(r.key)).sort())
    const listed = state.getRecords(
      store,
      mine.map((r) => r.key),
    )
    expect(listed.map((b) => (b === undefined ? undefined : toHex(b)))).toEqual(
      mine.map((r) => toHex(r.bytes)),
    )
    for (const leaf of leaves) {
      const [bytes] = state.getRecords(store, [Uint8Array.from(Buffer.from(leaf.key, 'hex'))])
      expect(toHex(recordHash(bytes!))).toBe(leaf.valueHash)
    }
  }
}

function byStore(records: readonly SuiteRecord[]): Map<StoreName, Uint8Array[]> {
  const out = new Map<StoreName, Uint8Array[]>()
  for (const r of records) out.set(r.store, [...(out.get(r.store) ?? []), r.bytes])
  return out
}

/** Opens a fresh, empty state on `networkId`, trusting the revocations of `trust`. */
type Factory = (networkId: string, trust: readonly Uint8Array[]) => Promise<SyncedStateFixture>

export function runSyncedStateTests(name: string, factory: Factory, capabilities: SyncedStateCapabilities) {
  describe(`SyncedState acceptance: ${name}`, () => {
    const open: SyncedStateFixture[] = []
    const fresh = async () => {
      const fixture = await factory(SUITE_NETWORK, [SUITE_OPERATOR.publicKey])
      open.push(fixture)
      return fixture
    }
    afterEach(async () => {
      for (const fixture of open.splice(0)) await fixture.close()
    })
    registerCommon(fresh)
    if (capabilities.ingests) registerIngest(fresh)
    else registerTakesNothing(fresh)
    if (capabilities.verifies) registerVerify(fresh)
    if (capabilities.revokes) registerRevoke(fresh)
  })
}

type Fresh = () => Promise<SyncedStateFixture>

function registerCommon(fresh: Fresh): void {
  test('names its network and a 32-byte identity', async () => {
    const { state } = await fresh()
    expect(state.networkId).toBe(SUITE_NETWORK)
    expect(state.publicKey).toBeInstanceOf(Uint8Array)
    expect(state.publicKey.length).toBe(32)
  })

  test('trees change exactly with the records put in, and records listed by key round-trip', async () => {
    const { state, put } = await fresh()
    for (const store of SYNC_ORDER) expect(leavesOf(state, store)).toEqual([])
    const empty = roots(state)
    const records = validRecords(3)
    await put(records)
    expectTreesHold(state, records)
    const after = roots(state)
    expect(after[SYNC_ORDER.indexOf('revocations')]).toBe(empty[SYNC_ORDER.indexOf('revocations')])
    expect(after[SYNC_ORDER.indexOf('assertions')]).not.toBe(empty[SYNC_ORDER.indexOf('assertions')])
    expect(after[SYNC_ORDER.indexOf('supersessions')]).not.toBe(empty[SYNC_ORDER.indexOf('supersessions')])
  })

  test('getRecords answers unknown keys with undefined, in place', async () => {
    const { state, put } = await fresh()
    const [known] = validRecords(1).filter((r) => r.store === 'supersessions')
    await put([known!])
    const unknown = new Uint8Array(32).fill(0xee)
    const got = state.getRecords('supersessions', [unknown, known!.key, unknown])
    expect(got.length).toBe(3)
    expect(got[0]).toBeUndefined()
    expect(toHex(got[1]!)).toBe(toHex(known!.bytes))
    expect(got[2]).toBeUndefined()
  })

  test('roots of equal sets are equal, whatever order the records came in', async () => {
    const records = validRecords(3)
    const reference = await fresh()
    await reference.put(records)
    const expected = roots(reference.state)
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(records, { minLength: records.length }), async (order) => {
        const other = await fresh()
        await other.put(order)
        expect(roots(other.state)).toEqual(expected)
      }),
      { numRuns: 5 },
    )
  })

  test('onChange names the store that changed, until unsubscribed', async () => {
    const { state, put } = await fresh()
    const seen: StoreName[] = []
    const stop = state.onChange((store) => seen.push(store))
    const records = validRecords(1)
    await put(records.filter((r) => r.store === 'supersessions'))
    expect(seen).toContain('supersessions')
    stop()
    const count = seen.length
    await put(validRecords(2))
    expect(seen.length).toBe(count)
  })
}

function registerIngest(fresh: Fresh): void {
  test("apply stores a peer's valid records, and again is a no-op", async () => {
    const { state } = await fresh()
    const records = validRecords(3)
    for (const [store, batch] of byStore(records)) {
      const outcomes = await state.apply(store, batch, { from: peer.publicKey })
      expect(outcomes.map((o) => o.status)).toEqual(batch.map(() => 'applied'))
    }
    expectTreesHold(state, records)
    const before = roots(state)
    const seen: StoreName[] = []
    state.onChange((store) => seen.push(store))
    for (const [store, batch] of byStore(records)) {
      const outcomes = await state.apply(store, batch, { from: peer.publicKey })
      expect(outcomes.map((o) => o.status)).toEqual(batch.map(() => 'duplicate'))
    }
    expect(roots(state)).toEqual(before)
    expect(seen).toEqual([])
  })

  test('apply is order-independent across calls, including two versions of one register', async () => {
    const coordinate = { volume: 'reg', destination: 'd', origin: 'o' }
    const records = [...validRecords(2), assertion(peer, coordinate, 3n), assertion(peer, coordinate, 7n)]
    const reference = await fresh()
    for (const [store, batch] of byStore(records))
      await reference.state.apply(store, batch, { from: peer.publicKey })
    const expected = roots(reference.state)
    const [winner] = reference.state.getRecords('assertions', [records.at(-1)!.key])
    expect(toHex(winner!)).toBe(toHex(records.at(-1)!.bytes))
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(records, { minLength: records.length }),
        fc.integer({ min: 1, max: records.length }),
        async (order, chunk) => {
          const { state } = await fresh()
          for (let i = 0; i < order.length; i += chunk) {
            for (const [store, batch] of byStore(order.slice(i, i + chunk)))
              await state.apply(store, batch, { from: peer.publicKey })
          }
          expect(roots(state)).toEqual(expected)
        },
      ),
      { numRuns: 6 },
    )
  })

  test('one apply call commits as one batch: one notification that already sees every record', async () => {
    const { state } = await fresh()
    const batch = validRecords(5).filter((r) => r.store === 'supersessions')
    const sizes: number[] = []
    state.onChange((store) => {
      if (store === 'supersessions') sizes.push(leavesOf(state, store).length)
    })
    await state.apply(
      'supersessions',
      batch.map((r) => r.bytes),
      { from: peer.publicKey },
    )
    expect(sizes).toEqual([batch.length])
  })
}

function registerTakesNothing(fresh: Fresh): void {
  test("apply answers every offer and stores none of a peer's records", async () => {
    const { state, put } = await fresh()
    await put(validRecords(1))
    const before = roots(state)
    const seen: StoreName[] = []
    state.onChange((store) => seen.push(store))
    const offered = validRecords(4, signerFromSeed(new Uint8Array(32).fill(9)))
    for (const [store, batch] of byStore(offered)) {
      const outcomes = await state.apply(store, batch, { from: peer.publicKey })
      expect(outcomes.length).toBe(batch.length)
      expect(outcomes.filter((o) => o.status === 'applied')).toEqual([])
    }
    expect(roots(state)).toEqual(before)
    expect(seen).toEqual([])
  })
}

function registerVerify(fresh: Fresh): void {
  const forged = (): SuiteRecord => {
    const r = supersession(peer, 40)
    const bytes = Uint8Array.from(r.bytes)
    bytes[bytes.length - 1]! ^= 0x01
    return { ...r, key: recordHash(bytes), bytes }
  }
  const foreign = () => supersession(peer, 41, `${SUITE_NETWORK}-elsewhere`)

  test('refused records change nothing and are not listed', async () => {
    const { state, put } = await fresh()
    await put(validRecords(1))
    const before = roots(state)
    const seen: StoreName[] = []
    state.onChange((store) => seen.push(store))
    const bad = [forged(), foreign()]
    const outcomes = await state.apply(
      'supersessions',
      bad.map((r) => r.bytes),
      { from: peer.publicKey },
    )
    expect(outcomes.map((o) => [o.status, o.reason])).toEqual([
      ['refused', 'bad-signature'],
      ['refused', 'wrong-network'],
    ])
    expect(roots(state)).toEqual(before)
    expect(seen).toEqual([])
    expect(
      state.getRecords(
        'supersessions',
        bad.map((r) => r.key),
      ),
    ).toEqual([undefined, undefined])
  })

  test('a refused record does not stop the valid ones of the same call, outcomes in place', async () => {
    const { state } = await fresh()
    const good = validRecords(2).filter((r) => r.store === 'supersessions')
    const batch = [good[0]!, forged(), good[1]!]
    const outcomes = await state.apply(
      'supersessions',
      batch.map((r) => r.bytes),
      { from: peer.publicKey },
    )
    expect(outcomes.map((o) => o.status)).toEqual(['applied', 'refused', 'applied'])
    expectTreesHold(state, good)
  })
}

function registerRevoke(fresh: Fresh): void {
  test("a trusted operator's revocation refuses the signer's later records; an untrusted one is refused", async () => {
    const { state } = await fresh()
    const stranger = signerFromSeed(new Uint8Array(32).fill(11))
    const untrusted = revocation(stranger, peer.publicKey)
    const [refused] = await state.apply('revocations', [untrusted.bytes], { from: stranger.publicKey })
    expect([refused?.status, refused?.reason]).toEqual(['refused', 'untrusted-operator'])
    const [before] = validRecords(1).filter((r) => r.store === 'supersessions')
    await state.apply('supersessions', [before!.bytes], { from: peer.publicKey })
    const trusted = revocation(SUITE_OPERATOR, peer.publicKey)
    const [revoked] = await state.apply('revocations', [trusted.bytes], { from: SUITE_OPERATOR.publicKey })
    expect(revoked?.status).toBe('applied')
    expect(leavesOf(state, 'revocations').map((l) => l.key)).toEqual([toHex(trusted.key)])
    const roots0 = roots(state)
    const after = supersession(peer, 30)
    const [outcome] = await state.apply('supersessions', [after.bytes], { from: peer.publicKey })
    expect([outcome?.status, outcome?.reason]).toEqual(['refused', 'revoked-signer'])
    expect(roots(state)).toEqual(roots0)
  })
}
