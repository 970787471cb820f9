import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type ArtifactStore, openArtifactStore } from '@provsync/artifacts'
import { blake3, toHex } from '@provsync/crdt'
import { type Database, open } from 'lmdb'
import { describe, expect, it } from 'vitest'
import {
  describeStore,
  FIXTURE_DIR,
  fixtureArtifact,
  fixtureNode,
  fixtureOptions,
  writeFixtureScenario,
} from './schema-fixture.js'
import { tempDir } from './store-helpers.js'

const expected = JSON.parse(readFileSync(join(FIXTURE_DIR, 'expected.json'), 'utf8'))

/** A copy of the committed database of `schema`, opened by this code. */
async function openFixture(schema: number): Promise<{ store: ArtifactStore; dir: string }> {
  const dir = tempDir()
  cpSync(join(FIXTURE_DIR, `schema-${schema}`, 'data.mdb'), join(dir, 'data.mdb'))
  return { store: await openArtifactStore(fixtureOptions(dir)), dir }
}

/** Runs `fn` on the store's meta database in `dir`, opened with lmdb directly (no migration). */
async function withMeta<T>(dir: string, fn: (meta: Database<unknown, string>) => T): Promise<Awaited<T>> {
  const env = open({ path: dir, noSubdir: false, maxDbs: 32 })
  try {
    return await fn(env.openDB({ name: 'artifacts/meta' }))
  } finally {
    await env.close()
  }
}

const schemaOf = (dir: string) => withMeta(dir, (meta) => meta.get('schema'))

/** Opens the committed database of `schema`, checks it reads as expected and is at schema 2. */
async function expectFixtureReads(schema: number): Promise<string> {
  const { store, dir } = await openFixture(schema)
  expect(describeStore(store)).toEqual(expected)
  await store.close()
  expect(await schemaOf(dir)).toBe(2)
  return dir
}

describe('artifact store schema', () => {
  it('the scenario written by this code reads as the committed expectation', async () => {
    const store = await openArtifactStore(fixtureOptions(tempDir()))
    await writeFixtureScenario(store)
    expect(describeStore(store)).toEqual(expected)
    await store.close()
  })

  it('a schema 1 database migrates to schema 2 and reads as before: versions, history, roots, served records', async () => {
    const dir = await expectFixtureReads(1)
    // Reopened (no second migration) it still reads the same.
    const again = await openArtifactStore(fixtureOptions(dir))
    expect(describeStore(again)).toEqual(expected)
    await again.close()
  })

  it("the committed schema 2 database (this code's schema, written by main at d67953f) opens as it is", async () => {
    await expectFixtureReads(2)
  })

  it('a migrated store keeps applying: old records are duplicates, new versions advance', async () => {
    const { store } = await openFixture(1)
    const served = expected.names[0].history.map((h: { bytes: string }) =>
      Uint8Array.from(Buffer.from(h.bytes, 'hex')),
    )
    const out = await store.apply([...served, fixtureArtifact('main', 3n)], { from: fixtureNode })
    expect(out.map((o) => o.status)).toEqual(['duplicate', 'duplicate', 'applied'])
    const current = store.current('cfg/a', 'snapshot', 'main')
    expect(current.status === 'current' && current.version.artifact.version).toBe(3n)
    const key = out[2]!.key!
    const [bytes] = store.getScopeRecords('cfg/a', [key])
    expect(toHex(blake3(bytes!))).toBe(toHex(key))
    await store.close()
  })

  it('a database of a newer schema is refused with a typed error naming it', async () => {
    const dir = tempDir()
    const store = await openArtifactStore(fixtureOptions(dir))
    await store.close()
    await withMeta(dir, (meta) => meta.put('schema', 9))
    await expect(openArtifactStore(fixtureOptions(dir))).rejects.toMatchObject({
      name: 'InvalidArgumentError',
      argument: 'dataDir',
    })
  })
})
