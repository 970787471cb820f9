// The ledger's export and import (issue #18): every field of every kind of entry survives the
// round trip exactly, the export has one documented shape, and each malformed import is refused
// whole with a message naming the entry and its fault.
import { encodeTimestamp } from '@provsync/hlc'
import { describe, expect, it } from 'vitest'
import { blake3, fromHex, toHex } from '../src/bytes.js'
import type { InvalidationCriteria } from '../src/criteria.js'
import { LedgerImportError } from '../src/errors.js'
import { invalidationId, type LedgerEntry, parseExportedEntry } from '../src/ledger.js'
import {
  assertionBytes,
  BASE_MS,
  coordinate,
  crdtSuite,
  hash32,
  hlc,
  NETWORK,
  SEEDED_COORDS,
  signerN,
  supersessionBytes,
} from './helpers.js'

const { temp, operator, A, B, seeded: suiteSeeded } = crdtSuite()

const criteria: InvalidationCriteria[] = [
  { type: 'signer', key: A.publicKey },
  { type: 'prefix', prefix: 'vol/dst/' },
  { type: 'pattern', pattern: 'vol/*/origin-?' },
  { type: 'older-than', epoch: hlc(BASE_MS - 5, 3, signerN(7)) },
  { type: 'family', family: 'cam' },
]

/** What an imported entry must keep of the exported one (its seq, source and result are the importer's). */
const kept = ({ seq: _s, source: _o, result: _r, ...rest }: LedgerEntry) => rest

async function withLedger() {
  const state = await temp.open({ trust: [operator.publicKey], wallClock: () => BASE_MS })
  await state.apply('assertions', [assertionBytes(A, coordinate(1), 3n)], { from: A.publicKey })
  await state.revocations.revoke(
    { subject: A.publicKey, subjectKind: 'signer', reason: 'leaked', correlationId: 'inc-1' },
    operator,
  )
  for (const [i, c] of criteria.entries()) {
    state.ledger.invalidate(c, { actor: `ops-${i}`, reason: `reason ${i}`, correlationId: `corr-${i}` })
  }
  return state
}

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

