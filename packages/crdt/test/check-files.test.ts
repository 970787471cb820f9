/**
 * Damaged data files: a real node's data.mdb, damaged in several ways, is reported by
 * checkDataFiles with the file and the reason, and this process never opens it itself.
 */
import { closeSync, cpSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { checkDataFiles, DamagedDataFileError, openNodeState } from '@provsync/crdt'
import { noiseBytes } from '@provsync/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertionBytes, coordinate, NETWORK, signerN, TempDirs } from './helpers.js'

const temps = new TempDirs()
let pristine = ''
let pageSize = 0

beforeAll(async () => {
  pristine = temps.dir()
  const state = await openNodeState({ dataDir: pristine, networkId: NETWORK, verifyThreads: 0 })
  const from = signerN(1).publicKey
  for (let b = 0; b < 4; b++) {
    const records = Array.from({ length: 250 }, (_, i) =>
      assertionBytes(signerN(1), coordinate(b * 1000 + i), 1n),
    )
    await state.apply('assertions', records, { from })
  }
  await state.close()
  const report = await checkDataFiles(pristine)
  pageSize = report.pageSize ?? 0
})

afterAll(() => temps.cleanup())

/** A copy of the pristine data directory, damaged by `damage(file)`. */
function damaged(damage: (file: string) => void): string {
  const dir = temps.dir()
  cpSync(pristine, dir, { recursive: true })
  damage(join(dir, 'data.mdb'))
  return dir
}

function overwrite(file: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(file, 'r+')
  try {
    writeSync(fd, bytes, 0, bytes.length, offset)
  } finally {
    closeSync(fd)
  }
}

/** Deterministic noise (xorshift32, the seed spread by a Fibonacci multiplier), so a failure reproduces. */
const pseudoRandomBytes = (length: number, seed: number): Uint8Array =>
  noiseBytes(length, Math.imul(seed, 2654435761))

/** The number of the first B-tree (leaf or branch) page after the meta pages. */
function firstTreePage(file: string): number {
  const data = readFileSync(file)
  for (let page = 2; page * pageSize < data.length; page++) {
    const flags = data.readUInt16LE(page * pageSize + 18)
    if ((flags & 0x03) !== 0 && data.readBigUInt64LE(page * pageSize) === BigInt(page)) return page
  }
  throw new Error('no B-tree page found')
}

describe('checkDataFiles', () => {
  it('passes an intact data file and reads every sub-database', async () => {
    const report = await checkDataFiles(pristine)
    expect(report.damage?.reason).toBeUndefined()
    expect(report).toMatchObject({ ok: true, fresh: false, pageSize: 4096 })
    expect(report.damage).toBeUndefined()
    expect(report.databases).toBeGreaterThan(10)
    expect(report.entries).toBeGreaterThan(1000)
  })

  it('reports a fresh directory as fresh', async () => {
    expect(await checkDataFiles(temps.dir())).toMatchObject({ ok: true, fresh: true })
  })

  it('names the file and the reason for random bytes over the first meta page', async () => {
    const dir = damaged((file) => overwrite(file, 0, pseudoRandomBytes(pageSize, 99)))
    const report = await checkDataFiles(dir)
    expect(report.ok).toBe(false)
    expect(report.damage).toBeInstanceOf(DamagedDataFileError)
    expect(report.damage?.file).toBe(join(dir, 'data.mdb'))
    expect(report.damage?.reason).toMatch(/^meta page 0: /)
  })

  it('reports the second meta page damaged, magic intact, with a root beyond the file', async () => {
    const dir = damaged((file) => overwrite(file, pageSize + 96 + 40, Buffer.alloc(8, 0x7f)))
    const report = await checkDataFiles(dir)
    expect(report.damage?.reason).toMatch(/^meta page 1: main database root page \d+ outside pages/)
  })

  it('reports truncation', async () => {
    const dir = damaged((file) => truncateSync(file, statSync(file).size - 3 * pageSize))
    expect((await checkDataFiles(dir)).damage?.reason).toMatch(/^truncated: /)
    const mid = damaged((file) => truncateSync(file, statSync(file).size - 100))
    expect((await checkDataFiles(mid)).damage?.reason).toMatch(/not a whole number of 4096-byte pages/)
  })

  it('reports random bytes over B-tree pages from the walk, without touching this process', async () => {
    const reasons: string[] = []
    for (let n = 0; n < 6; n++) {
      const dir = damaged((file) => {
        const page = firstTreePage(file) + n
        overwrite(file, page * pageSize, pseudoRandomBytes(pageSize, n + 1))
      })
      const report = await checkDataFiles(dir)
      expect(report.txnId).toBeGreaterThan(0)
      if (report.ok) continue
      expect(report.damage?.reason).toMatch(/^(reading its sub-databases|the main database holds)/)
      reasons.push(report.damage!.reason)
    }
    // Some of these pages may be free (unreachable); noise over a reachable one is found.
    expect(reasons.length).toBeGreaterThanOrEqual(1)
  })

  it('reports noise over the main database root page, which every read goes through', async () => {
    const dir = damaged((file) => {
      const meta = readFileSync(file).subarray(0, 2 * pageSize)
      // The meta LMDB opens (higher txn id), then its main database root (offset 96 + 40).
      const newer = meta.readBigUInt64LE(pageSize + 152) > meta.readBigUInt64LE(152) ? pageSize : 0
      const root = Number(meta.readBigUInt64LE(newer + 136))
      overwrite(file, root * pageSize, pseudoRandomBytes(pageSize, 7))
    })
    const report = await checkDataFiles(dir)
    expect(report.ok).toBe(false)
    // LMDB read the noise as an empty main database: the meta page's entry count tells.
    expect(report.damage?.reason).toMatch(
      /^(reading its sub-databases (crashed the reader \(SIG\w+\)|failed: )|the main database holds \d+ entries, reading it found \d+$)/,
    )
  })
})
