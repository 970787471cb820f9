/**
 * Writes the frozen vectors: `npx tsx --tsconfig tsconfig.source.json test/vectors/generate.ts`.
 *
 * The JSON vectors of a protocol version (`v1/`) are written only when missing: once committed,
 * they are the protocol, and a change of an encoding is a new version directory (and a new
 * protocol id), never an overwrite. `--force` overwrites them anyway (only for a version not yet
 * released). `--lmdb` rewrites the database fixtures: the earlier schemas are produced from
 * today's layout by the rewrites in `lmdb.ts`, so run it only while those still match (the
 * committed files 1-4 were written by the schema 4 code of December 2026, schema 5's by the
 * schema 5 code, schema 6's by the schema 6 code); `--lmdb-current` adds
 * the current schema's directory alone, for the release that bumps the schema.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SCHEMA_VERSION } from '@provsync/crdt'
import { open } from 'lmdb'
import {
  buildEvidenceRecordVectors,
  buildMerkleV2Vectors,
  buildMerkleVectors,
  buildRecordVectors,
  buildStoreVectors,
  buildSyncKindsVectors,
  buildSyncV2Vectors,
  buildSyncVectors,
} from './build.js'
import { DOWNGRADES, FIXTURE_SCHEMAS, writeScenario } from './lmdb.js'

const here = dirname(fileURLToPath(import.meta.url))
const args = new Set(process.argv.slice(2))

function writeJson(path: string, value: unknown): void {
  if (existsSync(path) && !args.has('--force')) {
    console.log(`kept ${path} (frozen; --force overwrites)`)
    return
  }
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)
  console.log(`wrote ${path}`)
}

async function writeVectors(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'provsync-vectors-'))
  const env = open({ path: scratch, maxDbs: 64, keyEncoding: 'binary' })
  try {
    const records = buildRecordVectors()
    const merkle = buildMerkleVectors(env)
    writeJson(join(here, 'v1/records.json'), records)
    writeJson(join(here, 'v1/merkle.json'), merkle)
    writeJson(join(here, 'v1/sync.json'), buildSyncVectors(merkle, records))
    writeJson(join(here, 'v1/stores.json'), await buildStoreVectors(records, (store) => join(scratch, store)))
    const merkleV2 = buildMerkleV2Vectors(env)
    writeJson(join(here, 'v2/merkle.json'), merkleV2)
    writeJson(join(here, 'v2/sync.json'), buildSyncV2Vectors(merkleV2))
    writeJson(join(here, 'v2/records.json'), buildEvidenceRecordVectors())
    writeJson(join(here, 'v2/kinds.json'), buildSyncKindsVectors())
  } finally {
    await env.close()
    rmSync(scratch, { recursive: true, force: true })
  }
}

async function writeLmdbFixture(schema: number): Promise<unknown> {
  const scratch = mkdtempSync(join(tmpdir(), 'provsync-lmdb-fixture-'))
  try {
    const expectation = await writeScenario(scratch)
    await DOWNGRADES[schema]?.(scratch)
    const target = join(here, 'lmdb', `schema-${schema}`)
    mkdirSync(target, { recursive: true })
    copyFileSync(join(scratch, 'data.mdb'), join(target, 'data.mdb'))
    console.log(`wrote ${target}/data.mdb`)
    return expectation
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

async function writeLmdbFixtures(schemas: readonly number[]): Promise<void> {
  let expectation: unknown
  for (const schema of schemas) expectation = await writeLmdbFixture(schema)
  const path = join(here, 'lmdb', 'expected.json')
  if (!existsSync(path) || args.has('--lmdb'))
    writeFileSync(path, `${JSON.stringify(expectation, null, 2)}\n`)
}

await writeVectors()
if (args.has('--lmdb')) await writeLmdbFixtures(FIXTURE_SCHEMAS)
else if (args.has('--lmdb-current')) await writeLmdbFixtures([SCHEMA_VERSION])
