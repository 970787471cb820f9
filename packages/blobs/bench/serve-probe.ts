/**
 * The serving side's storage path alone, in a fresh process (run by hand, alternating builds):
 * `node packages/blobs/bench/serve-probe.ts [<dist index.js>] [MiB]`. Puts a blob (256 MiB in
 * 256 KiB chunks), then reads every chunk back with `localChunkInto` (read + the re-hash a server
 * does) three times, then as a fetch would store them (`storeChunk` into a second store). Prints
 * the best round's MiB/s and CPU s of each, and the load average.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { probeBytes } from './probe-bytes.js'

const [modulePath, mibArg] = process.argv.slice(2)
const m = await import(modulePath === undefined || modulePath === '-' ? '@provsync/blobs' : modulePath)
const MiB = 1024 * 1024
const size = Number(mibArg ?? 256) * MiB
const bytes = probeBytes(size)
const work = mkdtempSync(join(tmpdir(), 'provsync-serve-probe-'))
const store = await m.openBlobStore({ path: join(work, 'a'), noSync: true })
const { manifest } = await store.put(bytes)
const scratch = new Uint8Array(manifest.chunkSize)
let serve = { rate: 0, cpu: 0 }
for (let round = 0; round < 3; round++) {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < manifest.chunkCount; i++) {
    if (store.localChunkInto(manifest, i, scratch) === undefined) throw new Error(`chunk ${i} missing`)
  }
  const rate = size / MiB / ((performance.now() - t0) / 1000)
  const used = process.cpuUsage(cpu0)
  if (rate > serve.rate) serve = { rate, cpu: (used.user + used.system) / 1e6 }
}
const target = await m.openBlobStore({ path: join(work, 'b'), noSync: true, budgetBytes: 4 * 1024 * MiB })
target.adoptManifest(manifest)
const cpu0 = process.cpuUsage()
const t0 = performance.now()
for (let i = 0; i < manifest.chunkCount; i++) {
  await target.storeChunk(manifest, i, bytes.subarray(i * manifest.chunkSize, (i + 1) * manifest.chunkSize))
}
const storeRate = size / MiB / ((performance.now() - t0) / 1000)
const used = process.cpuUsage(cpu0)
await store.close()
await target.close()
rmSync(work, { recursive: true, force: true })
console.log(
  `load ${loadavg()[0]!.toFixed(1)} serve ${serve.rate.toFixed(0)} MiB/s cpu ${serve.cpu.toFixed(2)} s; storeChunk ${storeRate.toFixed(0)} MiB/s cpu ${((used.user + used.system) / 1e6).toFixed(2)} s`,
)