describe('ledger export and import', () => {
  it('every entry comes back with every field, sourced as an import', async () => {
    const source = await withLedger()
    const exported = source.ledger.since()
    expect(exported.map((e) => [e.kind, e.subjectKind, e.origin])).toEqual([
      ['revoke', 'signer', 'networked'],
      ...criteria.map(() => ['invalidate', 'criteria', 'local']),
    ])
    const target = await temp.open({ trust: [operator.publicKey], wallClock: () => BASE_MS })
    expect(target.ledger.import(source.ledger.export()).added).toBe(exported.length)
    const imported = target.ledger.since()
    expect(imported.map(kept)).toEqual(exported.map(kept))
    expect(imported.map((e) => e.source)).toEqual(exported.map(() => ({ type: 'import' })))
    expect(imported.map((e) => e.seq)).toEqual(exported.map((e) => e.seq))
    expect(imported.every((e) => e.result !== undefined)).toBe(true)
    // Importing the same export again adds nothing.
    expect(target.ledger.import(source.ledger.export()).added).toBe(0)
  })

  it('the export is one JSON document: format, version, network and entries with hex bytes', async () => {
    const source = await withLedger()
    const document = JSON.parse(new TextDecoder().decode(source.ledger.export()))
    expect(Object.keys(document)).toEqual(['format', 'version', 'networkId', 'entries'])
    expect(document).toMatchObject({ format: 'provsync-ledger', version: 1, networkId: NETWORK })
    const [revoke, bySigner, , , byEpoch] = source.ledger.since()
    expect(document.entries[0]).toEqual({
      seq: 1,
      id: toHex(revoke!.id),
      kind: 'revoke',
      subjectKind: 'signer',
      subject: toHex(A.publicKey),
      reason: 'leaked',
      actor: toHex(operator.publicKey),
      source: { type: 'local' },
      correlationId: 'inc-1',
      hlc: expect.stringMatching(/^[0-9a-f]{32}$/),
      record: toHex(revoke!.record!),
    })
    expect(document.entries[1]).toMatchObject({
      seq: 2,
      id: toHex(bySigner!.id),
      criteria: { type: 'signer', key: toHex(A.publicKey) },
      actor: 'ops-0',
      correlationId: 'corr-0',
    })
    expect(document.entries[1]).not.toHaveProperty('record')
    expect(document.entries[1]).not.toHaveProperty('subject')
    expect(document.entries[4].criteria).toEqual({
      type: 'older-than',
      epoch: expect.stringMatching(/^[0-9a-f]{32}$/),
    })
    expect(byEpoch!.criteria).toEqual(criteria[3])
  })

  it('refuses a malformed export whole, naming what is wrong', async () => {
    const source = await withLedger()
    const document = JSON.parse(new TextDecoder().decode(source.ledger.export()))
    const target = await temp.open({ trust: [operator.publicKey] })
    const refusal = (bytes: Uint8Array) => {
      try {
        target.ledger.import(bytes)
      } catch (error) {
        expect(error).toBeInstanceOf(LedgerImportError)
        return (error as Error).message
      }
      return 'accepted'
    }
    const withEntry = (i: number, change: Record<string, unknown>) => ({
      ...document,
      entries: document.entries.map((e: object, j: number) => (j === i ? { ...e, ...change } : e)),
    })
    expect(refusal(new Uint8Array([0xff, 0xfe]))).toMatch(/invalid JSON/)
    expect(refusal(encode({ ...document, format: 'other' }))).toMatch(
      /not a provsync ledger export, version 1/,
    )
    expect(refusal(encode({ ...document, version: 2 }))).toMatch(/not a provsync ledger export, version 1/)
    expect(refusal(encode({ ...document, entries: {} }))).toMatch(/not a provsync ledger export, version 1/)
    expect(refusal(encode({ ...document, networkId: 'elsewhere' }))).toMatch(
      /the export belongs to network "elsewhere"/,
    )
    expect(refusal(encode(withEntry(2, { kind: 'erase' })))).toMatch(/entry 2: unknown kind erase/)
    expect(refusal(encode(withEntry(3, { criteria: { type: 'everything' } })))).toMatch(
      /entry 3: unknown criteria everything/,
    )
    expect(refusal(encode(withEntry(0, { record: undefined })))).toMatch(
      new RegExp(`entry ${document.entries[0].id}: revocation record missing or does not verify`),
    )
    const untrusting = await temp.open({ trust: [] })
    expect(() => untrusting.ledger.import(source.ledger.export())).toThrow(
      `entry ${document.entries[0].id}: operator ${toHex(operator.publicKey)} is not trusted`,
    )
    expect(target.ledger.latestSeq()).toBe(0)
    expect(untrusting.ledger.latestSeq()).toBe(0)
  })

  it('an imported criterion acts as the original did', async () => {
    const source = await withLedger()
    const target = await temp.open({ trust: [operator.publicKey], wallClock: () => BASE_MS })
    await target.apply('assertions', [assertionBytes(signerN(2), coordinate(1), 4n)], { from: A.publicKey })
    target.ledger.import(source.ledger.export())
    // vol/dst/origin-1 matches the prefix and the pattern: no evidence counts for it any more.
    expect(target.view.get(coordinate(1))).toBeUndefined()
    expect(target.ledger.totals()).toMatchObject({ entries: 6, revocations: 1, invalidations: 5, pending: 0 })
  })
})

