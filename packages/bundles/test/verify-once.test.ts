import { join } from 'node:path'
import { blake3, InvalidArgumentError, type NodeState, toHex } from '@provsync/crdt'
import * as testing from '@provsync/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { importInspected } from '../src/import.js'
import { BadRecordError, IMPORT_BATCH, importBundle, inspectBundle } from '../src/index.js'
import { craft, exportTo, sourceNode } from './fixtures.js'
import { assertion, coordinate, NETWORK, operator, snapshot, TempDirs } from './helpers.js'

const frame = (bytes: Uint8Array) =>
  Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])
const part = (records: Uint8Array[]) => Buffer.concat(records.map(frame))

describe('an import verifies each record once, through the importing node', () => {
  const temp = new TempDirs()
  afterAll(() => temp.cleanup())
  let source: NodeState
  let bundle: Awaited<ReturnType<typeof exportTo>>

  beforeAll(async () => {
    source = await sourceNode(temp, 2 * IMPORT_BATCH + 50)
    bundle = await exportTo(temp, source)
  }, 60_000)

  function crafted(records: Uint8Array[]): string {
    const bytes = part(records)
    const manifest = {
      ...bundle.result.manifest,
      parts: [
        {
          kind: 'records',
          store: 'assertions',
          count: records.length,
          size: bytes.length,
          blake3: toHex(blake3(bytes)),
        },
      ],
    }
    const path = join(temp.dir(), 'crafted.bundle')
    craft(path, manifest, [bytes])
    return path
  }

  it('keeps a handle per batch and applies from it: the handles are used, the roots are the source`s', async () => {
    const target = await temp.node()
    const inspected = await inspectBundle(bundle.path, { trustedKeys: [operator.publicKey], state: target })
    const handles = inspected.verifiedBatches.flat()
    const batches = inspected.batchDigests.flat()
    expect(handles.length).toBe(batches.length)
    expect(handles.every((h) => h !== undefined)).toBe(true)
    await importInspected(target, bundle.path, inspected, join(temp.dir(), 'kept.json'))
    expect(snapshot(target).roots).toEqual(snapshot(source).roots)
    // Each handle went to applyVerified: a handle is used once, so none is left to apply.
    for (const handle of handles) {
      await expect(target.applyVerified(handle!, { from: operator.publicKey })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      )
    }
  })

  it('a bundle inspected through another node is refused before anything is written', async () => {
    const one = await temp.node()
    const other = await temp.node()
    const inspected = await inspectBundle(bundle.path, { trustedKeys: [operator.publicKey], state: one })
    const before = snapshot(other)
    await expect(
      importInspected(other, bundle.path, inspected, join(temp.dir(), 'other.json')),
    ).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(snapshot(other)).toEqual(before)
  })

  it('names a bad signature on a record the node would refuse anyway (far future), and applies nothing', async () => {
    const target = await temp.node()
    const before = snapshot(target)
    const future = Date.now() + 30 * 24 * 3600_000
    const records = Array.from({ length: IMPORT_BATCH + 10 }, (_, i) =>
      assertion(operator, coordinate(i), 1n),
    )
    const at = IMPORT_BATCH + 3
    const bad = testing.assertionBytes(operator, coordinate(at), 1n, future, 0, NETWORK)
    bad[bad.length - 1]! ^= 1
    records[at] = bad
    const error = await importBundle(target, crafted(records), {
      trustedKeys: [operator.publicKey],
      registry: join(temp.dir(), 'future-bad.json'),
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BadRecordError)
    expect([(error as BadRecordError).part, (error as BadRecordError).index]).toEqual([0, at])
    expect(snapshot(target)).toEqual(before)
  })

  it('counts a well-signed record the node refuses (far future) as refused, as for a pull', async () => {
    const target = await temp.node()
    const future = Date.now() + 30 * 24 * 3600_000
    const records = Array.from({ length: 20 }, (_, i) => assertion(operator, coordinate(i), 1n))
    records[7] = testing.assertionBytes(operator, coordinate(7), 1n, future, 0, NETWORK)
    const result = await importBundle(target, crafted(records), {
      trustedKeys: [operator.publicKey],
      registry: join(temp.dir(), 'future-good.json'),
    })
    expect(result.records.assertions).toMatchObject({ applied: 19, refused: 1 })
  })
})
