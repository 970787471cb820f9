/**
 * The apply path's shortcuts (issue #16) give exactly what the general code gives: the component
 * of one asserter's evidence alone, and encodings into a reused buffer.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { toHex } from '../src/bytes.js'
import { encodeHistory, soleAsserted } from '../src/durability.js'
import { encodeComponent, encodeCoordinateEntry, Scratch } from '../src/persisted.js'
import { type AssertionEvidence, deriveComponent } from '../src/view.js'
import { assertionBytes, BASE_MS, coordinate, signerN, TempDirs } from './helpers.js'

const temp = new TempDirs()
afterEach(() => temp.cleanup())

const key = fc.uint8Array({ minLength: 32, maxLength: 32 })
const arbEvidence: fc.Arbitrary<AssertionEvidence> = fc
  .record({
    asserter: key,
    run: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    wallMs: fc.integer({ min: 0, max: 2 ** 47 }),
    counter: fc.integer({ min: 0, max: 65535 }),
    nodeId: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    hash: key,
    via: fc.oneof(fc.constant('none' as const), fc.constant('self' as const), key),
  })
  .map(({ asserter, run, wallMs, counter, nodeId, hash, via }) => ({
    asserter,
    run,
    hlc: { wallMs, counter, nodeId },
    hash,
    via: via === 'none' ? undefined : via === 'self' ? new Uint8Array(asserter) : via,
  }))

describe('apply fast path', () => {
  it('soleAsserted(e) is deriveComponent(undefined, [e]) (property)', () => {
    fc.assert(
      fc.property(arbEvidence, (e) => {
        expect(soleAsserted(e)).toStrictEqual(deriveComponent(undefined, [e]))
      }),
      { numRuns: 300 },
    )
  })

  it('a reused buffer encodes the same bytes as a new one, whatever it held before (property)', () => {
    const scratch = new Scratch()
    fc.assert(
      fc.property(
        fc.array(arbEvidence, { maxLength: 12 }),
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (evidence, coordinate, lastHistory, hlc) => {
          const component = evidence.length === 0 ? undefined : encodeComponent(soleAsserted(evidence[0]!))
          const entry = { coordinate, evidence, component, lastHistory }
          expect(encodeCoordinateEntry(entry, scratch)).toEqual(encodeCoordinateEntry(entry))
          const history = {
            kind: 'advance' as const,
            coordinate,
            before: evidence.length > 1 ? component : undefined,
            after: component,
            cause: { type: 'pull' as const, from: evidence[0]?.via, record: evidence[0]?.hash },
            prev: lastHistory,
          }
          expect(encodeHistory(history, hlc, scratch)).toEqual(encodeHistory(history, hlc))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('one batch leaves the view and history that record-by-record applies leave (reused buffers across records)', async () => {
    const [A, B, relay] = [signerN(1), signerN(2), signerN(3)]
    // New coordinates, corroborations (B asserted first, so B takes the provenance), a higher run and
    // a lower run, all relayed, in one batch.
    const records = [
      ...Array.from({ length: 12 }, (_, i) => assertionBytes(A, coordinate(i), BigInt(i + 1))),
      ...Array.from({ length: 6 }, (_, i) =>
        assertionBytes(B, coordinate(i), BigInt(i + 1), BASE_MS - 1000 + i),
      ),
      assertionBytes(B, coordinate(7), 99n),
      assertionBytes(B, coordinate(8), 1n),
    ]
    const batched = await temp.open()
    const single = await temp.open()
    const outcomes = await batched.apply('assertions', records, { from: relay.publicKey })
    expect(outcomes.map((o) => o.status)).toEqual(records.map(() => 'applied'))
    for (const record of records) await single.apply('assertions', [record], { from: relay.publicKey })
    for (let i = 0; i < 12; i++)
      expect(batched.view.get(coordinate(i))).toEqual(single.view.get(coordinate(i)))
    // In a batch a coordinate is derived once, after its last record: one history entry each,
    // whose component is the coordinate's view (a component encoded into a reused buffer and
    // overwritten by a later record's would show here).
    const history = batched.history.since()
    const origins = history.map((e) => e.coordinate.origin).sort()
    expect(origins).toEqual(Array.from({ length: 12 }, (_, i) => coordinate(i).origin).sort())
    for (const entry of history) expect(entry.after).toEqual(single.view.get(entry.coordinate))
  })

  it('a batch that touches coordinates again and again (duplicates, lower and higher runs) ends as record-by-record applies end, and observers get every record (property)', async () => {
    // Over 32 records the batch is verified on the pool, and a coordinate's working entry is
    // settled (and dropped) after its last record: a record merged into a settled entry, or a
    // candidate released before it is applied, would show as a different outcome, view or root.
    const signers = [signerN(1), signerN(2), signerN(3)]
    const relay = signerN(4)
    const arbRecord = fc.record({
      signer: fc.integer({ min: 0, max: 2 }),
      coord: fc.integer({ min: 0, max: 5 }),
      run: fc.bigInt({ min: 1n, max: 4n }),
      wall: fc.integer({ min: 0, max: 3 }),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbRecord, { minLength: 33, maxLength: 70 }),
        fc.boolean(),
        async (picks, verifiedPath) => {
          const records = picks.map((p) =>
            assertionBytes(signers[p.signer]!, coordinate(p.coord), p.run, BASE_MS - 1000 + p.wall),
          )
          const batched = await temp.open()
          const single = await temp.open()
          const seen: Uint8Array[][] = []
          batched.observe({ applied: ({ records: handed }) => seen.push([...handed]) })
          const from = { from: relay.publicKey }
          const outcomes = verifiedPath
            ? await batched.applyVerified(batched.verifyRecords('assertions', records), from)
            : await batched.apply('assertions', records, from)
          const one: string[] = []
          for (const record of records)
            one.push((await single.apply('assertions', [record], from))[0]!.status)
          // In one batch a record repeated later is a duplicate of the first, as one by one.
          expect(outcomes.map((o) => o.status)).toEqual(one)
          expect(seen).toHaveLength(1)
          expect(seen[0]!.map(toHex)).toEqual(records.map(toHex))
          for (let c = 0; c < 6; c++) {
            expect(batched.view.get(coordinate(c))).toEqual(single.view.get(coordinate(c)))
            expect(batched.assertions.evidence(coordinate(c))).toEqual(
              single.assertions.evidence(coordinate(c)),
            )
          }
          expect(toHex(batched.tree('assertions').root())).toBe(toHex(single.tree('assertions').root()))
          await temp.cleanup()
        },
      ),
      { numRuns: 12 },
    )
  })
})