// The ledger's own semantics, pinned against internal modules (issue #18, run G's survivors).
describe('ledger entries: sequence, origin, results, queries and totals', () => {
  const coords = SEEDED_COORDS
  const seeded = () => suiteSeeded({ wallClock: () => BASE_MS })

  it('revoke, reinstate and invalidate each append one entry with its seq, origin and result', async () => {
    const state = await seeded()
    const e1 = await state.revocations.revoke(
      { subject: A.publicKey, subjectKind: 'peer', reason: 'compromised', correlationId: 'incident-7' },
      operator,
    )
    const e2 = await state.revocations.reinstate(
      { subject: A.publicKey, subjectKind: 'peer', reason: 'cleared', correlationId: 'incident-8' },
      operator,
    )
    const e3 = state.ledger.invalidate(
      { type: 'signer', key: B.publicKey },
      { actor: 'ops@example', reason: 'old key', correlationId: 'incident-9' },
    )
    expect(e1).toMatchObject({
      seq: 1,
      kind: 'revoke',
      subjectKind: 'peer',
      subject: A.publicKey,
      origin: 'networked',
      reason: 'compromised',
      actor: toHex(operator.publicKey),
      source: { type: 'local' },
      correlationId: 'incident-7',
      result: { invalidated: 3, restored: 0, viewChanges: 3 },
    })
    expect(e1.criteria).toBeUndefined()
    expect(e1.target).toBeUndefined()
    expect(e1.record).toBeInstanceOf(Uint8Array)
    expect(e2).toMatchObject({
      seq: 2,
      kind: 'reinstate',
      subject: A.publicKey,
      origin: 'networked',
      correlationId: 'incident-8',
      result: { invalidated: 0, restored: 3, viewChanges: 3 },
    })
    expect(e3).toMatchObject({
      seq: 3,
      kind: 'invalidate',
      subjectKind: 'criteria',
      origin: 'local',
      actor: 'ops@example',
      reason: 'old key',
      source: { type: 'local' },
      correlationId: 'incident-9',
      criteria: { type: 'signer', key: B.publicKey },
      result: { invalidated: 1, restored: 0, viewChanges: 0 },
    })
    expect(e3.subject).toBeUndefined()
    expect(e3.record).toBeUndefined()
    // The id of a local invalidation is the hash of its request.
    expect(e3.id).toEqual(invalidationId(e3.criteria!, 'old key', 'ops@example', e3.hlc))
    expect(state.ledger.since().map((e) => e.seq)).toEqual([1, 2, 3])
    expect(state.ledger.since(0).map((e) => e.seq)).toEqual([1, 2, 3])
    expect(state.ledger.since(1).map((e) => e.seq)).toEqual([2, 3])
    expect(state.ledger.since(2).map((e) => e.seq)).toEqual([3])
    expect(state.ledger.since(3)).toEqual([])
    expect(state.ledger.since(1)[0]).toEqual(e2)
    expect(state.ledger.byKind('revoke').map((e) => e.seq)).toEqual([1])
    expect(state.ledger.byKind('reinstate').map((e) => e.seq)).toEqual([2])
    expect(state.ledger.byKind('invalidate').map((e) => e.seq)).toEqual([3])
    expect(state.ledger.byKind('lift')).toEqual([])
    expect(state.ledger.bySubject(A.publicKey).map((e) => e.seq)).toEqual([1, 2])
    expect(state.ledger.bySubject(B.publicKey).map((e) => e.seq)).toEqual([3])
    expect(state.ledger.latestSeq()).toBe(3)
    expect(state.ledger.totals()).toEqual({
      entries: 3,
      revocations: 1,
      reinstatements: 1,
      invalidations: 1,
      invalidated: 4,
      restored: 3,
      pending: 0,
    })
  })

  it('a replay changes nothing and keeps the results of the first application', async () => {
    const state = await seeded()
    await state.revocations.revoke({ subject: A.publicKey, subjectKind: 'signer', reason: 'r' }, operator)
    state.ledger.invalidate({ type: 'prefix', prefix: 'vol/' }, { actor: 'ops', reason: 'all' })
    const before = state.ledger.since()
    const view = coords.map((c) => state.view.get(c)?.run)
    expect(state.ledger.replay()).toBe(0)
    expect(state.ledger.replay({ fromSeq: 2 })).toBe(0)
    expect(state.ledger.since()).toEqual(before)
    expect(coords.map((c) => state.view.get(c)?.run)).toEqual(view)
  })

  it('an invalidation counts the admissible records it matches, a second one over them counts none', async () => {
    const state = await seeded()
    const first = state.ledger.invalidate({ type: 'signer', key: A.publicKey }, { actor: 'ops', reason: 'a' })
    expect(first.result).toEqual({ invalidated: 3, restored: 0, viewChanges: 3 })
    expect(coords.map((c) => state.view.get(c)?.run)).toEqual([4n, undefined, undefined])
    const epoch = state.ledger.invalidate(
      { type: 'older-than', epoch: hlc(BASE_MS + 60_000) },
      { actor: 'ops', reason: 'b' },
    )
    // A's three are out already: only B's counts, and the view of coordinate 1 loses it.
    expect(epoch.result).toEqual({ invalidated: 1, restored: 0, viewChanges: 1 })
    expect(state.view.get(coords[0]!)).toBeUndefined()
    const none = state.ledger.invalidate({ type: 'family', family: 'nothing' }, { actor: 'ops', reason: 'c' })
    expect(none.result).toEqual({ invalidated: 0, restored: 0, viewChanges: 0 })
  })

  it('supersessions count with their signer: a revocation, an invalidation by signer or by target', async () => {
    const C = signerN(3)
    const state = await seeded()
    await state.apply('supersessions', [supersessionBytes(A, hash32(1)), supersessionBytes(A, hash32(2))], {
      from: A.publicKey,
    })
    await state.apply('supersessions', [supersessionBytes(C, hash32(3))], { from: C.publicKey })
    // A's three registers and two supersessions; C's supersession is not counted as A's.
    const revoked = await state.revocations.revoke(
      { subject: A.publicKey, subjectKind: 'signer', reason: 'r' },
      operator,
    )
    expect(revoked.result).toEqual({ invalidated: 5, restored: 0, viewChanges: 3 })
    const back = await state.revocations.reinstate(
      { subject: A.publicKey, subjectKind: 'signer', reason: 'r' },
      operator,
    )
    expect(back.result).toEqual({ invalidated: 0, restored: 5, viewChanges: 3 })
    const bySigner = state.ledger.invalidate(
      { type: 'signer', key: C.publicKey },
      { actor: 'ops', reason: 'c' },
    )
    expect(bySigner.result).toEqual({ invalidated: 1, restored: 0, viewChanges: 0 })
    // A supersession matches a prefix by its target's hex.
    const byTarget = state.ledger.invalidate(
      { type: 'prefix', prefix: toHex(hash32(2)).slice(0, 16) },
      { actor: 'ops', reason: 't' },
    )
    expect(byTarget.result).toEqual({ invalidated: 1, restored: 0, viewChanges: 0 })
  })

  it('at open, a subject whose trust changed is brought in line by its latest entry', async () => {
    const dataDir = temp.dir()
    const state = await temp.open({ dataDir, trust: [operator.publicKey], wallClock: () => BASE_MS })
    await state.apply(
      'assertions',
      coords.map((c) => assertionBytes(A, c, 9n)),
      { from: A.publicKey },
    )
    await state.apply('assertions', [assertionBytes(B, coords[1]!, 4n)], { from: B.publicKey })
    await state.revocations.revoke({ subject: A.publicKey, subjectKind: 'signer', reason: 'r' }, operator)
    await state.revocations.revoke({ subject: B.publicKey, subjectKind: 'signer', reason: 'r' }, operator)
    expect(coords.map((c) => state.view.get(c)?.run)).toEqual([undefined, undefined, undefined])
    await state.close()
    // The operator leaves the trust bundle: its revocations no longer hold, both signers come back.
    const untrusted = await temp.open({ dataDir, trust: [], wallClock: () => BASE_MS })
    expect(coords.map((c) => untrusted.view.get(c)?.run)).toEqual([9n, 9n, 9n])
    await untrusted.close()
    // Trusted again: the revocations hold again.
    const trusted = await temp.open({ dataDir, trust: [operator.publicKey], wallClock: () => BASE_MS })
    expect(coords.map((c) => trusted.view.get(c)?.run)).toEqual([undefined, undefined, undefined])
    expect(trusted.ledger.totals()).toMatchObject({ entries: 2, revocations: 2, pending: 0 })
  })

  it("this node's own key reinstated: its evidence withheld meanwhile is asserted and counted", async () => {
    const state = await temp.open({ trust: [operator.publicKey], wallClock: () => BASE_MS })
    state.advanceVerified(coords[0]!, 2n)
    const self = { subject: state.publicKey, subjectKind: 'signer' as const, reason: 'r' }
    await state.revocations.revoke(self, operator)
    // Evidence this node verifies while its key is revoked is withheld, not asserted.
    state.advanceVerified(coords[1]!, 5n)
    const corroborators = () => coords.slice(0, 2).map((c) => state.view.get(c)?.corroborators.map(toHex))
    expect(coords.map((c) => state.view.get(c)?.run)).toEqual([2n, 5n, undefined])
    expect(corroborators()).toEqual([[], []])
    const back = await state.revocations.reinstate(self, operator)
    // Both runs now carry this node's assertion: the register signed before the revocation comes
    // back (restored 1), the withheld one is asserted now; each is one view change.
    expect(corroborators()).toEqual([[toHex(state.publicKey)], [toHex(state.publicKey)]])
    expect(back.result).toEqual({ invalidated: 0, restored: 1, viewChanges: 2 })
  })

  it('reinstating a key that was never revoked appends an entry that restores nothing', async () => {
    const state = await seeded()
    const entry = await state.revocations.reinstate(
      { subject: A.publicKey, subjectKind: 'signer', reason: 'never revoked' },
      operator,
    )
    expect(entry).toMatchObject({
      seq: 1,
      kind: 'reinstate',
      result: { invalidated: 0, restored: 0, viewChanges: 0 },
    })
    expect(coords.map((c) => state.view.get(c)?.run)).toEqual([9n, 9n, 9n])
  })

  it('an export listing one entry twice imports it once', async () => {
    const source = await seeded()
    source.ledger.invalidate({ type: 'family', family: 'cam' }, { actor: 'ops', reason: 'a' })
    const document = JSON.parse(new TextDecoder().decode(source.ledger.export()))
    const twice = { ...document, entries: [document.entries[0], document.entries[0]] }
    const target = await temp.open({ trust: [operator.publicKey], wallClock: () => BASE_MS })
    expect(target.ledger.import(encode(twice)).added).toBe(1)
    expect(target.ledger.since().map((e) => [e.seq, e.kind])).toEqual([[1, 'invalidate']])
  })

  it('an invalidation survives a reopen as an active rule', async () => {
    const dataDir = temp.dir()
    const state = await temp.open({ dataDir, trust: [operator.publicKey], wallClock: () => BASE_MS })
    state.ledger.invalidate({ type: 'signer', key: B.publicKey }, { actor: 'ops', reason: 'a' })
    await state.close()
    const reopened = await temp.open({ dataDir, trust: [operator.publicKey], wallClock: () => BASE_MS })
    await reopened.apply('assertions', [assertionBytes(B, coords[0]!, 4n)], { from: B.publicKey })
    expect(reopened.view.get(coords[0]!)).toBeUndefined()
    expect(reopened.ledger.totals()).toMatchObject({ entries: 1, invalidations: 1, pending: 0 })
  })
})

