/**
 * Probe: the CPU one node's checker snapshots cost per record held, on a state holding N records
 * pulled from a peer (`npx tsx packages/sim/bench/snapshot-probe.ts [N]`): a mid-run history
 * snapshot (`snapshotHistory`), the final snapshot digesting every history entry, and the final
 * snapshot digesting only the first half (`historyPrefix`, as after the sim bench's last partition
 * at half the run).
 */
import { generateSigner } from '@provsync/crdt'
import * as testing from '@provsync/testing'
import { snapshotHistory, snapshotNode } from '../src/snapshot.js'

const n = Number(process.argv[2] ?? 5000)
const temp = new testing.TempDirs()
const state = await testing.openTestState(temp)
const peer = generateSigner()
await testing.load(state, testing.signedAssertions(peer, n), peer.publicKey)
const meta = { name: 'n0', peerId: 'p', atMs: 0, knownKeys: [] }
/** CPU µs per record of `run`, this thread's user + system time. */
const cpu = (run: () => unknown): string => {
  const start = process.cpuUsage()
  run()
  const used = process.cpuUsage(start)
  return ((used.user + used.system) / n).toFixed(1)
}
for (let round = 0; round < 3; round++) {
  const history = cpu(() => snapshotHistory(state, meta))
  const whole = cpu(() => snapshotNode(state, meta))
  const half = cpu(() => snapshotNode(state, { ...meta, historyPrefix: Math.floor(n / 2) }))
  console.log(
    `round ${round}, CPU µs per record: history ${history}, final (whole history) ${whole}, final (half the history) ${half}`,
  )
}
await temp.cleanup()
