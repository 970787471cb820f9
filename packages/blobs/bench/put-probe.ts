/**
 * `put` alone against BLAKE3 on the same bytes, in a fresh process (not a bench suite: run by
 * hand, alternating two builds). `node packages/blobs/bench/put-probe.ts [<dist index.js>] [MiB]`:
 * the blobs package to load (`-` or none: this worktree's build; another worktree's
 * `packages/blobs/dist/index.js` for a baseline; two builds cannot share a process, lmdb-js's
 * native state is per process), the blob size (256). Prints the best of three rounds of each,
 * their ratio, the CPU seconds per put and the load average.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBLAKE3 } from 'hash-wasm'
import { probeBytes } from './probe-bytes.js'

const [modulePath, mibArg] = process.argv.slice(2)
const blobsModule = await import(
  modulePath === undefined || modulePath === '-' ? '@provsync/blobs' : modulePath
)
const MiB = 1024 * 1024
const size = Number(mibArg ?? 256) * MiB
const bytes = probeBytes(size)
const work = mkdtempSync(join(tmpdir(), 'provsync-put-probe-'))
const hasher = await createBLAKE3()
let hashRate = 0
let putRate = 0
let cpu = 0
for (let round = 0; round < 3; round++) {
  let start = performance.now()
  hasher.init()
  for (let o = 0; o < size; o += 256 * 1024) hasher.update(bytes.subarray(o, o + 256 * 1024))
  hasher.digest('binary')
  hashRate = Math.max(hashRate, size / MiB / ((performance.now() - start) / 1000))
  const dir = join(work, `put-${round}`)
  const store = await blobsModule.openBlobStore({ path: dir, noSync: true })
  const before = process.cpuUsage()
  start = performance.now()
  await store.put(bytes)
  const ms = performance.now() - start
  const used = process.cpuUsage(before)
  await store.close()
  rmSync(dir, { recursive: true, force: true })
  putRate = Math.max(putRate, size / MiB / (ms / 1000))
  cpu += (used.user + used.system) / 1e6 / 3
}
rmSync(work, { recursive: true, force: true })
const load = loadavg()[0]!.toFixed(1)
console.log(
  `load ${load} blake3 ${hashRate.toFixed(0)} MiB/s put ${putRate.toFixed(0)} MiB/s ratio ${(putRate / hashRate).toFixed(3)} put cpu ${cpu.toFixed(2)} s`,
)
