/**
 * The suite's apply loop written against `@provsync/crdt`'s exports alone, so the very same file
 * runs on builds back to a234f8f (before `apply-loop.ts`, `--apply-only` and `@provsync/testing`'s
 * record helpers existed): copy it into another worktree's `packages/crdt/bench/` and run
 * `node --import tsx packages/crdt/bench/apply-exports-only.ts [batches]` there (Node 22: `npx node`
 * inside the repo). Batches of 1,000 new signed assertions into a growing store, each alternated
 * with single-thread verification of 1,000 signatures; prints the suite's ratio and CPU figures and
 * the calling thread's CPU per record.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  encodeAssertion,
  generateSigner,
  openNodeState,
  type Signer,
  signAssertion,
  signedMessage,
  verifySignature,
} from '@provsync/crdt'

const NETWORK = 'bench-net'
const BATCH = 1000
const batches = Number(process.argv[2] ?? 20)

function sign(signer: Signer, start: number, run: bigint): Uint8Array[] {
  return Array.from({ length: BATCH }, (_, k) => {
    const i = start + k
    const coordinate = { volume: `vol-${i % 97}`, destination: 'dst-1', origin: `origin-${i}` }
    const hlc = { wallMs: Date.now() - 1000, counter: 0 }
    return encodeAssertion(
      signAssertion({ coordinate, run, method: 'sha256', hlc }, signer, NETWORK),
      NETWORK,
    )
  })
}

const signers = Array.from({ length: 4 }, () => generateSigner())
const pending = Array.from({ length: batches + 2 }, (_, b) => sign(signers[b % 4]!, b * BATCH, BigInt(b + 1)))
const sample = pending[0]![0]!
const message = signedMessage('assertion', NETWORK, sample)
const signature = sample.subarray(sample.length - 64)
const dir = mkdtempSync(join(tmpdir(), 'provsync-apply-exports-'))
const state = await openNodeState({ dataDir: dir, networkId: NETWORK })
const cpu = (u: NodeJS.CpuUsage) => u.user + u.system
try {
  for (const batch of pending.slice(0, 2))
    await state.apply('assertions', batch, { from: signers[0]!.publicKey })
  let applyMs = 0
  let verifyMs = 0
  let applyCpu = 0
  let mainCpu = 0
  let verifyCpu = 0
  for (const batch of pending.slice(2)) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    const m0 = process.threadCpuUsage()
    const outcomes = await state.apply('assertions', batch, { from: signers[1]!.publicKey })
    mainCpu += cpu(process.threadCpuUsage(m0))
    applyCpu += cpu(process.cpuUsage(c0))
    applyMs += performance.now() - t0
    if (outcomes.some((o) => o.status !== 'applied')) throw new Error('bench batch not applied')
    const t1 = performance.now()
    const c1 = process.cpuUsage()
    for (let i = 0; i < BATCH; i++) {
      if (!verifySignature(signers[0]!.publicKey, message, signature)) throw new Error('bad')
    }
    verifyCpu += cpu(process.cpuUsage(c1))
    verifyMs += performance.now() - t1
  }
  const records = batches * BATCH
  const figures = {
    apply_verify_ratio: verifyMs / applyMs,
    apply_cpu_us_per_record: applyCpu / records,
    apply_main_thread_cpu_us_per_record: mainCpu / records,
    verify_cpu_us: verifyCpu / records,
    cpu_ratio: applyCpu / verifyCpu,
    load_average_1m: loadavg()[0]!,
  }
  console.log(JSON.stringify(figures, (_, v) => (typeof v === 'number' ? Number(v.toFixed(3)) : v)))
} finally {
  await state.close()
  rmSync(dir, { recursive: true, force: true })
}