describe('parseExportedEntry', () => {
  const base = {
    seq: 9,
    id: 'aa'.repeat(32),
    kind: 'invalidate' as const,
    subjectKind: 'criteria' as const,
    reason: 'why',
    actor: 'ops',
    source: { type: 'peer' as const, peer: 'bb'.repeat(32) },
    correlationId: 'c-1',
    hlc: toHex(encodeTimestamp(hlc(BASE_MS, 2))),
  }

  it('rebuilds every field, sourced as an import, without seq, origin or result', () => {
    const parsed = parseExportedEntry({
      ...base,
      subject: '01'.repeat(32),
      target: '02'.repeat(32),
      record: '0304',
      criteria: { type: 'signer', key: '05'.repeat(32) },
    })
    expect(parsed).toEqual({
      id: fromHex('aa'.repeat(32)),
      kind: 'invalidate',
      subjectKind: 'criteria',
      subject: fromHex('01'.repeat(32)),
      criteria: { type: 'signer', key: fromHex('05'.repeat(32)) },
      target: fromHex('02'.repeat(32)),
      reason: 'why',
      actor: 'ops',
      source: { type: 'import' },
      correlationId: 'c-1',
      hlc: hlc(BASE_MS, 2),
      record: new Uint8Array([3, 4]),
    })
    expect(Object.keys(parsed)).not.toContain('seq')
    expect(Object.keys(parsed)).not.toContain('origin')
    expect(Object.keys(parsed)).not.toContain('result')
  })

  it('leaves absent fields undefined and turns text fields into strings', () => {
    const parsed = parseExportedEntry({
      ...base,
      reason: 7 as unknown as string,
      actor: true as unknown as string,
      correlationId: null as unknown as string,
    })
    expect(parsed.subject).toBeUndefined()
    expect(parsed.target).toBeUndefined()
    expect(parsed.record).toBeUndefined()
    expect(parsed.criteria).toBeUndefined()
    expect([parsed.reason, parsed.actor, parsed.correlationId]).toEqual(['7', 'true', 'null'])
  })

  it('parses each kind of criteria', () => {
    const parse = (criteria: unknown) => parseExportedEntry({ ...base, criteria }).criteria
    expect(parse({ type: 'prefix', prefix: 'vol/' })).toEqual({ type: 'prefix', prefix: 'vol/' })
    expect(parse({ type: 'pattern', pattern: 'v?l/*' })).toEqual({ type: 'pattern', pattern: 'v?l/*' })
    expect(parse({ type: 'family', family: 'cam' })).toEqual({ type: 'family', family: 'cam' })
    expect(parse({ type: 'prefix', prefix: 5 })).toEqual({ type: 'prefix', prefix: '5' })
    expect(parse({ type: 'pattern', pattern: 6 })).toEqual({ type: 'pattern', pattern: '6' })
    expect(parse({ type: 'family', family: 7 })).toEqual({ type: 'family', family: '7' })
    const epoch = hlc(BASE_MS - 5, 3, signerN(7))
    expect(parse({ type: 'older-than', epoch: toHex(encodeTimestamp(epoch)) })).toEqual({
      type: 'older-than',
      epoch,
    })
  })

  it('refuses an unknown kind or criteria, naming it', () => {
    for (const kind of ['revoke', 'reinstate', 'invalidate', 'lift'] as const) {
      expect(parseExportedEntry({ ...base, kind }).kind).toBe(kind)
    }
    expect(() => parseExportedEntry({ ...base, kind: 'erase' as 'lift' })).toThrow('unknown kind erase')
    expect(() => parseExportedEntry({ ...base, criteria: { type: 'all' } })).toThrow('unknown criteria all')
    expect(() => parseExportedEntry({ ...base, id: 'zz' })).toThrow('not a hex string')
  })
})

