import { ArtifactRefusedError, decodeRecord, signScopeEpoch } from '@provsync/artifacts'
import { networkTag } from '@provsync/crdt'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodePrivate } from '../src/codec/signed.js'
import { artifact, at, grant, NET, operator, publishers } from './helpers.js'

const TAG = networkTag(NET)

/** The outcome of a decoder: the record, or the refusal's class, field and detail. */
function outcome(decode: () => { record: unknown }) {
  try {
    return { record: decode().record }
  } catch (error) {
    expect(error).toBeInstanceOf(ArtifactRefusedError)
    const e = error as ArtifactRefusedError & { field?: string }
    return { refused: e.constructor.name, reason: e.reason, field: e.field, detail: e.detail }
  }
}

describe("the apply path's decoder (decodePrivate)", () => {
  // Scopes, families and names that take each path: remembered scopes and families, names of
  // printable ASCII (built in place) and of other text (the full check).
  const samples = [
    artifact(publishers[0]!, { version: 5n, base: 4n, expiresAt: 10 }),
    artifact(publishers[1]!, { version: 6n, tombstone: true, scope: 'cluster/c2', name: 'a b~' }),
    artifact(publishers[0]!, { version: 7n, name: 'é-ü', family: 'peer_directory' }),
    artifact(publishers[2]!, { version: 8n, name: 'x'.repeat(200), scope: 'cluster/c1/role/edge' }),
    grant(publishers[0]!, 'publish', ['a', 'b/c'], 2n, { expiresAt: 5 }),
    signScopeEpoch({ scope: 'a/b', minEpoch: 4n }, operator, NET, at()),
  ]

  it('accepts and refuses exactly what decodeRecord does, with the same fields, whatever it decoded before', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            s: fc.nat(samples.length - 1),
            at: fc.nat(4095),
            delta: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (edits) => {
          // A sequence, so the scope and family memos hold earlier fields when later ones arrive.
          for (const { s, at, delta } of edits) {
            const bytes = samples[s]!.bytes.slice()
            const index = at % bytes.length
            bytes[index] = (bytes[index]! + delta) & 0xff
            const strict = outcome(() => decodeRecord(bytes, NET, TAG, false))
            expect(outcome(() => decodePrivate(bytes, NET, TAG))).toEqual(strict)
          }
        },
      ),
      { numRuns: 1500 },
    )
  })

  it("keeps nothing of the caller's array: the bytes and every field are its own copy", () => {
    for (const sample of samples) {
      const input = sample.bytes.slice()
      const d = decodePrivate(input, NET, TAG)
      const before = structuredClone(d.record)
      expect(d.bytes).toEqual(sample.bytes)
      input.fill(0)
      expect(d.record).toEqual(before)
      expect(d.bytes).toEqual(sample.bytes)
      expect(d.hash).toEqual(sample.hash)
    }
  })

  it('refuses what is not a record as decodeRecord does', () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(4097), 'x' as unknown as Uint8Array]) {
      expect(outcome(() => decodePrivate(bad, NET, TAG))).toEqual(
        outcome(() => decodeRecord(bad, NET, TAG, false)),
      )
    }
  })
})
