/**
 * What one reader-health check costs (session 16): `NodeState.readerHealth()` reads LMDB's reader
 * table and the environment's statistics. `npx tsx packages/crdt/bench/reader-probe.ts [checks]`
 * opens a state, writes 200 transactions, and prints the µs per check with 0, 1 and 8 tree
 * snapshots held (lmdb-js shares one reader slot between snapshots taken with no write between).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openNodeState } from '@provsync/crdt'

const checks = Number(process.argv[2] ?? 20_000)
const dir = mkdtempSync(join(tmpdir(), 'provsync-reader-probe-'))
const s = await openNodeState({ dataDir: join(dir, 'n'), networkId: 'probe', noSync: true })
for (let i = 0; i < 200; i++)
  s.advanceVerified({ volume: 'vol', destination: 'dst', origin: `o${i % 20}` }, BigInt(i + 1))

function time(label: string, fn: () => void): void {
  for (let i = 0; i < 1_000; i++) fn()
  const start = process.hrtime.bigint()
  for (let i = 0; i < checks; i++) fn()
  const us = Number(process.hrtime.bigint() - start) / 1_000 / checks
  console.log(`${label}: ${us.toFixed(2)} us`)
}

for (const held of [0, 1, 8]) {
  const snapshots = Array.from({ length: held }, () => s.tree('assertions').snapshot())
  time(`reader_check_us held=${held} readers=${s.readerHealth().readers}`, () => s.readerHealth())
  for (const snapshot of snapshots) snapshot.release()
}
await s.close()
rmSync(dir, { recursive: true, force: true })
