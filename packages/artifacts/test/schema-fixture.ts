/**
 * The artifacts store's database fixtures: one scenario, written once by each schema's code and
 * committed (`test/vectors/artifacts/schema-N/data.mdb`, with `expected.json` the state every
 * fixture must open to). `schema.test.ts` opens copies of them through the real migrations.
 * Regenerate a fixture (only with the code of that schema): `npx tsx
 * packages/artifacts/test/schema-fixture.ts <schema>`.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type ArtifactStore,
  openArtifactStore,
  signArtifact,
  signGrant,
  signScopeEpoch,
  signWithdrawal,
} from '@provsync/artifacts'
import { signerFromSeed, toHex } from '@provsync/crdt'
import { tempDir } from '@provsync/testing'

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../test/vectors/artifacts')
export const FIXTURE_NET = 'artifact-vectors'
export const FIXTURE_MS = 1_767_225_600_000
const seed = (n: number) => signerFromSeed(new Uint8Array(32).fill(n))
export const fixtureOperator = seed(3)
const P = seed(1)
const Q = seed(2)
export const fixtureNode = seed(4).publicKey

export function fixtureOptions(dataDir: string) {
  return {
    networkId: FIXTURE_NET,
    nodeKey: fixtureNode,
    trust: [fixtureOperator.publicKey],
    dataDir,
    verifyThreads: 0,
    wallClock: () => FIXTURE_MS + 60_000,
  }
}

let tick = 0
const at = () => ({ wallMs: FIXTURE_MS, counter: tick++ })
const content = (s: string) => new TextEncoder().encode(s)

/** Artifacts `signArtifact` makes for the fixture (also applied after a migration, as new records). */
export function fixtureArtifact(name: string, version: bigint, scope = 'cfg/a', epoch = 1n) {
  return signArtifact(
    { scope, family: 'snapshot', name, version, epoch, content: content(`${scope}/${name}@${version}`) },
    P,
    FIXTURE_NET,
    at(),
  ).bytes
}

/**
 * Grants to hold cfg and to publish under it (P) and under cfg/b (Q); versions of two names in
 * cfg/a, one tombstone, two by Q in cfg/b; a scope epoch that makes one of Q's stale (fall-back),
 * a withdrawal of Q's grant (fall-back to none).
 */
export async function writeFixtureScenario(store: ArtifactStore): Promise<void> {
  const O = fixtureOperator
  tick = 0
  const from = { from: fixtureNode }
  await store.apply(
    [
      signGrant({ subject: fixtureNode, right: 'hold', scopes: ['cfg'], epoch: 1n }, O, FIXTURE_NET, at())
        .bytes,
      signGrant({ subject: P.publicKey, right: 'publish', scopes: ['cfg'], epoch: 1n }, O, FIXTURE_NET, at())
        .bytes,
      signGrant(
        { subject: Q.publicKey, right: 'publish', scopes: ['cfg/b'], epoch: 1n },
        O,
        FIXTURE_NET,
        at(),
      ).bytes,
    ],
    from,
  )
  await store.apply(
    [fixtureArtifact('main', 1n), fixtureArtifact('main', 2n), fixtureArtifact('other', 1n)],
    from,
  )
  await store.apply(
    [
      signArtifact(
        { scope: 'cfg/a', family: 'snapshot', name: 'other', version: 2n, epoch: 1n, tombstone: true },
        P,
        FIXTURE_NET,
        at(),
      ).bytes,
      ...[1n, 2n].map(
        (version) =>
          signArtifact(
            {
              scope: 'cfg/b',
              family: 'snapshot',
              name: 'q',
              version,
              epoch: version,
              content: content(`q${version}`),
            },
            Q,
            FIXTURE_NET,
            at(),
          ).bytes,
      ),
      signArtifact(
        { scope: 'cfg/b', family: 'peers', name: 'p', version: 1n, epoch: 1n, content: content('p') },
        P,
        FIXTURE_NET,
        at(),
      ).bytes,
    ],
    from,
  )
  await store.apply([signScopeEpoch({ scope: 'cfg/b', minEpoch: 2n }, O, FIXTURE_NET, at()).bytes], from)
  await store.apply(
    [
      signWithdrawal(
        { subject: Q.publicKey, right: 'publish', epoch: 1n, reason: 'rotated' },
        O,
        FIXTURE_NET,
        at(),
      ).bytes,
    ],
    from,
  )
}

const NAMES = [
  ['cfg/a', 'snapshot', 'main'],
  ['cfg/a', 'snapshot', 'other'],
  ['cfg/b', 'snapshot', 'q'],
  ['cfg/b', 'peers', 'p'],
] as const

const plain = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value, (_, v) =>
      typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? toHex(v) : v,
    ),
  )

/** Everything a reader of the store can see, as plain JSON. */
export function describeStore(store: ArtifactStore): unknown {
  const roots = Object.fromEntries([...store.scopeRoots()].map(([s, r]) => [s, toHex(r)]))
  const names = NAMES.map(([scope, family, name]) => {
    const history = store.history(scope, family, name)
    const keys = history.map((h) => h.version.hash)
    return {
      scope,
      family,
      name,
      current: store.current(scope, family, name, { allowStale: true }),
      history: history.map((h) => ({
        hash: h.version.hash,
        bytes: h.version.bytes,
        admissible: h.admissible,
      })),
      served: store.getScopeRecords(scope, keys),
    }
  })
  return plain({
    scopes: store.scopes(),
    roots,
    operatorRoot: store.operatorTree().root(),
    names,
    lists: ['cfg/a', 'cfg/b'].map((s) => store.list(s, { allowStale: true })),
    materialized: store.materialize('cfg/a', 'snapshot'),
    viewChanges: store.viewChanges(0, 1000),
  })
}

/** Writes the fixture of `schema` with the code of this tree (run only with that schema's code). */
async function generate(schema: number): Promise<void> {
  const dir = tempDir('provsync-artifacts-fixture-')
  const store = await openArtifactStore(fixtureOptions(dir))
  await writeFixtureScenario(store)
  const expected = describeStore(store)
  await store.close()
  const out = join(FIXTURE_DIR, `schema-${schema}`)
  mkdirSync(out, { recursive: true })
  cpSync(join(dir, 'data.mdb'), join(out, 'data.mdb'))
  writeFileSync(join(FIXTURE_DIR, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`)
  rmSync(dir, { recursive: true, force: true })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await generate(Number(process.argv[2]))
