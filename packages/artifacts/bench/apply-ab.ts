/**
 * Two builds of the apply path in one process, fed the same batches in turn (load changes hit
 * both alike): `node --import tsx packages/artifacts/bench/apply-ab.ts <dist A> <dist B> [batches]`,
 * each dist a built `packages/artifacts/dist` (e.g. a worktree of main and this one). Durable
 * commits, batches of 1,000 new artifacts in 4 scopes (the bench's workload). Prints per build the
 * median and mean CPU µs (all threads) and wall µs per artifact, and single-thread verification
 * alternating with them; wall ratio = verification wall / apply wall per artifact.
 */
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { pathToFileURL } from 'node:url'
import { cpuMicrosSince, tempDir } from '@provsync/testing'
import { applyBatches, BATCH, grants, median, NET, nodeKey, operator, verifyBaseline } from './fixtures.js'

const [distA, distB] = process.argv.slice(2, 4)
const batches = Number(process.argv[4] ?? 20)
if (distA === undefined || distB === undefined)
  throw new Error('usage: apply-ab.ts <dist A> <dist B> [batches]')

type Store = {
  apply(r: Uint8Array[], o: { from: Uint8Array }): Promise<{ status: string }[]>
  close(): Promise<void>
}
const builds = await Promise.all(
  [distA, distB].map(async (dist) => {
    const mod = await import(pathToFileURL(`${dist}/index.js`).href)
    const dir = tempDir('provsync-artifacts-ab-')
    const store: Store = await mod.openArtifactStore({
      networkId: NET,
      nodeKey,
      trust: [operator.publicKey],
      dataDir: dir,
    })
    await store.apply(grants(), { from: nodeKey })
    return { dist, dir, store, cpu: [] as number[], wall: [] as number[] }
  }),
)
const pending = applyBatches(batches)
for (const b of builds) await b.store.apply(pending[0]!, { from: nodeKey })
const verify = verifyBaseline(pending[0]![0]!)
const verifyWall: number[] = []
const loads: number[] = []
for (const [k, batch] of pending.slice(1).entries()) {
  // Alternate which build goes first, so neither always follows the verification loop.
  for (const b of k % 2 === 0 ? builds : [...builds].reverse()) {
    const cpu = process.cpuUsage()
    const t0 = performance.now()
    const out = await b.store.apply(batch, { from: nodeKey })
    b.wall.push(((performance.now() - t0) * 1000) / BATCH)
    b.cpu.push(cpuMicrosSince(cpu) / BATCH)
    if (out.some((o) => o.status !== 'applied')) throw new Error(`${b.dist}: not applied`)
  }
  const t0 = performance.now()
  verify(BATCH)
  verifyWall.push(((performance.now() - t0) * 1000) / BATCH)
  loads.push(loadavg()[0]!)
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const v = median(verifyWall)
console.log(
  `${batches} batches of ${BATCH}, load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}; verify ${v.toFixed(1)} µs wall (median)`,
)
for (const b of builds) {
  console.log(
    `${b.dist}: CPU µs median ${median(b.cpu).toFixed(1)} mean ${mean(b.cpu).toFixed(1)}; wall µs median ${median(b.wall).toFixed(1)} mean ${mean(b.wall).toFixed(1)}; wall ratio ${(v / median(b.wall)).toFixed(3)}`,
  )
  await b.store.close()
  rmSync(b.dir, { recursive: true, force: true })
}
process.exit(0)
