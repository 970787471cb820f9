import { materialize, type Version } from '@provsync/artifacts'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { artifact, publishers } from './helpers.js'

const p = publishers[0]!
const v = (version: bigint, base?: bigint): Version => {
  const d = artifact(p, { version, base, family: 'snapshot_increment' })
  return { artifact: d.record, hash: d.hash }
}

describe('materialize', () => {
  it('follows increments from the newest full snapshot', () => {
    const m = materialize([v(5n, 4n), v(1n), v(3n), v(4n, 3n), v(2n, 1n)])
    expect(m.snapshot?.artifact.version).toBe(3n)
    expect(m.increments.map((x) => x.artifact.version)).toEqual([4n, 5n])
    expect(m.version).toBe(5n)
    expect(m.gap).toBeUndefined()
  })

  it('reports a version gap instead of guessing across a missing link', () => {
    const m = materialize([v(3n), v(4n, 3n), v(6n, 5n), v(7n, 6n)])
    expect(m.version).toBe(4n)
    expect(m.gap).toEqual({ after: 4n, newest: 7n })
  })

  it('reports a gap when there is no full snapshot at all', () => {
    expect(materialize([v(2n, 1n)]).gap).toEqual({ after: undefined, newest: 2n })
    expect(materialize([])).toEqual({ snapshot: undefined, increments: [], version: undefined })
  })

  it('the same set materializes the same way in any order', () => {
    const pool = [v(1n), v(2n, 1n), v(3n, 2n), v(4n), v(5n, 4n), v(7n, 6n), v(6n, 5n)]
    fc.assert(
      fc.property(fc.shuffledSubarray(pool), fc.nat(), (items, seed) => {
        const rotated = [
          ...items.slice(seed % (items.length || 1)),
          ...items.slice(0, seed % (items.length || 1)),
        ]
        const a = materialize(items)
        const b = materialize([...rotated, ...rotated])
        expect(b.version).toBe(a.version)
        expect(b.gap).toEqual(a.gap)
        expect(b.increments.map((x) => x.hash)).toEqual(a.increments.map((x) => x.hash))
      }),
    )
  })
})
