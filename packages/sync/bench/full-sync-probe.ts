/**
 * Where a full sync's time goes (issue #16, session 15): the sync suite's full pull alone, with
 * the calling thread's CPU, the verifier's rate beside it, and optionally a CPU profile of the
 * pull only.
 * `npx tsx packages/sync/bench/full-sync-probe.ts [N] [--rounds=R] [--profile=FILE]`
 * Each round: a fresh node pulls N (default 10,000) signed records from one peer over TCP + noise
 * + mux on loopback, both nodes in this process (as in the suite). Prints records/s, the ratio
 * over one thread's verifications/s measured just before, the calling thread's CPU per record and
 * the load average. `--window` prints each pull's monotonic window (µs) for cutting `--cpu-prof`
 * profiles of the worker threads. Each round also prints when the first pulled group was handed to
 * verification (`first verify at`: until then the worker idles).
 * `--profile=FILE` writes the calling thread's profile of the last round's pull.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { loadavg } from 'node:os'
import { decodeAssertion, generateSigner, signedMessage, verifySignature } from '@provsync/crdt'
import { createNode, type ProvsyncNode } from '@provsync/sync'
import * as testing from '@provsync/testing'

const NETWORK = 'provsync-probe'
const args = process.argv.slice(2)
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000)
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length) ?? 3)
const profileFile = args.find((a) => a.startsWith('--profile='))?.slice('--profile='.length)

function verifyRate(records: readonly Uint8Array[]): number {
  const items = records.slice(0, 1024).map((bytes) => ({
    publicKey: decodeAssertion(bytes, NETWORK).asserter,
    message: signedMessage('assertion', NETWORK, bytes),
    signature: bytes.subarray(bytes.length - 64),
  }))
  let done = 0
  const start = performance.now()
  while (performance.now() - start < 1500) {
    const item = items[done++ % items.length]!
    if (!verifySignature(item.publicKey, item.message, item.signature)) throw new Error('bad signature')
  }
  return done / ((performance.now() - start) / 1000)
}

/**
 * When the fresh node's first pulled group went to verification: its state's count of verified
 * signatures moves when a group is checked and handed to the pool (`verifyRecords`), so it is
 * polled every millisecond while the sync runs (the poll waits for the thread like any timer, but
 * the first group is handed over just before the pull waits on the network). Until then the
 * verifier's worker has nothing to do. `stop` ends the poll and returns the time, or NaN.
 */
function watchFirstVerification(node: ProvsyncNode): { stop(): number } {
  const before = node.state.verifyCounts().verified
  let first = Number.NaN
  const poll = setInterval(() => {
    if (Number.isNaN(first) && node.state.verifyCounts().verified > before) first = performance.now()
  }, 1)
  return {
    stop() {
      clearInterval(poll)
      return first
    },
  }
}

const dirs = new testing.TempDirs('provsync-probe-')
const start = async (): Promise<ProvsyncNode> =>
  createNode({
    dataDir: await dirs.make(),
    networkId: NETWORK,
    trust: [],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    sync: testing.QUIET_SYNC,
  })

const source = await start()
const records = testing.signedAssertions(generateSigner(), n, { networkId: NETWORK, method: 'bench' })
await testing.load(source.state, records, generateSigner().publicKey, { batch: 5_000 })
try {
  for (let round = 1; round <= rounds; round++) {
    const verify = verifyRate(records)
    const fresh = await start()
    await fresh.dial(source.multiaddrs()[0]!)
    const session = profileFile !== undefined && round === rounds ? new Session() : undefined
    if (session !== undefined) {
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.start')
    }
    const cpu0 = process.cpuUsage()
    const h0 = process.hrtime.bigint() / 1000n
    const watch = watchFirstVerification(fresh)
    const t0 = performance.now()
    const report = await fresh.sync.syncWith(source.peerId)
    const seconds = (performance.now() - t0) / 1000
    const first = watch.stop()
    const cpu = process.cpuUsage(cpu0)
    // The pull's window on the monotonic clock in µs, as V8's profiles stamp their samples, to cut
    // a `--cpu-prof` profile of the verifier's worker thread to this round.
    if (args.includes('--window')) console.log(`window ${h0} ${process.hrtime.bigint() / 1000n}`)
    if (session !== undefined) {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(profileFile!, JSON.stringify(profile))
      session.disconnect()
    }
    if (fresh.state.tree('assertions').count() !== n) throw new Error('full sync did not converge')
    const perSecond = report.applied / seconds
    console.log(
      `round ${round}: ${perSecond.toFixed(0)} records/s, ratio ${(perSecond / verify).toFixed(3)} ` +
        `(verify ${verify.toFixed(0)}/s), process CPU ${((cpu.user + cpu.system) / n) | 0} µs/record ` +
        `over ${seconds.toFixed(2)} s, apply share ${(report.applyMs / 1000 / seconds).toFixed(2)}, ` +
        `first verify at ${(first - t0).toFixed(0)} ms, ` +
        `load ${loadavg()[0]!.toFixed(1)}`,
    )
    await fresh.stop()
  }
} finally {
  await source.stop()
  await dirs.cleanup()
}