describe('invalidationId', () => {
  const at = hlc(BASE_MS, 1)
  const c: InvalidationCriteria = { type: 'signer', key: A.publicKey }

  it('is the hash of the request text and its HLC, bytes as hex', () => {
    const text = JSON.stringify({ c: { type: 'signer', key: toHex(A.publicKey) }, reason: 'r', actor: 'a' })
    expect(invalidationId(c, 'r', 'a', at)).toEqual(
      blake3(new TextEncoder().encode(text), encodeTimestamp(at)),
    )
    const epoch = hlc(BASE_MS - 9)
    const older = JSON.stringify({
      c: { type: 'older-than', epoch: toHex(encodeTimestamp(epoch)) },
      reason: 'r',
      actor: 'a',
    })
    expect(invalidationId({ type: 'older-than', epoch }, 'r', 'a', at)).toEqual(
      blake3(new TextEncoder().encode(older), encodeTimestamp(at)),
    )
  })

  it('changes with each part of the request', () => {
    const id = toHex(invalidationId(c, 'r', 'a', at))
    expect(toHex(invalidationId({ type: 'signer', key: signerN(3).publicKey }, 'r', 'a', at))).not.toBe(id)
    expect(toHex(invalidationId({ type: 'prefix', prefix: 'x' }, 'r', 'a', at))).not.toBe(id)
    expect(toHex(invalidationId(c, 'r2', 'a', at))).not.toBe(id)
    expect(toHex(invalidationId(c, 'r', 'a2', at))).not.toBe(id)
    expect(toHex(invalidationId(c, 'r', 'a', hlc(BASE_MS, 2)))).not.toBe(id)
    expect(toHex(invalidationId(c, 'r', 'a', at))).toBe(id)
  })
})
