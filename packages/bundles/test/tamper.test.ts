import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { blake3, type NodeState, toHex } from '@provsync/crdt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importInspected } from '../src/import.js'
import {
  BadRecordError,
  BUNDLE_STORES,
  BundleChangedError,
  BundleError,
  BundleFormatError,
  ExtraDataError,
  IMPORT_BATCH,
  importBundle,
  inspectBundle,
  LedgerRefusedError,
  MissingPartError,
  PartMismatchError,
  ReplayedBundleError,
  SignatureThresholdError,
  UnsupportedPartError,
  WrongNetworkBundleError,
} from '../src/index.js'
import { craft, exportTo, partsOffset, sourceNode } from './fixtures.js'
import { assertion, coordinate, NETWORK, operator, snapshot, stranger, TempDirs } from './helpers.js'

describe('a bundle failing a check is refused whole, with nothing applied', () => {
  const temp = new TempDirs()
  afterAll(() => temp.cleanup())
  let bundle: Awaited<ReturnType<typeof exportTo>>
  let target: NodeState
  let registry: string
  let before: ReturnType<typeof snapshot>

  beforeAll(async () => {
    const source = await sourceNode(temp, 20)
    bundle = await exportTo(temp, source)
    target = await temp.node()
    registry = join(temp.dir(), 'bundles.json')
    before = snapshot(target)
  }, 60_000)

  async function refused(bytes: Uint8Array, trustedKeys = [operator.publicKey]): Promise<BundleError> {
    const path = join(temp.dir(), 'tampered.bundle')
    writeFileSync(path, bytes)
    const error = await importBundle(target, path, { trustedKeys, registry }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(BundleError)
    expect(snapshot(target)).toEqual(before)
    expect(existsSync(registry)).toBe(false)
    expect((error as Error).message).not.toContain('\n')
    return error as BundleError
  }

  function flip(bytes: Uint8Array, offset: number, bit: number): Uint8Array {
    const copy = new Uint8Array(bytes)
    copy[offset]! ^= 1 << bit
    return copy
  }

  it('refuses the bundle with any one bit flipped (a spread of positions over every region)', async () => {
    const n = bundle.bytes.length
    const offsets = new Set<number>()
    for (let i = 0; i < 12; i++) offsets.add(i) // magic and envelope length
    for (let i = 0; i < 80; i++) offsets.add(Math.floor((i * n) / 80))
    for (let i = 1; i <= 8; i++) offsets.add(n - i)
    const reasons = new Set<string>()
    for (const offset of offsets) reasons.add((await refused(flip(bundle.bytes, offset, offset % 8))).reason)
    expect(reasons).toContain('part-mismatch')
    expect(reasons).toContain('untrusted-signature')
  })

  it('names the part whose bytes changed', async () => {
    const start = partsOffset(bundle.bytes)
    const error = (await refused(flip(bundle.bytes, start + 5, 0))) as PartMismatchError
    expect(error).toBeInstanceOf(PartMismatchError)
    expect(error.part).toBe(0)
    expect(error.field).toBe('blake3')
    expect(error.expected).toBe(bundle.result.manifest.parts[0]!.blake3)
  })

  it('refuses a bundle whose last part is missing, or a middle part', async () => {
    const ledger = bundle.result.manifest.parts.at(-1)!
    const cut = await refused(bundle.bytes.subarray(0, bundle.bytes.length - ledger.size))
    expect(cut).toBeInstanceOf(MissingPartError)
    expect((cut as MissingPartError).missingBytes).toBe(ledger.size)
    const [revocations] = bundle.result.manifest.parts
    const start = partsOffset(bundle.bytes)
    const middle = Buffer.concat([
      bundle.bytes.subarray(0, start),
      bundle.bytes.subarray(start + revocations!.size),
    ])
    expect(await refused(middle)).toBeInstanceOf(BundleError)
  })

  it('refuses extra bytes after the last part and an extra part inside', async () => {
    const extra = await refused(Buffer.concat([bundle.bytes, Buffer.from([0, 1, 2])]))
    expect(extra).toBeInstanceOf(ExtraDataError)
    expect((extra as ExtraDataError).extraBytes).toBe(3)
    const start = partsOffset(bundle.bytes)
    const inserted = Buffer.concat([
      bundle.bytes.subarray(0, start),
      Buffer.alloc(40, 7),
      bundle.bytes.subarray(start),
    ])
    expect(await refused(inserted)).toBeInstanceOf(PartMismatchError)
  })

  it('refuses a signature by an untrusted key, even over a perfect bundle', async () => {
    const source = await sourceNode(temp, 3)
    const other = await exportTo(temp, source, [stranger])
    const error = (await refused(other.bytes)) as SignatureThresholdError
    expect(error).toBeInstanceOf(SignatureThresholdError)
    expect(error.valid).toBe(0)
    expect(await refused(bundle.bytes, [stranger.publicKey])).toBeInstanceOf(SignatureThresholdError)
  })

  it('refuses a signed bundle holding a bad record, another network or an unknown part kind', async () => {
    const good = assertion(operator, coordinate(1), 1n)
    const bad = new Uint8Array(good)
    bad[bad.length - 1]! ^= 1
    const frame = (r: Uint8Array) => Buffer.concat([Buffer.from([r.length >> 8, r.length & 0xff]), r])
    const manifest = (kind: string, part: Uint8Array, networkId = NETWORK) => ({
      format: 'provsync-bundle',
      version: 1,
      networkId,
      exporter: 'ab'.repeat(32),
      sequence: '2026-01-01T00:00:00.000Z/0/0000000000000000',
      density: 'strict',
      stores: [...BUNDLE_STORES],
      sinceLedger: 0,
      parts: [{ kind, store: 'assertions', count: 1, size: part.length, blake3: blake3Hex(part) }],
    })
    const path = join(temp.dir(), 'crafted.bundle')
    const cases: [string, object, Uint8Array, new (...args: never[]) => BundleError][] = [
      ['bad signature', manifest('records', frame(bad)), frame(bad), BadRecordError],
      ['other network', manifest('records', frame(good), 'other-net'), frame(good), WrongNetworkBundleError],
      ['blob part', manifest('blob-chunks', frame(good)), frame(good), UnsupportedPartError],
      ['unknown kind', manifest('mystery', frame(good)), frame(good), BundleFormatError],
    ]
    for (const [, m, part, type] of cases) {
      craft(path, m, [part])
      expect(await refused(new Uint8Array(readFileSync(path)))).toBeInstanceOf(type)
    }
  })

  it("names a record that does not decode, or sits in another store's part, by part and index (checked once, by the node)", async () => {
    const records = Array.from({ length: IMPORT_BATCH + 10 }, (_, i) =>
      assertion(operator, coordinate(i), 1n),
    )
    const frame = (r: Uint8Array) => Buffer.concat([Buffer.from([r.length >> 8, r.length & 0xff]), r])
    const at = IMPORT_BATCH + 3
    const cases: [string, Uint8Array[], string | RegExp][] = [
      ['assertions', records.map((r, i) => (i === at ? r.subarray(0, r.length - 40) : r)), /./],
      ['supersessions', records, 'a assertion in the supersessions part'],
    ]
    for (const [store, part, problem] of cases) {
      const bytes = Buffer.concat(part.map(frame))
      const m = {
        ...bundle.result.manifest,
        parts: [{ kind: 'records', store, count: part.length, size: bytes.length, blake3: blake3Hex(bytes) }],
      }
      const path = join(temp.dir(), `bad-${store}.bundle`)
      craft(path, m, [bytes])
      const error = (await refused(new Uint8Array(readFileSync(path)))) as BadRecordError
      expect(error).toBeInstanceOf(BadRecordError)
      expect([error.part, error.index]).toEqual([0, store === 'assertions' ? at : 0])
      expect(error.problem).toMatch(problem)
      expect(error.problem).not.toBe('signature does not verify')
    }
  })

  it('names the first record whose signature fails, past the first batch (verified on the pool), and applies nothing', async () => {
    const count = 2 * IMPORT_BATCH + 100
    const records = Array.from({ length: count }, (_, i) => assertion(operator, coordinate(i), 1n))
    for (const at of [IMPORT_BATCH + 234, count - 1]) {
      const frames = records.map((r, i) => {
        const bytes = new Uint8Array(r)
        if (i === at || i === at + 5) bytes[bytes.length - 1]! ^= 1
        return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
      })
      const part = Buffer.concat(frames)
      const m = {
        ...bundle.result.manifest,
        parts: [{ kind: 'records', store: 'assertions', count, size: part.length, blake3: blake3Hex(part) }],
      }
      const path = join(temp.dir(), 'late-bad.bundle')
      craft(path, m, [part])
      const error = (await refused(new Uint8Array(readFileSync(path)))) as BadRecordError
      expect(error).toBeInstanceOf(BadRecordError)
      expect([error.part, error.index, error.problem]).toEqual([0, at, 'signature does not verify'])
    }
  })

  it('refuses ledger entries by an operator the node does not trust, before any record is applied', async () => {
    const rogue = await temp.node([stranger.publicKey])
    await rogue.revocations.revoke(
      { subject: operator.publicKey, subjectKind: 'peer', reason: 'coup' },
      stranger,
    )
    const ledger = rogue.ledger.export()
    const record = assertion(operator, coordinate(1), 3n)
    const frame = Buffer.concat([Buffer.from([record.length >> 8, record.length & 0xff]), record])
    const m = {
      ...bundle.result.manifest,
      parts: [
        { kind: 'records', store: 'assertions', count: 1, size: frame.length, blake3: blake3Hex(frame) },
        { kind: 'ledger', size: ledger.length, blake3: blake3Hex(ledger) },
      ],
    }
    const path = join(temp.dir(), 'ledger.bundle')
    craft(path, m, [frame, ledger])
    const error = await refused(new Uint8Array(readFileSync(path)))
    expect(error).toBeInstanceOf(LedgerRefusedError)
    expect(error.message).toContain('not trusted')
  })
})

describe('replayed bundles', () => {
  const temp = new TempDirs()
  afterAll(() => temp.cleanup())

  it('refuses a bundle already imported, and one older than the last from its signer', async () => {
    const source = await sourceNode(temp, 10)
    const older = await exportTo(temp, source) // every store
    const newer = await exportTo(temp, source, [operator], ['revocations'])
    const target = await temp.node()
    const registry = join(temp.dir(), 'bundles.json')
    const options = { trustedKeys: [operator.publicKey], registry }
    await importBundle(target, newer.path, options)
    const after = snapshot(target)
    expect(target.tree('assertions').count()).toBe(0)
    const again = await importBundle(target, newer.path, options).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(ReplayedBundleError)
    expect((again as ReplayedBundleError).kind).toBe('already-imported')
    const old = await importBundle(target, older.path, options).catch((e: unknown) => e)
    expect(old).toBeInstanceOf(ReplayedBundleError)
    expect((old as ReplayedBundleError).kind).toBe('older')
    expect((old as ReplayedBundleError).lastSequence).toBe(newer.result.manifest.sequence)
    expect(snapshot(target)).toEqual(after)
    expect(target.tree('assertions').count()).toBe(0)
  })
})

function blake3Hex(bytes: Uint8Array): string {
  return toHex(blake3(bytes))
}

describe('a bundle file changed after the verifying pass', () => {
  const temp = new TempDirs()
  afterAll(() => temp.cleanup())

  it('stops at the changed batch, before applying it; what was applied is authenticated', async () => {
    const source = await sourceNode(temp, 10)
    const bundle = await exportTo(temp, source)
    const target = await temp.node()
    const before = snapshot(target)
    const inspected = await inspectBundle(bundle.path, { trustedKeys: [operator.publicKey] })
    const changed = new Uint8Array(bundle.bytes)
    changed[partsOffset(changed) + 3]! ^= 1
    writeFileSync(bundle.path, changed)
    const registry = join(temp.dir(), 'bundles.json')
    const error = await importInspected(target, bundle.path, inspected, registry).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BundleChangedError)
    expect(error).toMatchObject({ part: 0, batch: 0 })
    // The ledger part was held in memory since the verifying pass: it is imported, as signed.
    expect(target.ledger.since().map((e) => e.source.type)).toEqual(['import'])
    expect(before.ledger).toBe(0)
    // The changed revocations part and every part after it were not applied.
    expect(target.tree('assertions').count()).toBe(0)
    expect(existsSync(registry)).toBe(false)
  })
})
