/**
 * BLAKE3 MiB/s of each implementation blobs can load, on 256 KiB chunks under the chunk domain
 * tag, alternated in one process (not a bench suite: run by hand).
 * `npx tsx packages/blobs/bench/hash-probe.ts [MiB] [rounds]` (128, 3): prints each round's rates
 * and the load average.
 */
import { loadavg } from 'node:os'
import { nativeBlake3, wasmBlake3 } from '../src/blake3.js'
import { probeBytes } from './probe-bytes.js'

const [mibArg, roundsArg] = process.argv.slice(2)
const MiB = 1024 * 1024
const CHUNK = 256 * 1024
const size = Number(mibArg ?? 128) * MiB
const bytes = probeBytes(size)
const tag = new TextEncoder().encode('provsync/blob/chunk/v1\0')
const hashers = [await wasmBlake3(), nativeBlake3()].filter((h) => h !== undefined)
for (let round = 0; round < Number(roundsArg ?? 3); round++) {
  const rates = hashers.map((h) => {
    const start = performance.now()
    for (let o = 0; o < size; o += CHUNK) {
      h.init()
      h.update(tag)
      h.update(bytes.subarray(o, o + CHUNK))
      h.digest()
    }
    return `${h.name} ${(size / MiB / ((performance.now() - start) / 1000)).toFixed(0)} MiB/s`
  })
  console.log(`round ${round} load ${loadavg()[0]!.toFixed(1)}: ${rates.join(', ')}`)
}
