import { EMPTY_ROOT, type MerkleTree, openMerkleTree, type TreeChange } from '@provsync/merkle'
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { buildSubtree, LeafCursor } from '../src/canonical.js'
import { pathOfKey } from '../src/hash.js'
import { arbValue, hex, type TempEnv, tempEnv, uniqueName } from './helpers.js'

/** The model: a plain map from key to value hash, and the root computed from it in memory. */
type Model = Map<string, { key: Uint8Array; valueHash: Uint8Array }>

interface Real {
  temp: TempEnv
  name: string
  keysAreHashes: boolean
  tree: MerkleTree
}

function referenceRoot(model: Model, keysAreHashes: boolean): string {
  const leaves = [...model.values()]
    .map(({ key, valueHash }) => ({ path: keysAreHashes ? key : pathOfKey(key), valueHash }))
    .sort((x, y) => Buffer.compare(x.path, y.path))
  const entry = buildSubtree(new LeafCursor(leaves), new Uint8Array(32), 0, { inner: () => {} })
  return hex(entry?.hash ?? EMPTY_ROOT)
}

function check(model: Model, real: Real, touched: Uint8Array[]): void {
  expect(real.tree.count()).toBe(model.size)
  expect(hex(real.tree.root())).toBe(referenceRoot(model, real.keysAreHashes))
  for (const key of touched) {
    const got = real.tree.get(key)
    const want = model.get(hex(key))?.valueHash
    expect(got === undefined ? undefined : hex(got)).toBe(want === undefined ? undefined : hex(want))
  }
}

function applyToModel(model: Model, changes: TreeChange[]): void {
  for (const { key, valueHash } of changes) {
    if (valueHash === null) model.delete(hex(key))
    else model.set(hex(key), { key, valueHash })
  }
}

// A key space large enough for inner nodes two levels deep, small enough for frequent hits. The
// same numbers give text keys (hashed into paths) or 32-byte uniform keys (used as paths).
const arbIndex = fc.integer({ min: 0, max: 1500 })
const textKey = (n: number) => new TextEncoder().encode(`key-${n}`)
const arbChange = (keysAreHashes: boolean): fc.Arbitrary<TreeChange> =>
  fc.tuple(arbIndex, fc.option(arbValue, { freq: 4 })).map(([n, v]) => ({
    key: keysAreHashes ? pathOfKey(textKey(n)) : textKey(n),
    valueHash: v ?? null,
  }))

class UpdateCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly changes: TreeChange[]) {}
  check = () => true
  async run(model: Model, real: Real) {
    real.temp.env.transactionSync(() => real.tree.update(this.changes))
    applyToModel(model, this.changes)
    check(
      model,
      real,
      this.changes.map((c) => c.key),
    )
  }
  toString = () => `update(${this.changes.length})`
}

class AbortedUpdateCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly changes: TreeChange[]) {}
  check = () => true
  async run(model: Model, real: Real) {
    expect(() =>
      real.temp.env.transactionSync(() => {
        real.tree.update(this.changes)
        throw new Error('abort')
      }),
    ).toThrow('abort')
    check(
      model,
      real,
      this.changes.map((c) => c.key),
    )
  }
  toString = () => `aborted(${this.changes.length})`
}

class ReopenCommand implements fc.AsyncCommand<Model, Real> {
  check = () => true
  async run(model: Model, real: Real) {
    const env = await real.temp.reopen()
    real.tree = openMerkleTree(env, { name: real.name, keysAreHashes: real.keysAreHashes })
    check(model, real, [])
  }
  toString = () => 'reopen'
}

const commands = (keysAreHashes: boolean) => [
  fc.array(arbChange(keysAreHashes), { minLength: 1, maxLength: 200 }).map((c) => new UpdateCommand(c)),
  fc.array(arbChange(keysAreHashes), { minLength: 1, maxLength: 60 }).map((c) => new AbortedUpdateCommand(c)),
  fc.constant(new ReopenCommand()),
]

test.each([
  ['hashed keys', false],
  ['uniform keys', true],
])('the LMDB tree behaves like a map, through batches, aborted transactions and reopening (%s)', async (_, keysAreHashes) => {
  await fc.assert(
    fc.asyncProperty(fc.commands(commands(keysAreHashes), { maxCommands: 20 }), async (cmds) => {
      const temp = tempEnv()
      const name = uniqueName('model')
      const real: Real = {
        temp,
        name,
        keysAreHashes,
        tree: openMerkleTree(temp.env, { name, keysAreHashes }),
      }
      try {
        await fc.asyncModelRun(() => ({ model: new Map(), real }), cmds)
        const report = real.tree.verify()
        expect(report.mismatches).toEqual([])
        expect(report.leaves).toBe(real.tree.count())
      } finally {
        await temp.cleanup()
      }
    }),
    { numRuns: 25 },
  )
})
