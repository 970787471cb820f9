/**
 * The two steps session 18 changed, each alternated between two builds in one process (so both
 * see the same load): the inline verification of prefixed items (a batch under 32 records is
 * verified on the applying thread) and a Merkle update of a small batch inside a write
 * transaction. `node --import tsx packages/crdt/bench/ab-components.ts --a=<repo root> --b=<repo
 * root> [--rounds=N] [--size=10]` (Node 22: `npx node`). Prints, per step, the median over rounds
 * of the calling thread's CPU per item (per verified item; per change of the Merkle batches) for
 * each build, and the median per-round difference b - a.
 */
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { tempDir } from '@provsync/testing'
import { open } from 'lmdb'
import { NETWORK, probeArgs, signBatch } from './batches.js'

const { option, number } = probeArgs()
const rounds = number('rounds', 10)
const size = number('size', 10)

type Crdt = typeof import('@provsync/crdt')
type Merkle = typeof import('@provsync/merkle')
const roots = [option('a')!, option('b')!]
const builds = await Promise.all(
  roots.map(async (root) => ({
    crdt: (await import(`${root}/packages/crdt/dist/index.js`)) as Crdt,
    merkle: (await import(`${root}/packages/merkle/dist/index.js`)) as Merkle,
  })),
)
const cpu = (u: NodeJS.CpuUsage) => u.user + u.system
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!

/** Prefixed verify items of `n` signed assertions, as ingest hands them to the pool. */
function verifyItems(crdt: Crdt, n: number) {
  const signer = crdt.generateSigner()
  return signBatch(signer, 0, n, 1n).map((bytes) => {
    const message = crdt.signedMessage('assertion', NETWORK, bytes)
    const bodyLength = bytes.length - 64
    return {
      publicKey: signer.publicKey,
      signature: bytes.subarray(bodyLength),
      prefix: message.subarray(0, message.length - bodyLength),
      message: bytes.subarray(0, bodyLength),
    }
  })
}

async function verifyStep(): Promise<number[][]> {
  const verifiers = builds.map(({ crdt }) => crdt.createBatchVerifier({ threads: 0 }))
  const items = verifyItems(builds[0]!.crdt, size)
  const out: number[][] = [[], []]
  for (let round = 0; round < rounds; round++) {
    for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = process.threadCpuUsage()
      for (let k = 0; k < 300; k++) {
        const job = verifiers[i]!.start(items, { digests: true })
        for (let j = 0; j < items.length; j++)
          if (!job.result(j) || job.digest?.(j) === undefined) throw new Error('bad')
      }
      out[i]!.push(cpu(process.threadCpuUsage(t0)) / (300 * items.length))
    }
  }
  for (const v of verifiers) await v.close()
  return out
}

function merkleStep(): number[][] {
  const dirs = builds.map(() => tempDir('provsync-ab-merkle-'))
  const envs = dirs.map((path) =>
    open({ path, noSubdir: false, maxDbs: 8, keyEncoding: 'binary', noSync: true }),
  )
  const trees = builds.map(({ merkle }, i) =>
    merkle.openMerkleTree(envs[i]!, { name: 'assertions', keysAreHashes: true }),
  )
  const random = () => crypto.getRandomValues(new Uint8Array(32))
  const changes = (n: number) => Array.from({ length: n }, () => ({ key: random(), valueHash: random() }))
  for (const [i, tree] of trees.entries())
    for (let k = 0; k < 7; k++) envs[i]!.transactionSync(() => tree.update(changes(1000)))
  const out: number[][] = [[], []]
  try {
    for (let round = 0; round < rounds; round++) {
      for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const batches = Array.from({ length: 200 }, () => changes(size))
        const env = envs[i]!
        const tree = trees[i]!
        const t0 = process.threadCpuUsage()
        for (const batch of batches) env.transactionSync(() => tree.update(batch))
        out[i]!.push(cpu(process.threadCpuUsage(t0)) / (200 * size))
      }
    }
    if (builds.length === 2 && trees[0]!.count() !== trees[1]!.count()) throw new Error('counts differ')
  } finally {
    for (const env of envs) env.close()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
  return out
}

const report = (step: string, [a, b]: number[][]) =>
  console.log(
    JSON.stringify({
      step,
      size,
      rounds,
      a_us_per_item: Number(median(a!).toFixed(2)),
      b_us_per_item: Number(median(b!).toFixed(2)),
      median_b_minus_a_us: Number(median(a!.map((x, k) => b![k]! - x)).toFixed(2)),
    }),
  )
report('inline_verify', await verifyStep())
report('merkle_update', merkleStep())
console.log(JSON.stringify({ load_average_1m: Number(loadavg()[0]!.toFixed(2)) }))
