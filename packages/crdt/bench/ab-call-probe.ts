/**
 * Two builds' small `apply` calls alternated in one process (session 18): on a machine whose load
 * swings, `call-probe.ts` run once per build, one after the other, could not resolve 5-15 µs per
 * record (verification alone went 51-92 µs between runs). Here both builds' `@provsync/crdt`
 * (each with its own merkle, lmdb-js and sodium-native) open a store each, prefilled alike, and
 * every round applies `calls` batches of each size to A then B (B then A in odd rounds), so both
 * see the same load. Per size it prints the median over rounds of the calling thread's CPU per
 * call for each build, and the median of the per-round ratio B / A.
 * `node --import tsx packages/crdt/bench/ab-call-probe.ts --a=<crdt dist/index.js> --b=<…>
 * [calls] [--sizes=1,10,32] [--rounds=N] [--prefill=N]` (Node 22: `npx node`; stores `noSync`,
 * `verifyThreads: 0`, as `call-probe.ts --nosync`).
 */
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { tempDir } from '@provsync/testing'
import { NETWORK, probeArgs, signBatch } from './batches.js'

const { option, number, count, sizes: sizesOf } = probeArgs()
const calls = count(100)
const sizes = sizesOf('1,10,32')
const rounds = number('rounds', 8)
const prefill = number('prefill', 5000)

type Crdt = typeof import('@provsync/crdt')
const builds: { name: string; crdt: Crdt }[] = [
  { name: 'a', crdt: (await import(option('a')!)) as Crdt },
  { name: 'b', crdt: (await import(option('b')!)) as Crdt },
]
const cpu = (u: NodeJS.CpuUsage) => u.user + u.system
const signer = builds[0]!.crdt.generateSigner()
const peer = builds[0]!.crdt.generateSigner()

const dirs: string[] = []
const states = await Promise.all(
  builds.map(async ({ crdt }) => {
    const dir = tempDir('provsync-ab-probe-')
    dirs.push(dir)
    const state = await crdt.openNodeState({
      dataDir: dir,
      networkId: NETWORK,
      noSync: true,
      verifyThreads: 0,
    })
    for (let done = 0; done < prefill; done += 1000) {
      await state.apply('assertions', signBatch(signer, 50_000_000 + done, 1000, 1n), {
        from: signer.publicKey,
      })
    }
    return state
  }),
)

const perCall = new Map<string, number[]>()
const ratios = new Map<number, number[]>()
const push = (map: Map<string, number[]> | Map<number, number[]>, key: never, value: number) => {
  const list = (map as Map<unknown, number[]>).get(key) ?? []
  list.push(value)
  ;(map as Map<unknown, number[]>).set(key, list)
}
let offset = 0
try {
  for (let round = 0; round < rounds; round++) {
    for (const size of sizes) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0]
      const us: number[] = []
      for (const i of order) {
        const batches = Array.from({ length: calls }, (_, k) =>
          signBatch(signer, offset + k * size, size, 1n),
        )
        offset += calls * size
        const state = states[i]!
        const m0 = process.threadCpuUsage()
        for (const batch of batches) {
          const outcomes = await state.apply('assertions', batch, { from: peer.publicKey })
          if (outcomes.some((o) => o.status !== 'applied')) throw new Error('probe batch not applied')
        }
        us[i] = cpu(process.threadCpuUsage(m0)) / calls
        push(perCall, `${size}:${builds[i]!.name}` as never, us[i]!)
      }
      push(ratios, size as never, us[1]! / us[0]!)
    }
  }
} finally {
  for (const state of states) await state.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
for (const size of sizes) {
  const a = median(perCall.get(`${size}:a`)!)
  const b = median(perCall.get(`${size}:b`)!)
  console.log(
    JSON.stringify({
      size,
      rounds,
      calls,
      a_cpu_us_per_call: Number(a.toFixed(1)),
      b_cpu_us_per_call: Number(b.toFixed(1)),
      b_minus_a_us_per_record: Number(((b - a) / size).toFixed(1)),
      median_ratio_b_over_a: Number(median(ratios.get(size)!).toFixed(3)),
      ratios: ratios.get(size)!.map((r) => Number(r.toFixed(3))),
    }),
  )
}
console.log(JSON.stringify({ load_average_1m: Number(loadavg()[0]!.toFixed(2)) }))
