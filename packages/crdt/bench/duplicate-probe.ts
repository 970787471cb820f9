/**
 * What a byte-identical copy of a held record costs to apply, with and without verifying its
 * signature again (README "Session 13"):
 * `node --import tsx packages/crdt/bench/duplicate-probe.ts [rounds] [--dup=0.25] [--threads=0]`.
 * Two states in this process, one with the shortcut (default) and one with `verifyHeldCopies`,
 * get the same batches of 1,000 assertions, in alternating order: each batch holds `--dup`
 * copies of records applied in earlier rounds (as a simulated node receives pushed and pulled
 * copies of the same record) and fresh records for the rest. `--threads` is `verifyThreads`
 * (default 0: the applying thread verifies, as in the 32-node simulation). Prints the process CPU
 * (every thread) per record and per duplicate for both, the calling thread's CPU in `verifyRecords`
 * (checks, lookups, posting) per record, and both states' `verifyCounts()`. A
 * `--dup=0` run measures what the lookup costs where no record is held.
 */
import { rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { generateSigner, type NodeState, openNodeState } from '@provsync/crdt'
import { tempDir } from '@provsync/testing'
import { BATCH, NETWORK, probeArgs, signBatch } from './batches.js'

const { number, count, flag } = probeArgs()
const rounds = count(12)
const dupShare = number('dup', 0.25)
const verifyThreads = number('threads', 0)

const signers = Array.from({ length: 4 }, () => generateSigner())
const dups = Math.round(BATCH * dupShare)
const fresh = (round: number) =>
  signBatch(signers[round % signers.length]!, round * BATCH, BATCH - dups, BigInt(round + 1))
// Round 0 is a warm-up (no earlier records to copy); every later round copies records of earlier ones.
const batches: Uint8Array[][] = []
for (let r = 0; r <= rounds; r++) {
  const copies =
    r === 0 ? [] : Array.from({ length: dups }, (_, i) => batches[(i + r) % r]![i % (BATCH - dups)]!)
  const records = [...fresh(r), ...copies]
  // Copies spread through the batch, as pushes and pulls interleave.
  for (let i = records.length - 1; i > 0; i--) {
    const j = (i * 7919 + r) % (i + 1)
    ;[records[i], records[j]] = [records[j]!, records[i]!]
  }
  batches.push(r === 0 ? [...fresh(0), ...fresh(rounds + 1).slice(0, dups)] : records)
}

const dirs = [tempDir('provsync-dup-probe-'), tempDir('provsync-dup-probe-')]
const open = (dataDir: string, verifyHeldCopies: boolean) =>
  openNodeState({ dataDir, networkId: NETWORK, verifyThreads, verifyHeldCopies })
// --swap: the shortcut state is opened second. With both states verifying every copy, the state
// opened first measured 1-6 µs per record more CPU than the other (load 1.5): run both ways.
const swap = flag('swap')
const opened = [await open(dirs[0]!, swap), await open(dirs[1]!, !swap)]
const states: NodeState[] = swap ? [opened[1]!, opened[0]!] : opened
try {
  const cpuUs = [0, 0]
  // The calling thread's CPU in verifyRecords alone: the checks, the lookups and posting the
  // signatures (which the workers, or with --threads=0 applyVerified, then verify).
  const checkUs = [0, 0]
  // The calling thread's CPU in applyVerified (the merge, the writes, the commit).
  const applyMainUs = [0, 0]
  const cpu = (u: NodeJS.CpuUsage) => u.user + u.system
  const from = { from: generateSigner().publicKey }
  for (const [r, batch] of batches.entries()) {
    // Alternate which state goes first, so neither always runs on the warmer code.
    const order = r % 2 === 0 ? [0, 1] : [1, 0]
    for (const s of order) {
      const c0 = process.cpuUsage()
      const t0 = process.threadCpuUsage()
      const handle = states[s]!.verifyRecords('assertions', batch)
      if (r > 0) checkUs[s]! += cpu(process.threadCpuUsage(t0))
      const t1 = process.threadCpuUsage()
      const outcomes = await states[s]!.applyVerified(handle, from)
      if (r > 0) {
        applyMainUs[s]! += cpu(process.threadCpuUsage(t1))
        cpuUs[s]! += cpu(process.cpuUsage(c0))
      }
      const duplicates = outcomes.filter((o) => o.status === 'duplicate').length
      if (duplicates !== (r === 0 ? 0 : dups)) throw new Error(`round ${r}: ${duplicates} duplicates`)
    }
  }
  const records = rounds * BATCH
  const [shortcut, full] = cpuUs.map((us) => us / records) as [number, number]
  console.log(
    JSON.stringify({
      dup_share: dupShare,
      shortcut_opened: swap ? 'second' : 'first',
      verify_threads: verifyThreads,
      cpu_us_per_record_shortcut: Number(shortcut.toFixed(1)),
      cpu_us_per_record_verify_all: Number(full.toFixed(1)),
      saved_us_per_record: Number((full - shortcut).toFixed(1)),
      check_us_per_record_shortcut: Number((checkUs[0]! / records).toFixed(2)),
      check_us_per_record_verify_all: Number((checkUs[1]! / records).toFixed(2)),
      apply_main_us_per_record_shortcut: Number((applyMainUs[0]! / records).toFixed(2)),
      apply_main_us_per_record_verify_all: Number((applyMainUs[1]! / records).toFixed(2)),
      saved_us_per_duplicate: dups === 0 ? null : Number((((full - shortcut) * BATCH) / dups).toFixed(1)),
      counts_shortcut: states[0]!.verifyCounts(),
      counts_verify_all: states[1]!.verifyCounts(),
      load_average_1m: Number(loadavg()[0]!.toFixed(2)),
    }),
  )
} finally {
  await Promise.all(states.map((s) => s.close()))
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
}
