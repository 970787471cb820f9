import { openArtifactStore } from '@provsync/artifacts'
import { describe, expect, it } from 'vitest'
import { artifact, grant, NET, operator, publishers, seeded } from './helpers.js'
import { hex, tempDir } from './store-helpers.js'

const node = seeded(70)
const p0 = publishers[0]!
const from = seeded(71).publicKey

/**
 * Schema 3 keeps no hash-keyed entry per artifact: serving by tree key reads the map of recently
 * applied artifacts, and otherwise scans the scope's version keys. Both paths must serve exactly
 * what the scope's tree holds, and nothing of another scope (a sub-scope shares the prefix).
 */
describe('serving artifacts by tree key (schema 3)', () => {
  it('serves the same bytes from the recent map and, after a reopen, from a scan of the scope', async () => {
    const dir = tempDir()
    const options = {
      networkId: NET,
      nodeKey: node.publicKey,
      trust: [operator.publicKey],
      dataDir: dir,
      noSync: true,
    }
    const store = await openArtifactStore(options)
    const own = Array.from({ length: 30 }, (_, i) => artifact(p0, { version: 1n, name: `n${i}` }))
    const sub = artifact(p0, { version: 1n, scope: 'cluster/c1/edge', name: 'n0' })
    const other = artifact(p0, { version: 1n, scope: 'cluster/c10', name: 'n0' })
    const setup = [grant(node, 'hold', ['cluster']).bytes, grant(p0, 'publish', ['cluster']).bytes]
    const out = await store.apply([...setup, ...own.map((a) => a.bytes), sub.bytes, other.bytes], { from })
    expect(out.every((o) => o.status === 'applied')).toBe(true)
    const asked = [own[3]!.hash, sub.hash, other.hash, own[29]!.hash, new Uint8Array(32).fill(7)]
    const want = [hex(own[3]!.bytes), 'none', 'none', hex(own[29]!.bytes), 'none']
    expect(store.getScopeRecords('cluster/c1', asked).map(hex)).toEqual(want)
    expect(store.getScopeRecords('cluster/c1/edge', [sub.hash, own[0]!.hash]).map(hex)).toEqual([
      hex(sub.bytes),
      'none',
    ])
    await store.close()
    const reopened = await openArtifactStore(options)
    expect(reopened.getScopeRecords('cluster/c1', asked).map(hex)).toEqual(want)
    expect(reopened.getScopeRecords('cluster/c10', [other.hash, own[0]!.hash]).map(hex)).toEqual([
      hex(other.bytes),
      'none',
    ])
    // Stored artifacts are duplicates after the reopen too (checked by version key).
    const again = await reopened.apply([own[5]!.bytes, sub.bytes], { from })
    expect(again.map((o) => o.status)).toEqual(['duplicate', 'duplicate'])
    await reopened.close()
  })
})
