/**
 * What one small `apply` call writes (issue #16, session 18): per call and per record, the bytes
 * the process writes (`/proc/self/io` `wchar`: LMDB's page writes at commit, 4 KiB each, plus
 * its meta page), the entries each sub-database gains (a second lmdb-js handle on the same
 * environment, `getStats`), the file's last page number, and the Merkle nodes a call rewrites
 * (the inner nodes on the touched paths and the touched buckets, found from the tree after the
 * call). `node --import tsx packages/crdt/bench/commit-pages-probe.ts [calls] [--sizes=1,10,32]
 * [--prefill=N]` (Node 22: `npx node` inside the repo; `TMPDIR=/dev/shm` for the sim's tmpfs).
 * Stores open with `noSync` (as `call-probe.ts --nosync`): the writes are the same either way.
 */
import { readFileSync, rmSync } from 'node:fs'
import { generateSigner, openNodeState } from '@provsync/crdt'
import { openMerkleTree } from '@provsync/merkle'
import { tempDir } from '@provsync/testing'
import { open } from 'lmdb'
import { NETWORK, probeArgs, signBatch } from './batches.js'

const { number, count, sizes: sizesOf } = probeArgs()
const calls = count(200)
const sizes = sizesOf('1,10,32')
const prefill = number('prefill', 5000)

const wchar = (): number => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1])
const SUBS = ['asRecords', 'coordinates', 'history', 'asserterChunks', 'meta'] as const

const dir = tempDir('provsync-pages-probe-')
const state = await openNodeState({ dataDir: dir, networkId: NETWORK, noSync: true, verifyThreads: 0 })
const env = open({ path: dir, noSubdir: false, maxDbs: 64, keyEncoding: 'binary', noSync: true })
const dbs = Object.fromEntries(
  [...SUBS, 'merkle'].map((n) => [
    n,
    env.openDB({ name: n === 'merkle' ? 'merkle/assertions' : `crdt/${n}`, keyEncoding: 'binary' }),
  ]),
)
const tree = openMerkleTree(env, { name: 'assertions', keysAreHashes: true })
/** Reads on the probe's handle see the latest commit, and hold no snapshot once they are done. */
function fresh<T>(read: () => T): T {
  env.resetReadTxn()
  try {
    return read()
  } finally {
    env.resetReadTxn()
  }
}
const entries = () =>
  fresh(() =>
    Object.fromEntries(
      Object.entries(dbs).map(([n, db]) => [n, (db.getStats() as { entryCount: number }).entryCount]),
    ),
  )

/** Bits of the path a node at `depth` is named by (merkle's schedule: 5, 4, 3, then 4 a level). */
const prefixBits = (depth: number): number => [0, 5, 9, 12][depth] ?? 12 + 4 * (depth - 3)
const nodeId = (key: Uint8Array, depth: number): string => {
  let bits = ''
  for (const byte of key.subarray(0, 32)) bits += byte.toString(2).padStart(8, '0')
  return `${depth}:${bits.slice(0, prefixBits(depth))}`
}

/** The inner nodes and the buckets on the paths of `keys` (a bucket at the first non-inner depth). */
function touchedNodes(keys: Uint8Array[]): { inner: number; buckets: number; bucketBytes: number } {
  const inner = new Set<string>()
  const buckets = new Map<string, number>()
  for (const key of keys) {
    for (let depth = 0; ; depth++) {
      const node = tree.node({ path: key, depth })
      if (node === undefined) break
      if (node.kind === 'inner') inner.add(nodeId(key, depth))
      else {
        // tree.node at a depth inside a bucket answers with the part under it: step back to the bucket.
        buckets.set(nodeId(key, depth), node.count * 64)
        break
      }
    }
  }
  return {
    inner: inner.size,
    buckets: buckets.size,
    bucketBytes: [...buckets.values()].reduce((a, b) => a + b, 0),
  }
}

try {
  const s = generateSigner()
  const peer = generateSigner()
  for (let done = 0; done < prefill; done += 1000) {
    await state.apply('assertions', signBatch(s, 50_000_000 + done, 1000, 1n), { from: s.publicKey })
  }
  let offset = 0
  for (const size of [...sizes, 1000]) {
    const n = size === 1000 ? 3 : calls
    const batches = Array.from({ length: n }, (_, i) => signBatch(s, offset + i * size, size, 1n))
    offset += n * size
    let bytes = 0
    let inner = 0
    let buckets = 0
    let bucketBytes = 0
    const e0 = entries()
    const p0 = fresh(() => env.getStats()) as { lastPageNumber: number }
    for (const batch of batches) {
      const w0 = wchar()
      const outcomes = await state.apply('assertions', batch, { from: peer.publicKey })
      bytes += wchar() - w0
      const touched = fresh(() => touchedNodes(outcomes.map((o) => o.key!)))
      inner += touched.inner
      buckets += touched.buckets
      bucketBytes += touched.bucketBytes
    }
    const e1 = entries()
    const p1 = fresh(() => env.getStats()) as { lastPageNumber: number }
    const per = (x: number) => Number((x / n).toFixed(1))
    const perRecord = (x: number) => Number((x / n / size).toFixed(2))
    console.log(
      JSON.stringify({
        size,
        calls: n,
        bytes_written_per_call: per(bytes),
        pages_written_per_call: per(bytes / 4096),
        pages_written_per_record: perRecord(bytes / 4096),
        last_page_growth_per_call: per(p1.lastPageNumber - p0.lastPageNumber),
        entries_gained_per_call: Object.fromEntries(SUBS.map((k) => [k, per(e1[k]! - e0[k]!)])),
        merkle_inner_nodes_rewritten_per_record: perRecord(inner),
        merkle_buckets_rewritten_per_record: perRecord(buckets),
        merkle_bucket_bytes_hashed_per_record: perRecord(bucketBytes),
        tree_depth: fresh(() =>
          Object.fromEntries(
            Object.entries(dbs).map(([k, db]) => [k, (db.getStats() as { treeDepth: number }).treeDepth]),
          ),
        ),
        free_db: fresh(() => {
          const { free } = env.getStats() as { free: Record<string, number> }
          return {
            entries: free.entryCount,
            depth: free.treeDepth,
            leaf: free.treeLeafPageCount,
            overflow: free.overflowPages,
          }
        }),
      }),
    )
  }
} finally {
  await state.close()
  await env.close()
  rmSync(dir, { recursive: true, force: true })
}
