/**
 * Does verifying on both cores at once cost more CPU per signature than verifying on one?
 * `node --import tsx packages/crdt/bench/smt-probe.ts [rounds]`: alternates N signatures verified on
 * the calling thread alone with 2N verified at once by the calling thread and one worker (N each),
 * and prints the CPU µs per verification of each (the apply path verifies on both cores while the
 * suite's reference, `verify_cpu_us`, runs on one).
 */

import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { Worker } from 'node:worker_threads'
import { generateSigner, signedMessage, verifySignature } from '@provsync/crdt'
import { NETWORK, signBatch } from './batches.js'

const rounds = Number(process.argv[2] ?? 8)
const N = 2000
const signer = generateSigner()
const sample = signBatch(signer, 0, 1, 1n)[0]!
const message = signedMessage('assertion', NETWORK, sample)
const signature = sample.subarray(sample.length - 64)
const sodiumPath = createRequire(import.meta.url).resolve('sodium-native')
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads'); const sodium = require(${JSON.stringify(sodiumPath)});
   parentPort.on('message', ({ pk, m, s, n }) => {
     const t = process.threadCpuUsage(); for (let i = 0; i < n; i++) if (!sodium.crypto_sign_verify_detached(s, m, pk)) throw new Error('bad')
     const u = process.threadCpuUsage(t); parentPort.postMessage(u.user + u.system) })`,
  { eval: true },
)
const job = { pk: Buffer.from(signer.publicKey), m: Buffer.from(message), s: Buffer.from(signature), n: N }
const onMain = () => {
  const t = process.threadCpuUsage()
  for (let i = 0; i < N; i++)
    if (!verifySignature(signer.publicKey, message, signature)) throw new Error('bad')
  const u = process.threadCpuUsage(t)
  return u.user + u.system
}
// Warm both.
await new Promise((r) => {
  worker.once('message', r)
  worker.postMessage(job)
})
onMain()
const alone: number[] = []
const both: number[] = []
for (let r = 0; r < rounds; r++) {
  alone.push(onMain() / N)
  const done = new Promise<number>((r2) => worker.once('message', r2))
  worker.postMessage(job)
  const mainUs = onMain()
  const workerUs = await done
  both.push((mainUs + workerUs) / (2 * N))
}
const f = (a: number[]) => a.map((x) => x.toFixed(1)).join(' / ')
console.log(JSON.stringify({ load: loadavg()[0]!.toFixed(2) }))
console.log(`µs CPU per verification, one thread: ${f(alone)}`)
console.log(`µs CPU per verification, two threads at once: ${f(both)}`)
await worker.terminate()
