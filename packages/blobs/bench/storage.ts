import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { open } from 'lmdb'

const MiB = 1024 * 1024

function keyOf(i: number): Buffer {
  const key = Buffer.alloc(32)
  key.writeUInt32BE((i * 2654435761) >>> 0, 0)
  key.writeUInt32BE(i, 4)
  return key
}

function rssMiB(): number {
  return process.memoryUsage().rss / MiB
}

/**
 * Where chunk bytes live, measured: `mib` chunks of 1 MiB as LMDB values (one environment, async
 * batched commits, no fsync) and as files named by hash (temporary name then rename, as the store
 * does). Each is written, then read back whole; the RSS a read-back adds is what a serving node pays.
 */
export async function compareStorage(dir: string, mib: number): Promise<Array<[string, number, string]>> {
  const chunk = new Uint8Array(MiB).fill(7)
  const out: Array<[string, number, string]> = []
  const lmdbDir = join(dir, 'lmdb')
  const db = open({
    path: lmdbDir,
    keyEncoding: 'binary',
    encoding: 'binary',
    compression: false,
    noSync: true,
  })
  let start = performance.now()
  for (let i = 0; i < mib; i++) {
    chunk[0] = i & 255
    db.put(keyOf(i), chunk)
  }
  await db.flushed
  out.push(['storage_lmdb_write_mib_per_s', mib / ((performance.now() - start) / 1000), 'MiB/s'])
  let before = rssMiB()
  start = performance.now()
  for (let i = 0; i < mib; i++) db.getBinary(keyOf(i))
  out.push(['storage_lmdb_read_mib_per_s', mib / ((performance.now() - start) / 1000), 'MiB/s'])
  out.push(['storage_lmdb_read_rss_growth_mib', rssMiB() - before, 'MiB'])
  await db.close()

  const filesDir = join(dir, 'files')
  mkdirSync(filesDir, { recursive: true })
  start = performance.now()
  for (let i = 0; i < mib; i++) {
    chunk[0] = i & 255
    const path = join(filesDir, keyOf(i).toString('hex'))
    writeFileSync(`${path}.tmp`, chunk)
    renameSync(`${path}.tmp`, path)
  }
  out.push(['storage_files_write_mib_per_s', mib / ((performance.now() - start) / 1000), 'MiB/s'])
  before = rssMiB()
  start = performance.now()
  for (let i = 0; i < mib; i++) readFileSync(join(filesDir, keyOf(i).toString('hex')))
  out.push(['storage_files_read_mib_per_s', mib / ((performance.now() - start) / 1000), 'MiB/s'])
  out.push(['storage_files_read_rss_growth_mib', rssMiB() - before, 'MiB'])
  rmSync(dir, { recursive: true, force: true })
  return out
}
