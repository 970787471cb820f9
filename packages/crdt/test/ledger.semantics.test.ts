// The ledger's export and import (issue #18): every field of every kind of entry survives the
// round trip exactly, the export has one documented shape, and each malformed import is refused
// whole with a message naming the entry and its fault.
import { type InvalidationCriteria, type LedgerEntry, LedgerImportError, toHex } from '@provsync/crdt'
import { afterEach, describe, expect, it } from 'vitest'
import { assertionBytes, BASE_MS, coordinate, hlc, NETWORK, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const operator = signerN(100)
const A = signerN(1)

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
