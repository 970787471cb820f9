/**
 * Bytes the applying thread allocates per applied record, and where: the apply loop of
 * `crdt.bench.ts` (batches of 1,000 new signed assertions into a growing store) under V8's
 * sampling heap profiler, objects collected by the minor and major GC included, so the sum is
 * what was allocated, not what survived (with `--promoted`, objects a minor GC collected are left
 * out: what is left is what the scavenger promoted to the old generation, or what is still alive
 * at the end). Run:
 * `node --import tsx packages/crdt/bench/apply-alloc.ts [batches] [--top=N] [--promoted]` (Node 22: `npx node`
 * inside the repo). Prints `alloc_bytes_per_record` and the largest allocation sites (function,
 * file:line) in bytes per record. Workers are other isolates: their allocations are not counted.
 */
import type { HeapProfiler } from 'node:inspector'
import { Session } from 'node:inspector/promises'
import { generateSigner, openNodeState } from '@provsync/crdt'
import { tempDir } from '@provsync/testing'
import { BATCH, NETWORK, signBatch } from './batches.js'

const args = process.argv.slice(2)
const batches = Number(args.find((a) => /^\d+$/.test(a)) ?? 10)
const promotedOnly = args.includes('--promoted')
const top = Number(args.find((a) => a.startsWith('--top='))?.slice('--top='.length) ?? 25)

type ProfileNode = HeapProfiler.SamplingHeapProfileNode

const signers = Array.from({ length: 4 }, () => generateSigner())
const pending = Array.from({ length: batches + 2 }, (_, b) =>
  signBatch(signers[b % signers.length]!, b * BATCH, BATCH, BigInt(b + 1)),
)
const dir = tempDir('provsync-apply-alloc-')
const state = await openNodeState({ dataDir: dir, networkId: NETWORK, noSync: true })
const session = new Session()
session.connect()
try {
  const from = { from: signers[1]!.publicKey }
  // Two batches first so the measured ones run on warm code.
  for (const batch of pending.slice(0, 2)) await state.apply('assertions', batch, from)
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !promotedOnly,
  })
  for (const batch of pending.slice(2)) {
    const outcomes = await state.apply('assertions', batch, from)
    if (outcomes.some((o) => o.status !== 'applied')) throw new Error('bench batch not applied')
  }
  const { profile } = await session.post('HeapProfiler.stopSampling')
  const records = batches * BATCH
  const sites = new Map<string, number>()
  let total = 0
  const siteOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^.*\/packages\//, '').replace(/^.*node_modules\//, '')
    return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
  }
  // A built-in (subarray, slice: no url) is named with its caller, the site that asked for it.
  const walk = (node: ProfileNode, caller = '') => {
    const site = siteOf(node)
    if (node.selfSize > 0) {
      const key = node.callFrame.url === '' ? `${site} < ${caller}` : site
      sites.set(key, (sites.get(key) ?? 0) + node.selfSize)
      total += node.selfSize
    }
    for (const child of node.children) walk(child, site)
  }
  walk(profile.head)
  const figure = promotedOnly ? 'promoted_bytes_per_record' : 'alloc_bytes_per_record'
  console.log(JSON.stringify({ [figure]: Math.round(total / records), records }))
  for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${(bytes / records).toFixed(0).padStart(6)} B  ${site}`)
} finally {
  session.disconnect()
  await state.close()
}
