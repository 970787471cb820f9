import { signArtifact } from '@provsync/artifacts'
import { hex } from '@provsync/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  artifactVersionKey,
  concatBytes,
  locationOf,
  versionKey,
  versionKeys,
  viewKey,
} from '../src/store/db.js'
import { at, NET, publishers } from './helpers.js'

const segment = fc.stringMatching(/^[a-z0-9._-]{1,12}$/)
// Names are any canonical text: multi-byte UTF-8 included, so byte and character lengths differ.
const name = fc
  .string({ unit: fc.constantFrom('a', 'Z', '-', 'é', '€', '語', '😀', ' '), minLength: 1, maxLength: 40 })
  .filter((s) => s.trim() === s)

describe('store keys', () => {
  it('the version key copied from a record equals the one built from its decoded fields', () => {
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/),
        name,
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { nil: undefined }),
        (segments, family, n, version, epoch, base) => {
          const d = signArtifact(
            {
              scope: segments.join('/'),
              family,
              name: n,
              version,
              epoch,
              base,
              content: new Uint8Array([1]),
            },
            publishers[0]!,
            NET,
            at(),
          )
          const a = d.record
          const view = viewKey(a.scope, a.family, a.name)
          const { key, viewLength } = artifactVersionKey(d.bytes, d.hash)
          expect(viewLength).toBe(view.length)
          const expected = versionKey(view, a.epoch, a.version, d.hash)
          expect(hex(key)).toBe(hex(expected))
          const keys = versionKeys(d.bytes, d.hash, a.publisher)
          expect(hex(keys.key)).toBe(hex(expected))
          expect(hex(keys.view)).toBe(hex(view))
          expect(hex(keys.location)).toBe(hex(locationOf(expected)))
          expect(hex(keys.byPublisher)).toBe(hex(concatBytes(a.publisher, view)))
        },
      ),
      { numRuns: 300 },
    )
  })
})
